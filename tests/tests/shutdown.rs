//! Shutdown as users see it: signals, deadlines, exit codes, the PID file.

use std::time::Duration;

use tests::{Exit, Process, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

/// Shutdown deadlines long enough never to matter: the test ends the daemon another way.
const UNHURRIED: [(&str, &str); 3] = [
    ("DAEMON_SHUTDOWN_TIMEOUT_MS", "60000"),
    ("DAEMON_SHUTDOWN_FORCE_TIMEOUT_MS", "60000"),
    ("DAEMON_SHUTDOWN_KILL_TIMEOUT_MS", "60000"),
];

fn start(args: &[&str], env: &[(&str, &str)]) -> Process {
    Process::start(FIXTURE, args, env)
}

fn graceful_stop_on(signal: i32) {
    let dir = scratch_dir(&format!("graceful-{signal}"));
    let pid_file = dir.join("fixture.pid");
    let pid_env = pid_file.to_str().unwrap();
    let mut daemon = start(&["idle", "count=3"], &[("DAEMON_PID_FILE", pid_env)]);
    for i in 0..3 {
        daemon.wait_for(&format!("idle{i}: running"));
    }
    // The start-up line names what it started.
    daemon.wait_for("started 3 subsystem(s) (pid");
    daemon.wait_for("): `idle0`, `idle1`, `idle2`");
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        daemon.pid().to_string()
    );
    daemon.signal(signal);
    daemon.expect_exit(Exit::Code(0));
    for i in 0..3 {
        assert_eq!(
            daemon.count(&format!("idle{i}: cancelled")),
            1,
            "{}",
            daemon.transcript()
        );
    }
    assert!(!pid_file.exists(), "PID file left behind");
}

#[test]
fn sigterm_stops_every_subsystem_and_exits_0() {
    graceful_stop_on(libc::SIGTERM);
}

#[test]
fn sigint_stops_every_subsystem_and_exits_0() {
    graceful_stop_on(libc::SIGINT);
}

#[test]
fn sigquit_stops_gracefully_too() {
    graceful_stop_on(libc::SIGQUIT);
}

#[test]
fn the_shutdown_log_names_the_signal() {
    let mut daemon = start(&["idle", "count=1"], &[]);
    daemon.wait_for("idle0: running");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
    daemon.wait_for("shutting down (received SIGTERM)");
}

#[test]
fn sighup_does_not_stop_the_daemon() {
    let mut daemon = start(&["idle", "count=1"], &[]);
    daemon.wait_for("idle0: running");
    daemon.signal(libc::SIGHUP);
    daemon.wait_for("configuration reloaded from defaults and environment (SIGHUP)");
    daemon.signal(libc::SIGUSR1);
    daemon.wait_for("received SIGUSR1");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    // Still running when SIGTERM came: the one shutdown is SIGTERM's, the one cancel its.
    assert_eq!(daemon.count("shutting down (received SIGTERM)"), 1);
    assert_eq!(daemon.count("shutting down"), 1, "{}", daemon.transcript());
    assert_eq!(daemon.count("idle0: cancelled"), 1);
}

#[test]
fn a_subsystem_ignoring_cancellation_is_aborted_at_its_deadline_and_named() {
    let mut daemon = start(
        &["stubborn"],
        &[
            ("DAEMON_SHUTDOWN_TIMEOUT_MS", "300"),
            ("DAEMON_SHUTDOWN_FORCE_TIMEOUT_MS", "20000"),
            ("DAEMON_SHUTDOWN_KILL_TIMEOUT_MS", "30000"),
        ],
    );
    daemon.wait_for("stubborn: running");
    daemon.wait_for("polite: running");
    let (exit, took) = daemon.signal_and_wait_exit(libc::SIGTERM);
    assert_eq!(exit, Exit::Code(70), "{}", daemon.transcript());
    assert!(
        took >= Duration::from_millis(300),
        "aborted before its deadline: {took:?}"
    );
    assert!(
        took < Duration::from_secs(15),
        "waited for the force deadline: {took:?}"
    );
    daemon.wait_for(
        "subsystem `stubborn` did not stop within its shutdown timeout of 300ms; aborting it",
    );
    daemon.wait_for("error: shutdown deadline overrun: `stubborn` did not stop");
    assert_eq!(daemon.count("polite: cancelled"), 1);
    assert_eq!(
        daemon.count("aborting it"),
        1,
        "only the stubborn one is aborted"
    );
}

#[test]
fn a_subsystem_own_shutdown_timeout_wins_over_the_global_one() {
    let mut daemon = start(
        &["own-timeout", "budget_ms=100"],
        &[
            ("DAEMON_SHUTDOWN_TIMEOUT_MS", "20000"),
            ("DAEMON_SHUTDOWN_FORCE_TIMEOUT_MS", "25000"),
            ("DAEMON_SHUTDOWN_KILL_TIMEOUT_MS", "30000"),
        ],
    );
    daemon.wait_for("quick-budget: running");
    let (exit, took) = daemon.signal_and_wait_exit(libc::SIGTERM);
    assert_eq!(exit, Exit::Code(70), "{}", daemon.transcript());
    assert!(
        took < Duration::from_secs(15),
        "used the global 20 s budget: {took:?}"
    );
    daemon.wait_for("subsystem `quick-budget` did not stop within its shutdown timeout of 100ms");
}

#[test]
fn blocking_code_cannot_keep_the_process_past_its_deadlines() {
    let dir = scratch_dir("blocking");
    let pid_file = dir.join("fixture.pid");
    let mut daemon = start(
        &["blocking"],
        &[
            ("DAEMON_SHUTDOWN_TIMEOUT_MS", "200"),
            ("DAEMON_SHUTDOWN_FORCE_TIMEOUT_MS", "400"),
            ("DAEMON_SHUTDOWN_KILL_TIMEOUT_MS", "1500"),
            ("DAEMON_PERFORMANCE_WORKER_THREADS", "1"),
            ("DAEMON_PID_FILE", pid_file.to_str().unwrap()),
        ],
    );
    daemon.wait_for("blocker: running");
    let (exit, took) = daemon.signal_and_wait_exit(libc::SIGTERM);
    assert_eq!(exit, Exit::Code(70), "{}", daemon.transcript());
    assert!(
        took >= Duration::from_millis(400),
        "exited before the force deadline: {took:?}"
    );
    assert!(
        took < Duration::from_secs(10),
        "outlived its kill deadline by far: {took:?}"
    );
    daemon.wait_for("shutdown did not finish within force_timeout_ms (400ms); exiting without waiting for: `blocker`");
    assert!(
        !pid_file.exists(),
        "the forced exit must still remove the PID file"
    );
}

#[test]
fn the_kill_deadline_ends_a_process_whose_forced_exit_hangs() {
    let dir = scratch_dir("wedged");
    let pid_file = dir.join("fixture.pid");
    let mut daemon = start(
        &["wedged"],
        &[
            ("DAEMON_SHUTDOWN_TIMEOUT_MS", "100"),
            ("DAEMON_SHUTDOWN_FORCE_TIMEOUT_MS", "200"),
            ("DAEMON_SHUTDOWN_KILL_TIMEOUT_MS", "800"),
            ("DAEMON_PID_FILE", pid_file.to_str().unwrap()),
        ],
    );
    daemon.wait_for("wedged: running");
    let (exit, took) = daemon.signal_and_wait_exit(libc::SIGTERM);
    assert_eq!(exit, Exit::Code(70), "{}", daemon.transcript());
    assert!(
        took >= Duration::from_millis(800),
        "ended before the kill deadline: {took:?}"
    );
    assert!(
        took < Duration::from_secs(10),
        "outlived its kill deadline by far: {took:?}"
    );
    daemon.wait_for("proc-daemon: shutdown.kill_timeout_ms reached; ending the process now");
    assert!(
        !pid_file.exists(),
        "the PID file is removed before anything that can block"
    );
}

#[test]
fn second_sigint_during_a_slow_shutdown_exits_at_once_with_130() {
    let dir = scratch_dir("second-sigint");
    let pid_file = dir.join("fixture.pid");
    let mut daemon = start(
        &["slow-stop"],
        &[
            UNHURRIED[0],
            UNHURRIED[1],
            UNHURRIED[2],
            ("DAEMON_PID_FILE", pid_file.to_str().unwrap()),
        ],
    );
    daemon.wait_for("slow: running");
    daemon.signal(libc::SIGINT);
    daemon.wait_for("slow: cleaning up");
    let (exit, took) = daemon.signal_and_wait_exit(libc::SIGINT);
    assert_eq!(exit, Exit::Code(130), "{}", daemon.transcript());
    assert!(took < Duration::from_secs(10), "{took:?}");
    daemon.wait_for("received SIGINT during shutdown (after SIGINT); exiting now with code 130");
    assert!(!pid_file.exists(), "PID file left behind");
}

#[test]
fn second_sigterm_exits_with_143() {
    let mut daemon = start(&["slow-stop"], &UNHURRIED);
    daemon.wait_for("slow: running");
    daemon.signal(libc::SIGTERM);
    daemon.wait_for("slow: cleaning up");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(143));
}

#[test]
fn sigterm_during_start_up_is_a_clean_stop_every_time() {
    for round in 0..25 {
        let mut daemon = start(&["idle", "count=2", "setup_ms=30"], &[]);
        daemon.wait_for_handler(libc::SIGTERM);
        daemon.signal(libc::SIGTERM);
        let exit = daemon.wait_exit();
        assert_eq!(
            exit,
            Exit::Code(0),
            "round {round}: {}",
            daemon.transcript()
        );
        assert_eq!(
            daemon.count(": running"),
            daemon.count(": cancelled"),
            "round {round}: every subsystem that started must see the cancellation:\n{}",
            daemon.transcript()
        );
    }
}

#[test]
fn sigterm_during_a_slow_set_up_stops_at_once_with_nothing_started() {
    let mut daemon = start(&["idle", "count=1", "setup_ms=60000"], &[]);
    daemon.wait_for("setup: starting");
    let (exit, took) = daemon.signal_and_wait_exit(libc::SIGTERM);
    assert_eq!(exit, Exit::Code(0), "{}", daemon.transcript());
    assert!(
        took < Duration::from_secs(20),
        "waited for the set-up: {took:?}"
    );
    daemon.wait_for("shutdown requested during set-up; nothing was started");
    assert_eq!(
        daemon.count("setup done") + daemon.count("idle0: running"),
        0
    );
}

#[test]
fn a_second_instance_with_the_same_pid_file_is_refused() {
    let dir = scratch_dir("two-instances");
    let pid_file = dir.join("fixture.pid");
    let env = [("DAEMON_PID_FILE", pid_file.to_str().unwrap())];
    let mut first = start(&["idle", "count=1"], &env);
    first.wait_for("idle0: running");

    let mut second = start(&["idle", "count=1"], &env);
    second.expect_exit(Exit::Code(1));
    second.wait_for(&format!(
        "PID file {} is held by running process {}",
        pid_file.display(),
        first.pid()
    ));
    assert_eq!(
        second.count("idle0: running"),
        0,
        "the second instance started work"
    );
    // The lock is taken before set-up: a second instance has no set-up side effects.
    assert_eq!(
        second.count("setup: starting"),
        0,
        "{}",
        second.transcript()
    );

    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        first.pid().to_string(),
        "the first instance's PID file was touched"
    );
    first.signal(libc::SIGTERM);
    assert_eq!(first.wait_exit(), Exit::Code(0));
    assert!(!pid_file.exists());
}

#[test]
fn a_stale_pid_file_is_taken_over() {
    let dir = scratch_dir("stale");
    let pid_file = dir.join("fixture.pid");
    std::fs::write(&pid_file, "4194304\n").unwrap();
    let mut daemon = start(
        &["idle", "count=1"],
        &[("DAEMON_PID_FILE", pid_file.to_str().unwrap())],
    );
    daemon.wait_for("idle0: running");
    daemon.wait_for("taking over stale PID file");
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        daemon.pid().to_string()
    );
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn a_set_up_error_aborts_start_up_with_its_message() {
    let mut daemon = start(&["idle", "setup_error=1"], &[]);
    assert_eq!(daemon.wait_exit(), Exit::Code(1));
    daemon.wait_for("fixture: error: set-up failed: database unreachable");
    assert_eq!(daemon.count("running"), 0);
}

#[test]
fn an_invalid_environment_override_exits_78_naming_the_variable() {
    let mut daemon = start(&["idle"], &[("DAEMON_SHUTDOWN_TIMEOUT_MS", "soon")]);
    assert_eq!(daemon.wait_exit(), Exit::Code(78));
    daemon.wait_for(r#"DAEMON_SHUTDOWN_TIMEOUT_MS="soon": shutdown.timeout_ms: expected a non-negative integer"#);
    assert_eq!(
        daemon.count("setup done"),
        0,
        "nothing may start with a bad config"
    );
}
