//! Health checks against a real process: an unhealthy subsystem is stopped and restarted.

use tests::{Exit, Process, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

#[test]
fn an_unhealthy_subsystem_is_stopped_gracefully_and_restarted() {
    let dir = scratch_dir("unhealthy");
    let flag = dir.join("unhealthy");
    let flag_arg = format!("unhealthy_when={}", flag.display());
    let mut daemon = Process::start(
        FIXTURE,
        &["health", &flag_arg],
        &[("DAEMON_MONITORING_HEALTH_CHECK_FAILURES", "2")],
    );
    daemon.wait_for("checked: run 1");
    daemon.wait_for("checked: health true");
    std::fs::write(&flag, "").unwrap();
    daemon.wait_for("subsystem `checked` is unhealthy: 2 consecutive health checks failed");
    daemon.wait_for("checked: cancelled in run 1");
    std::fs::remove_file(&flag).unwrap();
    daemon.wait_for("checked: run 2");
    daemon.wait_for("restarting subsystem `checked` (restart 1");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    assert_eq!(daemon.count("checked: cancelled in run 2"), 1);
}

#[test]
fn health_checks_can_be_turned_off() {
    let dir = scratch_dir("health-off");
    let flag = dir.join("unhealthy");
    std::fs::write(&flag, "").unwrap();
    let flag_arg = format!("unhealthy_when={}", flag.display());
    let mut daemon = Process::start(
        FIXTURE,
        &["health", &flag_arg, "interval_ms=10"],
        &[("DAEMON_MONITORING_HEALTH_CHECKS", "false")],
    );
    daemon.wait_for("checked: run 1");
    // 30 ticks of 10 ms: with checks on, a check every 10 ms would have run many times.
    daemon.wait_for("ticker: tick 30");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
    assert_eq!(
        daemon.count("checked: health"),
        0,
        "{}",
        daemon.transcript()
    );
}

#[test]
fn a_blocking_health_check_stalls_nothing_and_counts_as_failed() {
    let flag_arg = "unhealthy_when=/nonexistent-flag".to_owned();
    let mut daemon = Process::start(
        FIXTURE,
        &["health", &flag_arg, "check_blocks=1", "interval_ms=30"],
        &[
            ("DAEMON_MONITORING_HEALTH_CHECK_FAILURES", "3"),
            // One worker: a check run on it would freeze the ticker.
            ("DAEMON_PERFORMANCE_WORKER_THREADS", "1"),
        ],
    );
    daemon.wait_for("checked: health check blocking");
    let ticks_then = daemon.count("ticker: tick");
    daemon.wait_for(&format!("ticker: tick {}", ticks_then + 20));
    daemon.wait_for("health check of subsystem `checked` is still running after 30ms");
    daemon.wait_for("subsystem `checked` is unhealthy: 3 consecutive health checks failed");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}
