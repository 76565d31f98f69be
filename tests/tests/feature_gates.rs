//! What optional features change for a user: with `json-logs`, one JSON object per line; without
//! a feature, its keys and commands are clear errors rather than silently ignored. CI runs this
//! file both with `--features full` and with the default features.

use tests::{Exit, Process};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

#[cfg(feature = "json-logs")]
#[test]
fn json_logs_are_one_object_per_line() {
    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "count=1"],
        &[("DAEMON_LOGGING_JSON", "true")],
    );
    daemon.wait_for("idle0: running");
    let started = daemon.wait_for("daemon `fixture` started");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
    assert!(
        started.starts_with('{') && started.ends_with('}'),
        "{started}"
    );
    assert!(started.contains(r#""level":"INFO""#), "{started}");
    assert!(
        started.contains(r#""message":"daemon `fixture` started 1 subsystem(s)"#),
        "{started}"
    );
}

#[cfg(not(feature = "json-logs"))]
#[test]
fn json_logs_without_the_feature_are_a_configuration_error() {
    let mut daemon = Process::start(FIXTURE, &["idle"], &[("DAEMON_LOGGING_JSON", "true")]);
    assert_eq!(daemon.wait_exit(), Exit::Code(78));
    daemon.wait_for("logging.json = true needs proc-daemon's `json-logs` feature");
}

#[cfg(not(feature = "ipc"))]
#[test]
fn the_control_socket_without_the_feature_is_an_error() {
    let mut daemon = Process::start(FIXTURE, &["idle"], &[("DAEMON_IPC_ENABLED", "true")]);
    assert_eq!(daemon.wait_exit(), Exit::Code(78));
    daemon.wait_for("ipc.enabled = true needs proc-daemon's `ipc` feature");
    let mut ctl = Process::start(FIXTURE, &["ctl", "status"], &[]);
    assert_eq!(ctl.wait_exit(), Exit::Code(64));
    ctl.wait_for("fixture: ctl needs proc-daemon's `ipc` feature");
}

#[cfg(not(feature = "scheduler-hints"))]
#[test]
fn scheduler_hints_without_the_feature_are_an_error() {
    for (variable, value) in [
        ("DAEMON_PERFORMANCE_NICE", "5"),
        ("DAEMON_PERFORMANCE_CPU_AFFINITY", "0"),
        ("DAEMON_PERFORMANCE_THREAD_PINNING", "true"),
    ] {
        let mut daemon = Process::start(FIXTURE, &["idle"], &[(variable, value)]);
        assert_eq!(daemon.wait_exit(), Exit::Code(78), "{variable}");
        daemon.wait_for(
            "performance.nice, cpu_affinity and thread_pinning need proc-daemon's `scheduler-hints` feature",
        );
    }
}

#[cfg(not(feature = "env-filter"))]
#[test]
fn span_directives_without_env_filter_are_an_error() {
    let mut daemon = Process::start(
        FIXTURE,
        &["idle"],
        &[("DAEMON_LOGGING_LEVEL", "info,fixture[request]=debug")],
    );
    assert_eq!(daemon.wait_exit(), Exit::Code(78));
    daemon.wait_for("span and field directives need proc-daemon's `env-filter` feature");
}

#[cfg(feature = "env-filter")]
#[test]
fn span_directives_work_with_env_filter() {
    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "count=1"],
        &[("DAEMON_LOGGING_LEVEL", "info,fixture[request]=debug")],
    );
    daemon.wait_for("daemon `fixture` started 1 subsystem(s)");
    daemon.wait_for("started 1 subsystem(s) (pid");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn the_published_performance_keys_act_or_are_named_in_a_warning() {
    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "count=1"],
        &[
            ("DAEMON_PERFORMANCE_MEMORY_POOL_SIZE", "1048576"),
            ("DAEMON_PERFORMANCE_NUMA_AWARE", "true"),
            ("DAEMON_PERFORMANCE_LOCK_FREE", "true"),
        ],
    );
    daemon.wait_for("idle0: running");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    // No test build installs mimalloc.
    assert_eq!(
        daemon.count("performance.memory_pool_size is ignored: reserving memory needs proc-daemon's `mimalloc` feature"),
        1,
        "{}",
        daemon.transcript()
    );
    let lock_free_warned = daemon.count(
        "performance.lock_free is ignored: the lock-free event queue needs proc-daemon's `lockfree-coordination` feature",
    );
    assert_eq!(
        lock_free_warned,
        usize::from(cfg!(not(feature = "lockfree-coordination")))
    );
    let numa_warned = daemon.count(
        "performance.numa_aware is ignored: placing threads on NUMA nodes needs proc-daemon's `scheduler-hints` feature",
    );
    assert_eq!(
        numa_warned,
        usize::from(cfg!(not(feature = "scheduler-hints")))
    );
}
