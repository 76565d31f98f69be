//! Restart policies and restart intensity, counted from the runs a real process makes.

use tests::{Exit, Process};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

/// Runs the `runs` scenario and returns the finished process (after stopping it with SIGTERM
/// if it was still running once `settled` was printed).
fn runs(options: &[&str]) -> Process {
    let mut args = vec!["runs"];
    args.extend_from_slice(options);
    Process::start(FIXTURE, &args, &[])
}

fn stop(mut daemon: Process) -> Process {
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    daemon
}

#[test]
fn on_failure_restarts_failures_until_a_run_succeeds() {
    let mut daemon = runs(&["policy=on_failure", "fail=3", "then=wait"]);
    daemon.wait_for("flaky: run 4");
    let daemon = stop(daemon);
    assert_eq!(daemon.count("flaky: run "), 4, "{}", daemon.transcript());
    assert_eq!(daemon.count("restarting subsystem `flaky`"), 3);
    assert_eq!(daemon.count("flaky: cancelled"), 1);
}

#[test]
fn on_failure_stops_after_ok_and_the_daemon_exits_0_when_all_stopped() {
    let mut daemon = runs(&["policy=on_failure", "fail=2", "then=ok"]);
    daemon.expect_exit(Exit::Code(0));
    assert_eq!(daemon.count("flaky: run "), 3);
    daemon.wait_for("subsystem `flaky` finished");
    daemon.wait_for("shutting down (every subsystem has stopped)");
}

#[test]
fn never_stops_after_ok() {
    let mut daemon = runs(&["policy=never", "then=ok"]);
    daemon.expect_exit(Exit::Code(0));
    assert_eq!(daemon.count("flaky: run "), 1);
}

#[test]
fn never_fails_after_err_and_a_critical_failure_exits_1_naming_it() {
    let mut daemon = runs(&["policy=never", "fail=1"]);
    daemon.expect_exit(Exit::Code(1));
    assert_eq!(daemon.count("flaky: run "), 1);
    daemon
        .wait_for("subsystem `flaky` failed and will not be restarted (restart policy is `never`)");
    daemon.wait_for("error: subsystem `flaky` failed: flaky failed on run 1");
}

#[test]
fn always_restarts_after_ok() {
    // Every run returns Ok at once; `always` restarts each until the intensity limit stops it.
    let mut daemon = runs(&["policy=always", "then=ok", "max_restarts=4"]);
    daemon.expect_exit(Exit::Code(1));
    assert_eq!(daemon.count("flaky: run "), 5, "1 run + 4 restarts");
    daemon.wait_for("restarted more than 4 times within 60s; giving up");
}

#[test]
fn always_restarts_after_err() {
    let mut daemon = runs(&["policy=always", "fail=2", "then=wait"]);
    daemon.wait_for("flaky: run 3");
    let daemon = stop(daemon);
    assert_eq!(daemon.count("flaky: run "), 3);
}

#[test]
fn exponential_backoff_restarts_failures_after_a_delay() {
    let mut daemon = runs(&["policy=backoff", "fail=3", "then=wait"]);
    daemon.wait_for("flaky: run 4");
    let daemon = stop(daemon);
    assert_eq!(daemon.count("flaky: run "), 4);
    assert_eq!(
        daemon.count("restarting subsystem `flaky` (restart 1, after 0ns)"),
        0,
        "backoff must wait"
    );
}

#[test]
fn a_panicking_subsystem_is_restarted_and_the_daemon_survives() {
    let mut daemon = runs(&["policy=on_failure", "fail=2", "how=panic", "then=wait"]);
    daemon.wait_for("flaky: run 3");
    daemon.wait_for("subsystem `flaky` failed: panicked: flaky exploded on run 1");
    let daemon = stop(daemon);
    assert_eq!(daemon.count("flaky: run "), 3);
}

#[test]
fn a_crash_loop_is_stopped_by_the_intensity_limit_and_exits_1() {
    let mut daemon = runs(&["policy=on_failure", "fail=1000", "max_restarts=5"]);
    daemon.expect_exit(Exit::Code(1));
    assert_eq!(daemon.count("flaky: run "), 6, "1 run + 5 restarts");
    daemon.wait_for("error: subsystem `flaky` failed: restarted more than 5 times within 60s; giving up (last error: flaky failed on run 6)");
}

#[test]
fn a_non_critical_failure_leaves_the_daemon_running() {
    let mut daemon = Process::start(
        FIXTURE,
        &["two", "policy=never", "fail=1", "critical=false"],
        &[],
    );
    daemon.wait_for("subsystem `flaky` failed and will not be restarted");
    daemon.wait_for("steady: running");
    daemon.drain();
    assert_eq!(daemon.count("steady: cancelled"), 0);
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    assert_eq!(daemon.count("steady: cancelled"), 1);
}

#[test]
fn a_critical_failure_stops_the_other_subsystems() {
    let mut daemon = Process::start(FIXTURE, &["two", "policy=never", "fail=1"], &[]);
    daemon.expect_exit(Exit::Code(1));
    daemon.wait_for("shutting down (critical subsystem `flaky` failed)");
    assert_eq!(
        daemon.count("steady: running"),
        daemon.count("steady: cancelled")
    );
}

#[test]
fn a_configuration_error_from_a_subsystem_ends_the_daemon_with_78_not_a_restart_loop() {
    let mut daemon = Process::start(FIXTURE, &["config-error"], &[]);
    daemon.expect_exit(Exit::Code(78));
    daemon.wait_for(
        "subsystem `reader` failed with a configuration error; a restart cannot mend the configuration, so the daemon stops (exit 78)",
    );
    daemon.wait_for(
        "fixture: error: invalid configuration: subsystem `reader`: app.port: expected a number from 1 to 65535",
    );
    daemon.wait_for("shutting down (subsystem `reader` returned a configuration error)");
    assert_eq!(
        daemon.count("reader: running"),
        1,
        "{}",
        daemon.transcript()
    );
    assert_eq!(daemon.count("restarting subsystem"), 0);
}
