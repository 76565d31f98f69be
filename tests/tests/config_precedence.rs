//! Defaults < file < environment, for every section, as `--print-config` reports it.

use tests::{Exit, Process, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

const FILE: &str = r#"
name = "from-file"
hot_reload = true
pid_file = "/tmp/from-file.pid"

[logging]
level = "warn"
color = false

[shutdown]
timeout_ms = 2000
force_timeout_ms = 20000
kill_timeout_ms = 25000

[performance]
worker_threads = 3
nice = 4
cpu_affinity = [0]
thread_pinning = true

[ipc]
enabled = true
socket = "/tmp/from-file.sock"

[monitoring]
health_check_interval_ms = 700
health_check_failures = 4

[app]
port = 8080
greeting = "hello"
"#;

fn print_config(env: &[(&str, &str)]) -> (Process, String) {
    let dir = scratch_dir(&format!("precedence-{}", env.len()));
    let file = dir.join("daemon.toml");
    std::fs::write(&file, FILE).unwrap();
    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "--print-config", "--config", file.to_str().unwrap()],
        env,
    );
    daemon.expect_exit(Exit::Code(0));
    (daemon, file.display().to_string())
}

/// Each line must appear exactly once in what `--print-config` printed.
fn assert_printed(daemon: &Process, lines: &[String]) {
    for line in lines {
        assert!(
            daemon.count(line) == 1,
            "missing {line:?} in:\n{}",
            daemon.transcript()
        );
    }
}

#[test]
fn the_file_overrides_defaults_in_every_section() {
    let (daemon, file) = print_config(&[]);
    assert_printed(
        &daemon,
        &[
            format!("name = \"from-file\"  # file {file}"),
            format!("hot_reload = true  # file {file}"),
            format!("pid_file = \"/tmp/from-file.pid\"  # file {file}"),
            format!("level = \"warn\"  # file {file}"),
            format!("color = false  # file {file}"),
            "json = false  # default".to_owned(),
            format!("timeout_ms = 2000  # file {file}"),
            format!("force_timeout_ms = 20000  # file {file}"),
            format!("kill_timeout_ms = 25000  # file {file}"),
            format!("worker_threads = 3  # file {file}"),
            format!("nice = 4  # file {file}"),
            format!("cpu_affinity = [0]  # file {file}"),
            format!("thread_pinning = true  # file {file}"),
            format!("enabled = true  # file {file}"),
            format!("socket = \"/tmp/from-file.sock\"  # file {file}"),
            format!("health_check_interval_ms = 700  # file {file}"),
            format!("health_check_failures = 4  # file {file}"),
            "health_checks = true  # default".to_owned(),
            format!("port = 8080  # file {file}"),
            format!("greeting = \"hello\"  # file {file}"),
        ],
    );
}

#[test]
fn the_environment_overrides_the_file_in_every_section() {
    let (daemon, file) = print_config(&[
        ("DAEMON_NAME", "from-env"),
        ("DAEMON_HOT_RELOAD", "false"),
        ("DAEMON_PID_FILE", "/tmp/from-env.pid"),
        ("DAEMON_LOGGING_LEVEL", "info,fixture=debug"),
        ("DAEMON_SHUTDOWN_TIMEOUT_MS", "3000"),
        ("DAEMON_SHUTDOWN_KILL_TIMEOUT_MS", "30000"),
        ("DAEMON_PERFORMANCE_WORKER_THREADS", "1"),
        ("DAEMON_PERFORMANCE_CPU_AFFINITY", "0-1,3"),
        ("DAEMON_PERFORMANCE_NICE", "-2"),
        ("DAEMON_IPC_SOCKET", "/tmp/from-env.sock"),
        ("DAEMON_MONITORING_HEALTH_CHECK_FAILURES", "9"),
        ("DAEMON_APP_PORT", "9090"),
        ("DAEMON_APP_REGION", "eu-west"),
    ]);
    assert_printed(
        &daemon,
        &[
            "name = \"from-env\"  # env DAEMON_NAME".to_owned(),
            "hot_reload = false  # env DAEMON_HOT_RELOAD".to_owned(),
            "pid_file = \"/tmp/from-env.pid\"  # env DAEMON_PID_FILE".to_owned(),
            "level = \"info,fixture=debug\"  # env DAEMON_LOGGING_LEVEL".to_owned(),
            format!("color = false  # file {file}"),
            "timeout_ms = 3000  # env DAEMON_SHUTDOWN_TIMEOUT_MS".to_owned(),
            format!("force_timeout_ms = 20000  # file {file}"),
            "kill_timeout_ms = 30000  # env DAEMON_SHUTDOWN_KILL_TIMEOUT_MS".to_owned(),
            "worker_threads = 1  # env DAEMON_PERFORMANCE_WORKER_THREADS".to_owned(),
            "cpu_affinity = [0, 1, 3]  # env DAEMON_PERFORMANCE_CPU_AFFINITY".to_owned(),
            "nice = -2  # env DAEMON_PERFORMANCE_NICE".to_owned(),
            format!("thread_pinning = true  # file {file}"),
            "socket = \"/tmp/from-env.sock\"  # env DAEMON_IPC_SOCKET".to_owned(),
            format!("enabled = true  # file {file}"),
            "health_check_failures = 9  # env DAEMON_MONITORING_HEALTH_CHECK_FAILURES".to_owned(),
            format!("health_check_interval_ms = 700  # file {file}"),
            "port = 9090  # env DAEMON_APP_PORT".to_owned(),
            "region = \"eu-west\"  # env DAEMON_APP_REGION".to_owned(),
            format!("greeting = \"hello\"  # file {file}"),
        ],
    );
}

#[test]
fn a_custom_prefix_is_used_and_the_default_one_ignored() {
    let (daemon, _) = print_config(&[
        ("FIXTURE_ENV_PREFIX", "SHOP"),
        ("SHOP_SHUTDOWN_TIMEOUT_MS", "4000"),
        ("DAEMON_SHUTDOWN_TIMEOUT_MS", "1"),
    ]);
    assert_eq!(
        daemon.count("timeout_ms = 4000  # env SHOP_SHUTDOWN_TIMEOUT_MS"),
        1,
        "{}",
        daemon.transcript()
    );
}

#[test]
fn without_a_file_the_name_comes_from_the_program() {
    let mut daemon = Process::start(FIXTURE, &["idle", "--print-config"], &[]);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
    // The launcher's name, not the library default.
    assert_eq!(
        daemon.count("name = \"fixture\""),
        1,
        "{}",
        daemon.transcript()
    );
}

/// What the command line prints carries the configured name, as the logs do; the launcher's
/// own name only where no configuration could be read.
#[test]
fn messages_carry_the_configured_name() {
    let named = [("DAEMON_NAME", "billing")];
    let mut version = Process::start(FIXTURE, &["idle", "--version"], &named);
    assert_eq!(version.wait_exit(), Exit::Code(0));
    assert!(
        version.output().iter().any(|l| l.starts_with("billing ")),
        "{}",
        version.transcript()
    );

    let mut help = Process::start(FIXTURE, &["idle", "--help"], &named);
    assert_eq!(help.wait_exit(), Exit::Code(0));
    assert_eq!(help.output().first().map(String::as_str), Some("billing"));
    assert!(
        help.transcript().contains("Usage: billing [OPTIONS]"),
        "{}",
        help.transcript()
    );

    let mut check = Process::start(FIXTURE, &["idle", "--check-config"], &named);
    assert_eq!(check.wait_exit(), Exit::Code(0));
    check.wait_for("billing: configuration ok (defaults and environment)");

    // Loaded, then refused at start: the configured name.
    let dir = scratch_dir("configured-name");
    let held = dir.join("held.pid");
    let pid_file = [
        ("DAEMON_NAME", "billing"),
        ("DAEMON_PID_FILE", held.to_str().unwrap()),
    ];
    let mut first = Process::start(FIXTURE, &["idle"], &pid_file);
    first.wait_for("setup done");
    let mut second = Process::start(FIXTURE, &["idle"], &pid_file);
    assert_ne!(second.wait_exit(), Exit::Code(0));
    assert!(
        second
            .output()
            .iter()
            .any(|l| l.starts_with("billing: error: ")),
        "{}",
        second.transcript()
    );
    first.signal(libc::SIGTERM);
    first.expect_exit(Exit::Code(0));

    // Not loadable: the launcher's name, and --version still answers with it.
    let bad = [
        ("DAEMON_NAME", "billing"),
        ("DAEMON_SHUTDOWN_TIMEOUT_MS", "soon"),
    ];
    let mut refused = Process::start(FIXTURE, &["idle"], &bad);
    assert_eq!(refused.wait_exit(), Exit::Code(78));
    assert!(
        refused
            .output()
            .iter()
            .any(|l| l.starts_with("fixture: error: ")),
        "{}",
        refused.transcript()
    );
    let mut version = Process::start(FIXTURE, &["idle", "--version"], &bad);
    assert_eq!(version.wait_exit(), Exit::Code(0));
    assert!(
        version.output().iter().any(|l| l.starts_with("fixture ")),
        "{}",
        version.transcript()
    );
}
