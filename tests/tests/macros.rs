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
    assert_eq!(daemon.wait_exit(), Exit::Code(0), "{}", daemon.transcript());
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
