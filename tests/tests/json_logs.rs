//! `logging.json`: one JSON object per line with the `json-logs` feature; without it, a clear
//! configuration error rather than silently writing text.

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
