//! Upgrading a running daemon without refusing a connection (`ctl upgrade`, SIGUSR2), the
//! sequence of nginx's binary upgrade:
//!
//! 1. The old process starts its own executable again — the same path, read from disk anew, so
//!    a binary replaced there is what runs — with the same arguments, from the directory it was
//!    started in. It passes, with close-on-exec cleared on exactly these: every `[listen]`
//!    socket, the admin endpoint's and the control socket's listeners, the locked PID file and
//!    the write end of a pipe (`PROC_DAEMON_UPGRADE_FDS`, `PROC_DAEMON_UPGRADE_PARENT`).
//! 2. The new process takes the sockets by name instead of binding them (no gap: both processes
//!    hold the same listening sockets, so the kernel queues connections throughout), starts,
//!    and once every subsystem is running writes its pid into the PID file and `ready` into the
//!    pipe.
//! 3. The old process then hands over — the PID file is no longer its to remove; under systemd
//!    `MAINPID=` names the new process — and shuts down gracefully: its subsystems stop
//!    accepting and finish what they serve under the `[shutdown]` deadlines, and it exits 0.
//!
//! If the new process exits before it is ready, or is not ready within
//! `process.upgrade_timeout_ms` (then it is killed), the old process carries on as if nothing
//! happened: logged with the new process's exit status, counted, and answered to `ctl`.

use std::io::Read as _;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::process::inherited;
use crate::process::listeners::Listeners;
use crate::process::systemd;
use crate::state::{Shared, ShutdownReason};
use crate::supervision::lifecycle::request_shutdown;

/// What an upgrade came to: the new process's pid, or why it failed.
pub(crate) type Outcome = Result<u32, String>;

/// The executable and the working directory the process started with.
static INVOCATION: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();

/// Remembers the executable's path and the working directory, before `[process]
/// working_directory` changes it: the new process of an upgrade starts from the same.
pub(crate) fn remember_invocation() {
    if let (Ok(exe), Ok(dir)) = (std::env::current_exe(), std::env::current_dir()) {
        let _ = INVOCATION.set((exe, dir));
    }
}

fn invocation() -> std::io::Result<(PathBuf, PathBuf)> {
    if let Some(remembered) = INVOCATION.get() {
        return Ok(remembered.clone());
    }
    Ok((std::env::current_exe()?, std::env::current_dir()?))
}

/// Starts an upgrade, requested by `by` (`"SIGUSR2"`, `"ctl upgrade"`); `reply` gets the outcome
/// once it is known (a failure to start at once).
pub(crate) fn start(shared: &Arc<Shared>, by: &str, reply: impl FnOnce(Outcome) + Send + 'static) {
    if let Err(refused) = refuse(shared) {
        tracing::warn!("upgrade requested by {by} refused: {refused}");
        reply(Err(refused));
        return;
    }
    let own = std::process::id();
    let child = match spawn(shared) {
        Ok(child) => child,
        Err(err) => {
            let message = format!("cannot start the new process: {err}; pid {own} carries on");
            tracing::error!("upgrade requested by {by} failed: {message}");
            shared.handover.failed();
            reply(Err(message));
            return;
        }
    };
    let (child, ready) = child;
    let pid = child.id();
    shared.handover.started(pid);
    tracing::info!(
        "upgrade requested by {by}: started the new process (pid {pid}); this process (pid {own}) serves until it is ready"
    );
    let timeout = shared.config.get().process.upgrade_timeout();
    let shared = shared.clone();
    let waiting = std::thread::Builder::new()
        .name("proc-daemon-upgrade".into())
        .spawn(move || {
            let outcome = wait_until_ready(&shared, child, ready, timeout);
            let upgraded = outcome.as_ref().ok().copied();
            // Answered first (`ctl upgrade` is told before this process begins to stop).
            reply(outcome);
            if let Some(pid) = upgraded {
                request_shutdown(&shared, ShutdownReason::Upgraded(pid));
            }
        });
    if let Err(err) = waiting {
        tracing::error!("upgrade: cannot start the thread that waits for pid {pid}: {err}");
    }
}

/// Why an upgrade cannot start now, if it cannot.
fn refuse(shared: &Shared) -> Result<(), String> {
    if shared.lifecycle().in_process {
        return Err("a daemon run in process (`TestDaemon`) cannot upgrade".into());
    }
    if shared.is_stopping() {
        return Err("the daemon is shutting down".into());
    }
    shared.handover.begin()
}

/// Starts the executable again with the sockets, the PID file and the pipe's write end.
fn spawn(shared: &Shared) -> std::io::Result<(Child, std::io::PipeReader)> {
    let (reader, writer) = std::io::pipe()?;
    let mut passed: Vec<(String, OwnedFd)> = Vec::new();
    if let Some(listeners) = shared.provided().get::<Listeners>() {
        for (name, fd) in listeners.descriptors() {
            passed.push((format!("listen.{name}"), fd.try_clone_to_owned()?));
        }
    }
    passed.extend(shared.handover.servers()?);
    if let Some(pid_file) = shared.handover.share_pid_file() {
        passed.push(("pid-file".to_owned(), OwnedFd::from(pid_file?)));
    }
    passed.push(("ready".to_owned(), OwnedFd::from(writer)));
    let fds: Vec<RawFd> = passed.iter().map(|(_, fd)| fd.as_raw_fd()).collect();
    let (exe, dir) = invocation()?;
    let mut command = Command::new(&exe);
    command
        .args(std::env::args_os().skip(1))
        .current_dir(&dir)
        .env(inherited::UPGRADE_PARENT, std::process::id().to_string())
        .env(
            inherited::UPGRADE_FDS,
            inherited::format_upgrade_fds(
                passed
                    .iter()
                    .map(|(name, fd)| (name.as_str(), fd.as_raw_fd())),
            ),
        );
    // SAFETY: between fork and exec only fcntl runs, which is async-signal-safe, on
    // descriptors this process owns (they stay open until `spawn` returns).
    unsafe {
        command.pre_exec(move || {
            for &fd in &fds {
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = command
        .spawn()
        .map_err(|err| std::io::Error::new(err.kind(), format!("{}: {err}", exe.display())))?;
    // This process's copies close here; the pipe's write end stays open only in the child, so
    // its exit reads as the end of the pipe.
    drop(passed);
    Ok((child, reader))
}

/// Waits for `ready` on the pipe: hands over on it; otherwise reaps (or kills, at `timeout`)
/// the new process and carries on.
fn wait_until_ready(
    shared: &Arc<Shared>,
    mut child: Child,
    mut ready: std::io::PipeReader,
    timeout: Duration,
) -> Outcome {
    let pid = child.id();
    let own = std::process::id();
    let deadline = Instant::now() + timeout;
    let mut said = Vec::new();
    let ended = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || !readable(&ready, left) {
            break None;
        }
        let mut chunk = [0u8; 64];
        match ready.read(&mut chunk) {
            Ok(0) => break Some(()),
            Ok(n) => {
                said.extend_from_slice(&chunk[..n]);
                if said.starts_with(b"ready\n") {
                    hand_over(shared, pid);
                    return Ok(pid);
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break Some(()),
        }
    };
    let message = if ended.is_some() {
        let status = child
            .wait()
            .map_or_else(|err| format!("an unknown status ({err})"), describe);
        format!(
            "the new process (pid {pid}) exited with {status} before it was ready; pid {own} carries on"
        )
    } else {
        let _ = child.kill();
        let status = child
            .wait()
            .map_or_else(|err| format!("an unknown status ({err})"), describe);
        format!(
            "the new process (pid {pid}) was not ready within process.upgrade_timeout_ms ({} ms) and was killed ({status}); pid {own} carries on",
            timeout.as_millis()
        )
    };
    tracing::error!("upgrade failed: {message}");
    shared.handover.failed();
    Err(message)
}

/// Whether `pipe` has something to read (or its end) within `within`.
fn readable(pipe: &std::io::PipeReader, within: Duration) -> bool {
    let mut poll = libc::pollfd {
        fd: pipe.as_fd().as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = libc::c_int::try_from(within.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
    loop {
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&raw mut poll, 1, millis) };
        if n >= 0 {
            return n > 0;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return false;
        }
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => status.to_string(),
    }
}

/// The new process serves: this one leaves it the PID file (and then shuts down gracefully).
fn hand_over(shared: &Shared, pid: u32) {
    shared.handover.hand_off();
    systemd::main_pid(pid);
    tracing::info!(
        "upgrade: the new process (pid {pid}) is ready and serves; this process (pid {}) stops accepting and finishes what it serves",
        std::process::id()
    );
}
