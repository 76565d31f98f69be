//! Typed `[app]` settings, `#[daemon(app = Settings)]`, as users meet them: at `--check-config`,
//! at start and at reload.

use tests::{Exit, Process, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_app_fixture");

#[test]
fn a_bad_app_table_is_a_configuration_error_everywhere() {
    let dir = scratch_dir("app-settings");
    let config = dir.join("daemon.toml");
    let path = config.to_str().unwrap();
    let expected = format!("{path}: app.port: invalid type: string \"high\", expected u16");
    std::fs::write(&config, "[app]\nport = \"high\"\n").unwrap();

    let mut check = Process::start(FIXTURE, &["--check-config", "--config", path], &[]);
    assert_eq!(check.wait_exit(), Exit::Code(78), "{}", check.transcript());
    assert_eq!(check.count(&expected), 1, "{}", check.transcript());

    let mut start = Process::start(FIXTURE, &["--config", path], &[]);
    assert_eq!(start.wait_exit(), Exit::Code(78), "{}", start.transcript());
    assert_eq!(start.count(&expected), 1, "{}", start.transcript());

    std::fs::write(&config, "[app]\nport = 8080\n").unwrap();
    let mut daemon = Process::start(FIXTURE, &["--config", path], &[]);
    daemon.wait_for("server: port 8080");
    std::fs::write(&config, "[app]\nport = \"high\"\n").unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_for("configuration reload (SIGHUP) failed; keeping the previous configuration");
    daemon.wait_for(&expected);
    std::fs::write(&config, "[app]\nport = 9090\n").unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_for("server: port 9090");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0), "{}", daemon.transcript());
}
