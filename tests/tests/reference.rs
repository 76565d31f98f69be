//! The published proc-daemon 1.0 reference, taken as a user migrating from it would: its
//! `daemon.toml` verbatim (`tests/reference/daemon.toml`) and its environment example.

use tests::{Exit, Process, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");
const REFERENCE_TOML: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/reference/daemon.toml");

#[test]
fn the_reference_daemon_toml_loads_verbatim_and_runs() {
    let dir = scratch_dir("reference-toml");
    let log = dir.join("my-daemon.log");
    // The file as published; only its log destination (/var/log) is moved, by the environment.
    let env = [("DAEMON_LOGGING_FILE", log.to_str().unwrap())];
    let mut check = Process::start(
        FIXTURE,
        &["--check-config", "--config", REFERENCE_TOML],
        &env,
    );
    check.expect_exit(Exit::Code(0));
    check.wait_for("my-production-daemon: configuration ok");

    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "count=1", "--config", REFERENCE_TOML],
        &env,
    );
    daemon.wait_for("idle0: running");
    let started = tests::wait_for_file_containing(
        &log,
        "daemon `my-production-daemon` started 1 subsystem(s)",
    );
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    // `memory_pool_size` needs mimalloc, which no test build installs: named, not ignored.
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("performance.memory_pool_size is ignored"),
        "{started}\n{log_text}"
    );
}

#[test]
fn the_reference_environment_example_starts_a_daemon() {
    let env = [
        ("DAEMON_NAME", "env-daemon"),
        ("DAEMON_LOGGING_LEVEL", "debug"),
        ("DAEMON_SHUTDOWN_TIMEOUT_MS", "60000"),
        ("DAEMON_PERFORMANCE_WORKER_THREADS", "16"),
    ];
    let mut print = Process::start(FIXTURE, &["--print-config"], &env);
    print.expect_exit(Exit::Code(0));
    for line in [
        "name = \"env-daemon\"  # env DAEMON_NAME",
        "timeout_ms = 60000  # env DAEMON_SHUTDOWN_TIMEOUT_MS",
        "force_timeout_ms = 90000  # derived from the deadline before it",
        "kill_timeout_ms = 135000  # derived from the deadline before it",
        "worker_threads = 16  # env DAEMON_PERFORMANCE_WORKER_THREADS",
    ] {
        assert_eq!(print.count(line), 1, "{line}:\n{}", print.transcript());
    }
    let mut daemon = Process::start(FIXTURE, &["idle", "count=1"], &env);
    daemon.wait_for("daemon `env-daemon` started 1 subsystem(s)");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}
