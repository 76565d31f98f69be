//! The examples, run as users run them.

use tests::{Exit, Process, scratch_dir};

#[test]
fn simple_stops_cleanly_on_sigterm_and_sigint() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let dir = scratch_dir(&format!("simple-{signal}"));
        let pid_file = dir.join("simple.pid");
        let mut daemon = Process::start(
            env!("CARGO_BIN_EXE_simple"),
            &[],
            &[("DAEMON_PID_FILE", pid_file.to_str().unwrap())],
        );
        daemon.wait_for("worker: started");
        assert!(pid_file.exists());
        daemon.signal(signal);
        assert_eq!(daemon.wait_exit(), Exit::Code(0), "{}", daemon.transcript());
        daemon.wait_for("worker: shutdown requested");
        assert!(!pid_file.exists(), "PID file left behind");
    }
}

#[test]
fn comprehensive_recovers_its_fetcher_and_stops_everything() {
    let dir = scratch_dir("comprehensive");
    let pid_file = dir.join("c.pid");
    let mut daemon = Process::start(
        env!("CARGO_BIN_EXE_comprehensive"),
        &[],
        &[("DAEMON_PID_FILE", pid_file.to_str().unwrap())],
    );
    daemon.wait_for("api: serving");
    daemon.wait_for("queue: consuming");
    daemon.wait_for("warm-cache: loaded 42 entries");
    daemon.wait_for("fetcher: attempt 3 to reach https://example.invalid/feed");
    daemon.wait_for("fetcher: connected");
    assert_eq!(daemon.count("restarting subsystem `fetcher`"), 2);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0), "{}", daemon.transcript());
    for line in ["api: stopped", "fetcher: stopped", "queue: stopped"] {
        assert_eq!(daemon.count(line), 1, "{line}: {}", daemon.transcript());
    }
    assert!(!pid_file.exists());
}

#[test]
fn comprehensive_reports_a_broken_config_file_with_exit_78() {
    let dir = scratch_dir("comprehensive-bad");
    let config = dir.join("daemon.toml");
    std::fs::write(&config, "[shutdown]\ntimeout_ms = \"soon\"\n").unwrap();
    let mut daemon = Process::start(
        env!("CARGO_BIN_EXE_comprehensive"),
        &[],
        &[("DAEMON_CONFIG", config.to_str().unwrap())],
    );
    assert_eq!(daemon.wait_exit(), Exit::Code(78));
    daemon.wait_for(&format!(
        "{}:2:14: shutdown.timeout_ms: invalid type: string \"soon\", expected a non-negative integer",
        config.display()
    ));
}
