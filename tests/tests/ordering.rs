//! Dependency order between subsystems (`#[subsystem(after = [...])]`), seen from outside a real
//! process: the order and the timestamps of what its subsystems print, `/status` and `/readyz`
//! while one waits, the exit code of a daemon whose order cannot be satisfied.

use tests::{Exit, Process, http_get, scratch_dir};

const ORDERED: &str = env!("CARGO_BIN_EXE_ordered_fixture");
const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

/// The position of the first printed line containing `needle`, and the microseconds the
/// fixture stamped on it.
fn at(daemon: &Process, needle: &str) -> (usize, u64) {
    let (position, line) = daemon
        .output()
        .iter()
        .enumerate()
        .find(|(_, line)| line.contains(needle))
        .unwrap_or_else(|| panic!("no line contains {needle:?}:\n{}", daemon.transcript()));
    let micros = line
        .trim_start()
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .map(|(micros, _)| micros.trim().parse().unwrap())
        .unwrap_or_else(|| panic!("{line:?} has no timestamp"));
    (position, micros)
}

/// Asserts that `first` was printed before `then`, by position and by timestamp.
fn before(daemon: &Process, first: &str, then: &str) {
    let (a, a_micros) = at(daemon, first);
    let (b, b_micros) = at(daemon, then);
    assert!(
        a < b && a_micros <= b_micros,
        "expected {first:?} before {then:?}:\n{}",
        daemon.transcript()
    );
}

#[test]
fn a_dependent_starts_only_once_its_dependency_is_ready_and_status_says_why_it_waits() {
    let dir = scratch_dir("ordering_waits");
    let ready = dir.join("database-ready");
    let mut daemon = Process::start(
        ORDERED,
        &[],
        &[
            ("DAEMON_ADMIN_BIND", "127.0.0.1:0"),
            ("FIXTURE_DB_READY_FILE", ready.to_str().unwrap()),
        ],
    );
    let line = daemon.wait_for("admin endpoint listening on http://");
    let address = line.rsplit("http://").next().unwrap().trim().to_owned();
    daemon.wait_for("subsystem `api` waits for `database` to be ready");
    daemon.wait_for("subsystem `reports` waits for `database` to be ready");
    daemon.wait_for("database: run 1 starting");

    let (code, body) = http_get(&address, "/status");
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    let subsystem = |name: &str| {
        status["subsystems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {body}"))
            .clone()
    };
    assert_eq!(subsystem("api")["waiting_for"], "database", "{body}");
    assert_eq!(subsystem("reports")["waiting_for"], "database", "{body}");
    assert_eq!(
        subsystem("database")["waiting_for"],
        serde_json::Value::Null
    );
    assert_eq!(subsystem("database")["state"], "running", "{body}");
    assert_eq!(subsystem("api")["state"], "starting", "{body}");
    let (code, why) = http_get(&address, "/readyz");
    assert_eq!(code, 503, "{why}");
    assert!(
        why.contains("subsystem `api` is waiting for `database`"),
        "{why}"
    );
    assert_eq!(
        daemon.count("api: run 1 starting"),
        0,
        "{}",
        daemon.transcript()
    );

    std::fs::write(&ready, "").unwrap();
    daemon.wait_for("api: run 1 starting");
    daemon.wait_for("reports: starting");
    before(&daemon, "database: run 1 ready", "api: run 1 starting");
    before(&daemon, "database: run 1 ready", "reports: starting");
    let (code, _) = http_get(&address, "/readyz");
    assert_eq!(code, 200);
    let (_, body) = http_get(&address, "/status");
    assert!(!body.contains("\"waiting_for\":\"database\""), "{body}");

    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}

#[test]
fn on_sigterm_a_dependent_drains_before_its_dependency_sees_cancellation() {
    let mut daemon = Process::start(ORDERED, &[], &[]);
    daemon.wait_for("api: run 1 starting");
    daemon.wait_for("reports: starting");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    daemon.wait_for("in dependency order: each once what runs after it has stopped");
    before(&daemon, "api: run 1 cancelled", "api: run 1 drained");
    before(&daemon, "api: run 1 drained", "database: cancelled");
    before(&daemon, "reports: cancelled", "database: cancelled");
    // The drain takes 300 ms; the database is cancelled only after it.
    let (_, cancelled) = at(&daemon, "api: run 1 cancelled");
    let (_, database) = at(&daemon, "database: cancelled");
    assert!(
        database - cancelled >= 300_000,
        "the database was cancelled {} µs after the api: {}",
        database - cancelled,
        daemon.transcript()
    );
}

#[test]
fn a_dependency_crash_restarts_its_dependents_after_it_is_ready_again() {
    let mut daemon = Process::start(ORDERED, &[], &[("FIXTURE_DB_FAILS_ONCE", "1")]);
    daemon.wait_for("api: run 2 starting");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    before(&daemon, "database: run 1 fails", "api: run 1 cancelled");
    before(&daemon, "api: run 1 cancelled", "database: run 2 ready");
    before(&daemon, "database: run 2 ready", "api: run 2 starting");
    daemon.wait_for(
        "restarting subsystem `api` (restart 1) because `database`, which it runs after, restarts",
    );
    // `reports` opted out: its one run lasted through the database's restart.
    assert_eq!(
        daemon.count("reports: starting"),
        1,
        "{}",
        daemon.transcript()
    );
}

#[test]
fn a_cycle_stops_the_start_with_78_naming_it() {
    let mut daemon = Process::start(
        FIXTURE,
        &["dependencies", "depends=web>api,api>db,db>web"],
        &[],
    );
    daemon.expect_exit(Exit::Code(78));
    daemon.wait_for(
        "error: invalid configuration: subsystems depend on each other in a cycle: `web` → `api` → `db` → `web`",
    );
    assert_eq!(daemon.count(": running"), 0, "{}", daemon.transcript());
}

#[test]
fn an_unknown_dependency_stops_the_start_with_78_naming_it() {
    let mut daemon = Process::start(FIXTURE, &["dependencies", "depends=web>dbx"], &[]);
    daemon.expect_exit(Exit::Code(78));
    daemon.wait_for(
        "error: invalid configuration: subsystem `web` runs after `dbx`, which is not a subsystem of this daemon",
    );
}
