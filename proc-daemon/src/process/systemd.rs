//! systemd's service protocol (`sd_notify`), spoken only when `NOTIFY_SOCKET` is set:
//! `READY=1` once every subsystem has started and after each reload, `RELOADING=1` with
//! `MONOTONIC_USEC` before a reload (what `Type=notify-reload` requires), `STOPPING=1` when
//! shutdown starts, `STATUS=` lines for `systemctl status`, and `WATCHDOG=1` at half of
//! `WATCHDOG_USEC` (honouring `WATCHDOG_PID`) from a task on the runtime, so a wedged runtime
//! stops the pings and systemd restarts the service.

use std::sync::OnceLock;
use std::time::Duration;

use sd_notify::NotifyState;

fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty()))
}

fn send(states: &[NotifyState<'_>]) {
    if enabled()
        && let Err(err) = sd_notify::notify(states)
    {
        tracing::debug!("could not notify systemd: {err}");
    }
}

/// Start-up (or a reload) is complete.
pub(crate) fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A reload begins.
pub(crate) fn reloading() {
    if !enabled() {
        return;
    }
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[
            NotifyState::Reloading,
            now,
            NotifyState::Status("reloading configuration"),
        ]),
        Err(err) => tracing::debug!("could not read CLOCK_MONOTONIC for systemd: {err}"),
    }
}

/// Shutdown begins.
/// `within` is the kill deadline: systemd is asked to wait that long (`EXTEND_TIMEOUT_USEC`) so
/// that a `TimeoutStopSec=` shorter than the daemon's own deadlines does not cut them short.
pub(crate) fn stopping(status: &str, within: Duration) {
    let usec = u32::try_from(within.as_micros()).unwrap_or(u32::MAX);
    send(&[
        NotifyState::Stopping,
        NotifyState::ExtendTimeoutUsec(usec),
        NotifyState::Status(status),
    ]);
}

/// An upgrade's new process (`pid`) serves in this one's place from now on.
pub(crate) fn main_pid(pid: u32) {
    send(&[
        NotifyState::MainPid(pid),
        NotifyState::Status("upgraded: the new process serves"),
    ]);
}

/// Keeps the listening sockets in systemd's file-descriptor store (`FDSTORE=1`, named
/// `FDNAME=<listen name>`), so that after `systemctl restart` the new process takes them from
/// socket activation and the listen queue is never closed. Needs `FileDescriptorStoreMax=` in
/// the unit; without it systemd drops them (and says so in its own log).
pub(crate) fn store_listeners<'a>(
    listeners: impl IntoIterator<Item = (&'a str, std::os::fd::BorrowedFd<'a>)>,
) {
    if !enabled() {
        return;
    }
    for (name, fd) in listeners {
        if let Err(err) =
            sd_notify::notify_with_fds(&[NotifyState::FdStore, NotifyState::FdName(name)], &[fd])
        {
            tracing::debug!("could not store the listener `{name}` with systemd: {err}");
        }
    }
}

/// A new `STATUS=` line.
pub(crate) fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// How often to ping the watchdog: half of `WATCHDOG_USEC`, if the watchdog is for us.
pub(crate) fn watchdog_interval() -> Option<Duration> {
    if !enabled() {
        return None;
    }
    sd_notify::watchdog_enabled().map(|timeout| timeout / 2)
}

/// Pings the watchdog every `interval` for as long as the runtime polls this future.
pub(crate) async fn keep_watchdog_fed(interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        send(&[NotifyState::Watchdog]);
    }
}
