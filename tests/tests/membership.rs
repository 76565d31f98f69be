//! Subsystems added and removed while a real daemon runs: added through its handle, removed
//! through its handle and through `ctl stop-subsystem`, seen in `/status` and `/metrics`.

use std::process::Command;

use tests::{Exit, Process, http_get, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

/// The subsystem names in `/status`.
fn names_in_status(address: &str) -> Vec<String> {
    let (code, body) = http_get(address, "/status");
    assert_eq!(code, 200, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    status["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Whether `/metrics` has a series labelled `subsystem="name"`.
fn has_series(address: &str, name: &str) -> bool {
    let (code, body) = http_get(address, "/metrics");
    assert_eq!(code, 200, "{body}");
    body.contains(&format!("subsystem=\"{name}\""))
}

#[test]
fn subsystems_added_and_removed_at_run_time_show_in_status_and_metrics() {
    let dir = scratch_dir("membership");
    let socket = dir.join("tenants.sock");
    let trigger = dir.join("remove-tenant-2");
    let env = [
        ("DAEMON_ADMIN_BIND", "127.0.0.1:0"),
        ("DAEMON_IPC_ENABLED", "true"),
        ("DAEMON_IPC_SOCKET", socket.to_str().unwrap()),
    ];
    let mut daemon = Process::start(
        FIXTURE,
        &["tenants", &format!("remove_when={}", trigger.display())],
        &env,
    );
    let line = daemon.wait_for("admin endpoint listening on http://");
    let address = line.rsplit("http://").next().unwrap().trim().to_owned();
    daemon.wait_for("tenant-1: running");
    daemon.wait_for("tenant-2: running");
    daemon.wait_for(
        "manager: adding tenant-1 again: subsystem `tenant-1` cannot be added: a subsystem of that name is already running",
    );
    assert_eq!(
        names_in_status(&address),
        ["manager", "tenant-1", "tenant-2"]
    );
    assert!(has_series(&address, "tenant-1") && has_series(&address, "tenant-2"));
    let (code, _) = http_get(&address, "/readyz");
    assert_eq!(code, 200);

    // Through the handle, from inside the daemon.
    std::fs::write(&trigger, "").unwrap();
    daemon.wait_for("manager: tenant-2 removed, stopped");
    daemon.wait_for("tenant-2: cancelled");
    daemon.wait_for("removed subsystem `tenant-2` (stopped)");
    assert_eq!(names_in_status(&address), ["manager", "tenant-1"]);
    assert!(!has_series(&address, "tenant-2"));

    // Through the control socket.
    let ctl = |args: &[&str]| {
        Command::new(FIXTURE)
            .arg("ctl")
            .args(args)
            .envs(env)
            .output()
            .unwrap()
    };
    let stopped = ctl(&["stop-subsystem", "tenant-1"]);
    assert_eq!(
        String::from_utf8_lossy(&stopped.stdout).trim(),
        "ok: `tenant-1` removed, stopped",
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    assert!(stopped.status.success());
    daemon.wait_for("tenant-1: cancelled");
    assert_eq!(names_in_status(&address), ["manager"]);
    assert!(!has_series(&address, "tenant-1"));
    assert!(has_series(&address, "manager"));

    let unknown = ctl(&["stop-subsystem", "tenant-9"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr).trim(),
        "fixture: error: subsystem `tenant-9` cannot be removed: no subsystem of that name is running"
    );
    let nameless = ctl(&["stop-subsystem"]);
    assert_eq!(nameless.status.code(), Some(64), "{nameless:?}");
    assert!(
        String::from_utf8_lossy(&nameless.stderr)
            .contains("ctl stop-subsystem needs a subsystem's name"),
        "{nameless:?}"
    );

    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}
