//! Descriptors this process was given when it was started: by systemd's socket activation
//! (`LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`) or by the daemon it upgrades
//! (`PROC_DAEMON_UPGRADE_PARENT`, `PROC_DAEMON_UPGRADE_FDS`). Read once, by name; each is
//! taken by the part of the daemon that uses it (a `[listen]` entry, the admin endpoint, the
//! control socket, the PID file), and whatever is left unclaimed is closed once the daemon runs,
//! so no socket lingers with nobody accepting on it.
//!
//! Names: a `[listen]` socket is `listen.<name>` (systemd's `FileDescriptorName=` is the bare
//! `<name>`); an upgrading parent also passes `admin`, `ipc`, `pid-file` and `ready`.

use std::collections::HashMap;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

/// The variable naming the daemon that started this process to take over from it.
pub(crate) const UPGRADE_PARENT: &str = "PROC_DAEMON_UPGRADE_PARENT";
/// The variable listing the descriptors an upgrading parent passed: `fd name` lines.
pub(crate) const UPGRADE_FDS: &str = "PROC_DAEMON_UPGRADE_FDS";

/// What this process was given, not yet taken.
#[derive(Debug, Default)]
struct Descriptors {
    by_name: HashMap<String, RawFd>,
    /// The daemon this process takes over from, if it was started by an upgrade.
    upgrading_from: Option<u32>,
}

static GIVEN: Mutex<Option<Descriptors>> = Mutex::new(None);

fn with<T>(f: impl FnOnce(&mut Descriptors) -> T) -> T {
    let mut given = crate::lock::mutex(&GIVEN);
    f(given.get_or_insert_with(read_environment))
}

/// Reads what was given, once, and — while this is the process's only thread — removes the
/// variables from the environment, so processes the daemon starts do not take the descriptors
/// for theirs. (With other threads running, removing a variable could race their reads of the
/// environment; the variables are then left, as they are off Linux, where the thread count is
/// not read.) An upgraded process also takes over systemd's watchdog, which named its parent.
pub(crate) fn take_from_environment() {
    let parent = with(|given| given.upgrading_from);
    let present = ["LISTEN_PID", UPGRADE_PARENT]
        .iter()
        .any(|variable| std::env::var_os(variable).is_some());
    if !present || !only_thread() {
        return;
    }
    for variable in [
        "LISTEN_PID",
        "LISTEN_FDS",
        "LISTEN_FDNAMES",
        UPGRADE_PARENT,
        UPGRADE_FDS,
    ] {
        // SAFETY: this is the process's only thread, so nothing reads the environment
        // meanwhile.
        unsafe { std::env::remove_var(variable) };
    }
    if let Some(parent) = parent
        && std::env::var("WATCHDOG_PID").is_ok_and(|pid| pid == parent.to_string())
    {
        // SAFETY: as above.
        unsafe { std::env::set_var("WATCHDOG_PID", std::process::id().to_string()) };
    }
}

/// Whether this is the process's only thread (`Threads:` in `/proc/self/status`).
fn only_thread() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.split_whitespace().eq(["Threads:", "1"]))
    })
}

/// Takes the descriptor given as `name`, if any (once).
pub(crate) fn take(name: &str) -> Option<(RawFd, OwnedFd)> {
    let fd = with(|given| given.by_name.remove(name))?;
    // SAFETY: the descriptor was given to this process under this name and is taken once.
    Some((fd, unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// The daemon this process was started by to take over from, if it was.
pub(crate) fn upgrading_from() -> Option<u32> {
    with(|given| given.upgrading_from)
}

/// Closes every descriptor nobody took (a `[listen]` entry the new configuration dropped).
pub(crate) fn close_unclaimed() {
    let left: Vec<(String, RawFd)> = with(|given| given.by_name.drain().collect());
    for (name, fd) in left {
        tracing::info!("closing the inherited descriptor `{name}` (fd {fd}): nothing uses it");
        // SAFETY: given to this process and not taken by anything.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}

fn read_environment() -> Descriptors {
    let mut given = Descriptors::default();
    if let Some(parent) = upgrade_parent() {
        given.upgrading_from = Some(parent);
        let listed = std::env::var(UPGRADE_FDS).unwrap_or_default();
        given.by_name = parse_upgrade_fds(&listed);
    } else {
        given.by_name = activated();
    }
    for fd in given.by_name.values() {
        // Not inherited by whatever the daemon starts.
        // SAFETY: fcntl on a descriptor given to this process.
        unsafe { libc::fcntl(*fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    given
}

/// The parent's pid, if `PROC_DAEMON_UPGRADE_PARENT` names the process that started this one
/// (a variable left in the environment of a grandchild names its grandparent and is ignored).
fn upgrade_parent() -> Option<u32> {
    let named: u32 = std::env::var(UPGRADE_PARENT).ok()?.parse().ok()?;
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    (i64::from(named) == i64::from(parent)).then_some(named)
}

/// `fd name` per line, as [`format_upgrade_fds`] writes them.
fn parse_upgrade_fds(listed: &str) -> HashMap<String, RawFd> {
    listed
        .lines()
        .filter_map(|line| {
            let (fd, name) = line.split_once(' ')?;
            Some((name.to_owned(), fd.parse().ok()?))
        })
        .collect()
}

/// The value of [`UPGRADE_FDS`] for `passed`.
pub(crate) fn format_upgrade_fds<'a>(passed: impl IntoIterator<Item = (&'a str, RawFd)>) -> String {
    passed
        .into_iter()
        .map(|(name, fd)| format!("{fd} {name}\n"))
        .collect()
}

/// `LISTEN_FDS` descriptors from fd 3, as `listen.<name>` by `LISTEN_FDNAMES` (unnamed ones are
/// `unknown`, as systemd names them), if `LISTEN_PID` is this process.
fn activated() -> HashMap<String, RawFd> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| pid == std::process::id());
    let count: RawFd = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if !ours || count <= 0 {
        return HashMap::new();
    }
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    let mut names = names.split(':');
    (0..count)
        .map(|i| {
            let name = names.next().filter(|n| !n.is_empty()).unwrap_or("unknown");
            (format!("listen.{name}"), 3 + i)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upgrade_list_round_trips_names_with_spaces() {
        let listed =
            format_upgrade_fds([("listen.http", 7), ("listen.odd name", 9), ("ready", 12)]);
        let parsed = parse_upgrade_fds(&listed);
        assert_eq!(parsed["listen.http"], 7);
        assert_eq!(parsed["listen.odd name"], 9);
        assert_eq!(parsed["ready"], 12);
        assert_eq!(parsed.len(), 3);
    }
}
