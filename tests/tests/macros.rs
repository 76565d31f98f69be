//! A daemon written only with `#[daemon]` and `#[subsystem]`, run as a real process.

use tests::{Exit, Process};

const FIXTURE: &str = env!("CARGO_BIN_EXE_macro_fixture");

#[test]
fn restarts_follow_the_attribute_health_checks_run_and_sigterm_exits_0() {
    let mut daemon = Process::start(FIXTURE, &[], &[]);
    daemon.wait_for("setup done");
    daemon.wait_for("flaky: run 3");
    daemon.wait_for("subsystem `flaky` failed: I/O error: flaky failed on run 1");
    daemon.wait_for("probe: check 3");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    assert_eq!(daemon.count("flaky: run "), 3);
    assert_eq!(daemon.count("restarting subsystem `flaky`"), 2);
    assert_eq!(daemon.count("flaky: cancelled"), 1);
    assert_eq!(daemon.count("probed: cancelled"), 1);
    daemon.wait_for("daemon `macro-fixture` stopped cleanly");
}

#[test]
fn a_failing_set_up_body_aborts_start_up_with_its_message() {
    let mut daemon = Process::start(FIXTURE, &[], &[("FIXTURE_SETUP_FAILS", "1")]);
    assert_eq!(daemon.wait_exit(), Exit::Code(1));
    daemon.wait_for("macro-fixture: error: I/O error: set-up refused: FIXTURE_SETUP_FAILS is set");
    assert_eq!(
        daemon.count("flaky: run"),
        0,
        "no subsystem may start after a failed set-up"
    );
}

#[test]
fn anyhow_and_boxed_errors_are_reported_with_their_context() {
    let program = env!("CARGO_BIN_EXE_anyhow_fixture");
    let mut daemon = Process::start(program, &[], &[]);
    // `loader` is critical: its failure ends the daemon with exit code 1.
    daemon.expect_exit(Exit::Code(1));
    assert!(
        daemon.count(
            "subsystem `loader` failed: loading the cache: No such file or directory (os error 2)"
        ) >= 1,
        "{}",
        daemon.transcript()
    );
    assert!(
        daemon.count("boxed failure: the queue is gone") >= 1,
        "{}",
        daemon.transcript()
    );
    let mut refused = Process::start(program, &[], &[("FIXTURE_SETUP_FAILS", "1")]);
    refused.expect_exit(Exit::Code(1));
    assert_eq!(
        refused.count("anyhow-fixture: error: set-up refused: FIXTURE_SETUP_FAILS is set"),
        1,
        "{}",
        refused.transcript()
    );
}

/// The signal mask of thread `tid` of process `pid` (`SigBlk` in its `/proc` status).
fn blocked_mask(pid: i32, tid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigBlk:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .expect("SigBlk in /proc status")
}

#[test]
fn stop_signals_are_held_from_load_time_until_their_handlers_exist() {
    let mut daemon = Process::start(FIXTURE, &[], &[("DAEMON_LOGGING_LEVEL", "debug")]);
    // Only the constructor `#[daemon]` registers in `.init_array` sets what this line reports.
    daemon.wait_for("stop signals were held from load time until their handlers were installed");
    daemon.wait_for("all 2 subsystem(s) are running");
    // ...and the hold ends with the handlers: the main thread (which spawned the runtime's
    // workers) takes SIGTERM again, so nothing stays pending for ever.
    let sigterm = 1u64 << (libc::SIGTERM - 1);
    assert_eq!(
        blocked_mask(daemon.pid(), daemon.pid()) & sigterm,
        0,
        "SIGTERM is still blocked on the main thread"
    );
    let (exit, _) = daemon.signal_and_wait_exit(libc::SIGTERM);
    assert_eq!(exit, Exit::Code(0), "{}", daemon.transcript());
}
