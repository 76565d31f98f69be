//! `[process] user, group, umask, working_directory` in a real daemon started as root: what the
//! kernel says about the running process (`/proc/PID/status`, `/proc/PID/cwd`), and the errors
//! when the drop cannot be done.

use std::os::unix::fs::PermissionsExt;

use tests::{Exit, Process, runs_as_root, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

/// The value of `field:` in `/proc/PID/status`, whitespace collapsed.
fn status_field(pid: i32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {status}"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_daemon_started_as_root_runs_as_its_user_with_its_umask_and_directory() {
    if !runs_as_root("dropping privileges") {
        return;
    }
    let dir = scratch_dir("privileges-drop");
    // Where the daemon's user may write: the PID file is removed at exit by that user.
    let run = dir.join("run");
    std::fs::create_dir(&run).unwrap();
    std::os::unix::fs::chown(&run, Some(65_534), Some(65_534)).unwrap();
    let work = dir.join("work");
    std::fs::create_dir(&work).unwrap();
    let pid_file = run.join("fixture.pid");
    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "count=1"],
        &[
            ("DAEMON_PROCESS_USER", "nobody"),
            ("DAEMON_PROCESS_UMASK", "0027"),
            ("DAEMON_PROCESS_WORKING_DIRECTORY", work.to_str().unwrap()),
            ("DAEMON_PID_FILE", pid_file.to_str().unwrap()),
        ],
    );
    daemon.wait_for(
        "dropped privileges: running as process.user = \"nobody\" (uid 65534, gid 65534), no supplementary groups",
    );
    daemon.wait_for("idle0: running");
    let pid = daemon.pid();
    assert_eq!(status_field(pid, "Uid"), "65534 65534 65534 65534");
    assert_eq!(status_field(pid, "Gid"), "65534 65534 65534 65534");
    assert_eq!(status_field(pid, "Groups"), "65534");
    assert_eq!(status_field(pid, "Umask"), "0027");
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap(),
        work
    );
    // The PID file was written as root, before the drop.
    let pid_text = std::fs::read_to_string(&pid_file).unwrap();
    assert_eq!(pid_text.trim(), pid.to_string());

    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    assert!(!pid_file.exists(), "{}", daemon.transcript());
}

#[test]
fn an_unknown_user_or_a_bad_umask_stops_the_start_with_78() {
    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "count=1"],
        &[("DAEMON_PROCESS_USER", "no-such-user-here")],
    );
    daemon.expect_exit(Exit::Code(78));
    daemon.wait_for(
        "error: invalid configuration: process.user: there is no user named \"no-such-user-here\" on this system",
    );
    assert_eq!(
        daemon.count("setup: starting"),
        0,
        "{}",
        daemon.transcript()
    );

    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "count=1"],
        &[("DAEMON_PROCESS_UMASK", "0o27")],
    );
    daemon.expect_exit(Exit::Code(78));
    daemon.wait_for(
        "process.umask: \"0o27\" is not a file-mode mask; write it in octal, like \"0027\"",
    );
}

#[test]
fn a_daemon_not_started_as_root_is_refused_the_drop() {
    if !runs_as_root("starting a daemon as another user") {
        return;
    }
    let dir = scratch_dir("privileges-not-root");
    std::fs::set_permissions(&dir, PermissionsExt::from_mode(0o755)).unwrap();
    let mut command = tests::as_nobody(FIXTURE, &dir);
    command
        .args(["idle", "count=1"])
        .env("DAEMON_PROCESS_USER", "root");
    let mut daemon = Process::spawn(command);
    daemon.expect_exit(Exit::Code(78));
    daemon.wait_for(
        "process.user = \"root\": changing user or group needs the daemon to start as root; it runs as uid 65534, gid 65534",
    );
}
