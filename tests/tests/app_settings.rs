//! Typed `[app]` settings, `#[daemon(app = Settings)]`, as users meet them: at `--check-config`,
//! at start and at reload.

use tests::{Exit, Process, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_app_fixture");

#[test]
fn a_bad_app_table_is_a_configuration_error_everywhere() {
    let dir = scratch_dir("app-settings");
    let config = dir.join("daemon.toml");
    let path = config.to_str().unwrap();
    let expected = format!("{path}:3:8: app.port: invalid type: string \"high\", expected u16");
    std::fs::write(&config, "# the port\n[app]\nport = \"high\"\n").unwrap();

    let mut check = Process::start(FIXTURE, &["--check-config", "--config", path], &[]);
    check.expect_exit(Exit::Code(78));
    assert_eq!(check.count(&expected), 1, "{}", check.transcript());

    let mut start = Process::start(FIXTURE, &["--config", path], &[]);
    start.expect_exit(Exit::Code(78));
    assert_eq!(start.count(&expected), 1, "{}", start.transcript());

    std::fs::write(&config, "[app]\nport = 8080\n").unwrap();
    let mut daemon = Process::start(FIXTURE, &["--config", path], &[]);
    daemon.wait_for("server: port 8080");
    daemon.wait_for("banner: provided by the set-up");
    std::fs::write(&config, "# the port\n[app]\nport = \"high\"\n").unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_for("configuration reload (SIGHUP) failed; keeping the previous configuration");
    daemon.wait_for(&expected);
    std::fs::write(&config, "[app]\nport = 9090\n").unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_for("server: port 9090");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}

#[test]
fn a_bad_app_value_from_the_environment_names_the_variable() {
    let dir = scratch_dir("app-settings-env");
    let config = dir.join("daemon.toml");
    let path = config.to_str().unwrap();
    std::fs::write(&config, "[app]\nport = 8080\n").unwrap();
    let env = [("DAEMON_APP_PORT", "high")];
    let mut check = Process::start(FIXTURE, &["--check-config", "--config", path], &env);
    check.expect_exit(Exit::Code(78));
    let expected =
        "DAEMON_APP_PORT=\"high\": app.port: invalid type: string \"high\", expected u16";
    assert_eq!(check.count(expected), 1, "{}", check.transcript());
}

#[test]
fn a_missing_app_field_points_at_the_table() {
    let dir = scratch_dir("app-settings-missing");
    let config = dir.join("daemon.toml");
    let path = config.to_str().unwrap();
    std::fs::write(&config, "name = \"x\"\n\n[app]\nportt = 1\n").unwrap();
    let mut check = Process::start(FIXTURE, &["--check-config", "--config", path], &[]);
    check.expect_exit(Exit::Code(78));
    let expected = format!("{path}:3:1: app: missing field `port`");
    assert_eq!(check.count(&expected), 1, "{}", check.transcript());
}

#[test]
fn state_nobody_provided_stops_the_start_naming_the_type_and_the_subsystem() {
    let dir = scratch_dir("app-settings-state");
    let config = dir.join("daemon.toml");
    std::fs::write(&config, "[app]\nport = 8080\n").unwrap();
    let args = ["--config", config.to_str().unwrap()];
    let mut start = Process::start(FIXTURE, &args, &[("APP_FIXTURE_WITHOUT_STATE", "1")]);
    start.expect_exit(Exit::Code(1));
    let expected = "app-fixture: error: subsystem `banner` takes a `State<app_fixture::Banner>`, which the set-up did not provide; call `proc_daemon::provide(value)` in the set-up";
    assert_eq!(start.count(expected), 1, "{}", start.transcript());
    assert_eq!(
        start.count("server: port"),
        0,
        "nothing starts: {}",
        start.transcript()
    );
}
