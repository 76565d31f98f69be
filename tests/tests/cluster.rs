//! Replicas coordinated through a real etcd (`[cluster]`): three replicas of a daemon with one
//! singleton and one ordinary subsystem; the singleton runs on exactly one of them at every
//! sampled moment, moves when its replica is killed, is stopped by a leader that loses etcd
//! before its lease could expire (and still runs on one replica only when etcd returns), and
//! moves at once when its replica stops.

use std::time::{Duration, Instant};

use tests::{Exit, PATIENCE, Process, http_get, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");
const LEASE_MS: u64 = 3000;

/// etcd from Debian's `etcd-server` (`.ci/run` installs it). Without it the test is skipped,
/// unless `PROC_DAEMON_TESTS_AS_ROOT` says this is CI, where a skip would hide it.
fn etcd_binary() -> Option<&'static str> {
    if std::path::Path::new("/usr/bin/etcd").exists() {
        return Some("/usr/bin/etcd");
    }
    assert!(
        std::env::var_os("PROC_DAEMON_TESTS_AS_ROOT").is_none(),
        "etcd is not installed (.ci/run installs Debian's etcd-server)"
    );
    eprintln!("skipped: etcd is not installed (apt-get install etcd-server)");
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private etcd on 127.0.0.1; its client URL.
fn start_etcd(binary: &str, dir: &std::path::Path) -> (Process, String) {
    let client = format!("http://127.0.0.1:{}", free_port());
    let peer = format!("http://127.0.0.1:{}", free_port());
    let data = dir.join("etcd");
    let etcd = Process::start(
        binary,
        &[
            "--data-dir",
            &data.display().to_string(),
            "--listen-client-urls",
            &client,
            "--advertise-client-urls",
            &client,
            "--listen-peer-urls",
            &peer,
            "--initial-advertise-peer-urls",
            &peer,
            "--initial-cluster",
            &format!("default={peer}"),
        ],
        &[],
    );
    let mut etcd = etcd;
    etcd.wait_for("ready to serve client requests");
    (etcd, client)
}

struct Replica {
    process: Process,
    admin: String,
}

impl Replica {
    fn start(config: &str) -> Self {
        let mut process = Process::start(FIXTURE, &["replica"], &[("DAEMON_CONFIG", config)]);
        process.wait_for(&format!("worker: running on pid {}", process.pid()));
        let admin = process.wait_for_value("admin endpoint listening on http://");
        Self { process, admin }
    }

    fn status(&self) -> serde_json::Value {
        let (code, body) = http_get(&self.admin, "/status");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Whether its singleton runs now.
    fn runs_the_singleton(&self) -> bool {
        self.status()["subsystems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "scheduler" && s["state"] == "running")
    }
}

/// Waits until exactly one of `replicas` runs the singleton; its position.
fn leader_of(replicas: &[&Replica]) -> usize {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let running: Vec<usize> = (0..replicas.len())
            .filter(|&i| replicas[i].runs_the_singleton())
            .collect();
        assert!(
            running.len() <= 1,
            "two replicas run the singleton: {running:?}"
        );
        if let [leader] = running[..] {
            return leader;
        }
        assert!(Instant::now() < deadline, "no replica runs the singleton");
        // A sampling interval, not a synchronisation: each sample is checked on its own.
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Samples every 50 ms for `how_long`: never more than one replica runs the singleton.
fn never_two(replicas: &[&Replica], how_long: Duration) -> usize {
    let end = Instant::now() + how_long;
    let mut samples = 0;
    while Instant::now() < end {
        let running = replicas.iter().filter(|r| r.runs_the_singleton()).count();
        assert!(running <= 1, "{running} replicas run the singleton at once");
        samples += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
    samples
}

#[test]
fn exactly_one_replica_runs_the_singleton_and_it_moves_when_its_replica_goes() {
    let Some(binary) = etcd_binary() else { return };
    let dir = scratch_dir("cluster");
    let (etcd, endpoint) = start_etcd(binary, &dir);
    let config = dir.join("daemon.toml");
    std::fs::write(
        &config,
        format!(
            "[cluster]\nendpoints = [\"{endpoint}\"]\nlease_ttl_ms = {LEASE_MS}\n\n[admin]\nbind = \"127.0.0.1:0\"\n"
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let mut replicas: Vec<Replica> = (0..3).map(|_| Replica::start(&config)).collect();

    // Every replica is ready, leader or not; exactly one runs the singleton.
    let all: Vec<&Replica> = replicas.iter().collect();
    let first = leader_of(&all);
    for replica in &replicas {
        let (code, _) = http_get(&replica.admin, "/readyz");
        assert_eq!(code, 200);
    }
    let samples = never_two(&all, Duration::from_secs(2));
    assert!(samples >= 10);
    let leader_status = replicas[first].status();
    assert_eq!(
        leader_status["cluster"]["role"], "leader",
        "{leader_status}"
    );
    let token = leader_status["cluster"]["fencing_token"].as_u64().unwrap();
    replicas[first]
        .process
        .wait_for(&format!("(fencing token Some({token}))"));
    for (i, replica) in replicas.iter().enumerate().filter(|(i, _)| *i != first) {
        let status = replica.status();
        assert_eq!(
            status["cluster"]["role"], "follower",
            "replica {i}: {status}"
        );
        assert_eq!(
            status["cluster"]["leader"],
            leader_status["cluster"]["instance"]
        );
        let scheduler = status["subsystems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "scheduler")
            .unwrap()
            .clone();
        assert_eq!(scheduler["waiting_for"], "leadership", "{scheduler}");
    }
    let (_, metrics) = http_get(&replicas[first].admin, "/metrics");
    assert!(
        metrics.contains("proc_daemon_cluster_leader 1"),
        "{metrics}"
    );

    // Every replica's subsystems hear of the election: the leader that it leads, with its
    // token; the others who leads.
    let leader_name = leader_status["cluster"]["instance"]
        .as_str()
        .unwrap()
        .to_owned();
    replicas[first].process.wait_for(&format!(
        "leading=true leader=Some({leader_name:?}) token=Some({token}) reachable=true"
    ));
    for (_, replica) in replicas.iter_mut().enumerate().filter(|(i, _)| *i != first) {
        replica
            .process
            .wait_for(&format!("leading=false leader=Some({leader_name:?})"));
    }

    // SIGKILL: the lease runs out, and another replica takes over within it and a second.
    let mut killed = replicas.remove(first);
    let sent = Instant::now();
    killed.process.signal(libc::SIGKILL);
    assert_eq!(killed.process.wait_exit(), Exit::Signal(libc::SIGKILL));
    let rest: Vec<&Replica> = replicas.iter().collect();
    let second = leader_of(&rest);
    let takeover = sent.elapsed();
    eprintln!("takeover after SIGKILL of the leader: {takeover:?} (lease {LEASE_MS} ms)");
    assert!(
        takeover < Duration::from_millis(LEASE_MS) + Duration::from_secs(5),
        "{takeover:?}"
    );
    let new_token = replicas[second].status()["cluster"]["fencing_token"]
        .as_u64()
        .unwrap();
    assert!(
        new_token > token,
        "fencing tokens grow: {token} then {new_token}"
    );
    replicas[second]
        .process
        .wait_for(&format!("token=Some({new_token}) reachable=true"));

    // etcd stops answering: the leader cancels its singleton before its lease could expire.
    // When etcd answers again, one of the two leads, and at no sampled moment both.
    let pid = replicas[second].process.pid();
    replicas[second]
        .process
        .wait_for(&format!("scheduler: running on pid {pid}"));
    let frozen = Instant::now();
    etcd.signal(libc::SIGSTOP);
    replicas[second]
        .process
        .wait_for(&format!("scheduler: stopped on pid {pid}"));
    let stopped_after = frozen.elapsed();
    eprintln!(
        "singleton stopped {stopped_after:?} after etcd stopped answering (lease {LEASE_MS} ms)"
    );
    assert!(
        stopped_after < Duration::from_millis(LEASE_MS),
        "{stopped_after:?}"
    );
    replicas[second]
        .process
        .wait_for("stops leading: its lease could not be renewed");
    replicas[second]
        .process
        .wait_for(&format!("standing on pid {pid}: leading=false"));
    etcd.signal(libc::SIGCONT);
    let rest: Vec<&Replica> = replicas.iter().collect();
    let samples = never_two(&rest, Duration::from_millis(LEASE_MS + 1000));
    assert!(samples >= 10);
    let third = leader_of(&rest);

    // SIGTERM: the leader stops its singleton, then resigns; the other takes over at once.
    let mut stopped = replicas.remove(third);
    let sent = Instant::now();
    stopped.process.signal(libc::SIGTERM);
    stopped.process.expect_exit(Exit::Code(0));
    stopped.process.wait_for("resigned the leadership");
    let rest: Vec<&Replica> = replicas.iter().collect();
    leader_of(&rest);
    let takeover = sent.elapsed();
    eprintln!("takeover after SIGTERM of the leader: {takeover:?} (lease {LEASE_MS} ms)");
    assert!(takeover < Duration::from_millis(LEASE_MS), "{takeover:?}");
}

#[test]
fn an_unreachable_etcd_stops_the_start_naming_the_endpoints() {
    let dir = scratch_dir("cluster-unreachable");
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let config = dir.join("daemon.toml");
    std::fs::write(
        &config,
        format!("[cluster]\nendpoints = [\"{endpoint}\"]\nlease_ttl_ms = {LEASE_MS}\n"),
    )
    .unwrap();
    let config = config.display().to_string();
    let mut daemon = Process::start(FIXTURE, &["replica"], &[("DAEMON_CONFIG", &config)]);
    daemon.expect_exit(Exit::Code(1));
    daemon.wait_for(&format!(
        "error: cluster: etcd is unreachable at {endpoint}: "
    ));

    // With require_at_start = false it runs as a follower: ready, the singleton on standby.
    let mut daemon = Process::start(
        FIXTURE,
        &["replica"],
        &[
            ("DAEMON_CONFIG", &config),
            ("DAEMON_CLUSTER_REQUIRE_AT_START", "false"),
        ],
    );
    daemon.wait_for("following until it answers");
    daemon.wait_for(&format!("worker: running on pid {}", daemon.pid()));
    daemon.wait_for("subsystem `scheduler` is a singleton: it waits until this replica leads");
    let (exit, _) = daemon.signal_and_wait_exit(libc::SIGTERM);
    assert_eq!(exit, Exit::Code(0), "{}", daemon.transcript());
    assert_eq!(daemon.count("scheduler: running"), 0);
}
