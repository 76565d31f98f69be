//! The examples, run as users run them.

use tests::{Exit, Process, scratch_dir};

#[test]
fn simple_and_its_hand_written_twin_stop_cleanly_on_sigterm_and_sigint() {
    for (program, signal) in [
        (env!("CARGO_BIN_EXE_simple"), libc::SIGTERM),
        (env!("CARGO_BIN_EXE_simple"), libc::SIGINT),
        (env!("CARGO_BIN_EXE_builder"), libc::SIGTERM),
    ] {
        let dir = scratch_dir(&format!("simple-{signal}-{}", program.len()));
        let pid_file = dir.join("simple.pid");
        let mut daemon = Process::start(
            program,
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

#[test]
fn the_command_line_answers_version_help_and_check_config() {
    let mut version = Process::start(env!("CARGO_BIN_EXE_simple"), &["--version"], &[]);
    assert_eq!(version.wait_exit(), Exit::Code(0));
    version.wait_for(&format!("simple {}", env!("CARGO_PKG_VERSION")));

    let mut help = Process::start(env!("CARGO_BIN_EXE_simple"), &["--help"], &[]);
    assert_eq!(help.wait_exit(), Exit::Code(0));
    help.wait_for("--config PATH");
    help.wait_for("DAEMON_CONFIG");

    let mut check = Process::start(
        env!("CARGO_BIN_EXE_comprehensive"),
        &["--check-config"],
        &[],
    );
    assert_eq!(check.wait_exit(), Exit::Code(0), "{}", check.transcript());
    check.wait_for("comprehensive: configuration ok (");
    assert_eq!(
        check.count("api: serving"),
        0,
        "--check-config must not start the daemon"
    );
}

#[test]
fn config_on_the_command_line_wins_and_is_checked() {
    let dir = scratch_dir("cli-config");
    let config = dir.join("broken.toml");
    std::fs::write(&config, "[logging]\nlevel = \"loud\"\n").unwrap();
    let config_arg = config.to_str().unwrap();

    let mut check = Process::start(
        env!("CARGO_BIN_EXE_comprehensive"),
        &["--check-config", "--config", config_arg],
        &[],
    );
    assert_eq!(check.wait_exit(), Exit::Code(78));
    check.wait_for(&format!(
        "{config_arg}:2:9: logging.level: unknown log level \"loud\", expected one of trace, debug, info, warn, error"
    ));

    let mut run = Process::start(
        env!("CARGO_BIN_EXE_comprehensive"),
        &[&format!("--config={config_arg}")],
        &[],
    );
    assert_eq!(run.wait_exit(), Exit::Code(78));
    assert_eq!(run.count("api: serving"), 0);

    let mut usage = Process::start(env!("CARGO_BIN_EXE_simple"), &["--config"], &[]);
    assert_eq!(usage.wait_exit(), Exit::Code(64));
    usage.wait_for("simple: --config needs a path");
}
