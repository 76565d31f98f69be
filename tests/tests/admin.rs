//! The admin endpoint of a running daemon, spoken to over plain TCP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tests::{Exit, PATIENCE, Process, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

/// Starts the fixture with the admin endpoint on a free port; returns it and the address.
fn start(args: &[&str], env: &[(&str, &str)]) -> (Process, String) {
    let mut all_env = vec![("DAEMON_ADMIN_BIND", "127.0.0.1:0")];
    all_env.extend_from_slice(env);
    let mut daemon = Process::start(FIXTURE, args, &all_env);
    let line = daemon.wait_for("admin endpoint listening on http://");
    let address = line.rsplit("http://").next().unwrap().trim().to_owned();
    (daemon, address)
}

/// One response: status code and body.
fn read_response(reader: &mut BufReader<TcpStream>) -> (u16, String) {
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let code = status
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        if header.trim().is_empty() {
            break;
        }
        if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (code, String::from_utf8(body).unwrap())
}

fn connect(address: &str) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    BufReader::new(stream)
}

fn send(connection: &mut BufReader<TcpStream>, raw: &str) -> (u16, String) {
    connection.get_mut().write_all(raw.as_bytes()).unwrap();
    read_response(connection)
}

fn get(address: &str, path: &str) -> (u16, String) {
    send(
        &mut connect(address),
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"),
    )
}

#[test]
fn probes_status_and_metrics() {
    let (mut daemon, address) = start(&["idle", "count=2"], &[]);
    daemon.wait_for("all 2 subsystem(s) are running");

    assert_eq!(get(&address, "/healthz"), (200, "ok\n".to_owned()));
    assert_eq!(get(&address, "/readyz"), (200, "ready\n".to_owned()));

    let (code, body) = get(&address, "/status");
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status["name"], "fixture");
    assert_eq!(status["ready"], true);
    assert_eq!(status["config_source"], "defaults and environment");
    assert_eq!(status["subsystems"][0]["name"], "idle0");
    assert_eq!(status["subsystems"][1]["state"], "running");
    assert_eq!(status["subsystems"][1]["restarts"], 0);

    let (code, body) = get(&address, "/metrics");
    assert_eq!(code, 200);
    let lines = body.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text format");
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{body}"))
    };
    assert_eq!(
        value(
            "proc_daemon_subsystem_state",
            &[("subsystem", "idle0"), ("state", "running")]
        ),
        1.0
    );
    assert_eq!(
        value(
            "proc_daemon_subsystem_state",
            &[("subsystem", "idle0"), ("state", "failed")]
        ),
        0.0
    );
    assert_eq!(
        value(
            "proc_daemon_subsystem_restarts_total",
            &[("subsystem", "idle1")]
        ),
        0.0
    );
    assert_eq!(value("proc_daemon_ready", &[]), 1.0);
    assert!(value("process_resident_memory_bytes", &[]) > 1_000_000.0);
    assert!(value("process_open_fds", &[]) >= 3.0);
    assert!(value("process_threads", &[]) >= 2.0);

    assert_eq!(get(&address, "/nope").0, 404);
    let mut connection = connect(&address);
    assert_eq!(
        send(
            &mut connection,
            "POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        )
        .0,
        405
    );

    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}

#[test]
fn malformed_and_oversized_requests_get_4xx_and_change_nothing() {
    let (mut daemon, address) = start(&["idle", "count=1"], &[]);
    daemon.wait_for("all 1 subsystem(s) are running");
    assert_eq!(send(&mut connect(&address), "NONSENSE\r\n\r\n").0, 400);
    let huge = format!(
        "GET /status HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let mut connection = connect(&address);
    let _ = connection.get_mut().write_all(huge.as_bytes());
    let (code, _) = read_response(&mut connection);
    assert_eq!(code, 431, "headers over 16 KiB");
    assert_eq!(get(&address, "/healthz").0, 200);
    daemon.drain();
    assert_eq!(daemon.count("idle0: cancelled"), 0);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn readyz_flips_at_shutdown_start_and_new_connections_are_refused() {
    let (mut daemon, address) = start(
        &["slow-stop"],
        &[
            ("DAEMON_SHUTDOWN_TIMEOUT_MS", "60000"),
            ("DAEMON_SHUTDOWN_FORCE_TIMEOUT_MS", "60000"),
            ("DAEMON_SHUTDOWN_KILL_TIMEOUT_MS", "60000"),
        ],
    );
    daemon.wait_for("all 1 subsystem(s) are running");
    let mut kept_alive = connect(&address);
    let request = "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_eq!(send(&mut kept_alive, request), (200, "ready\n".to_owned()));
    daemon.signal(libc::SIGTERM);
    daemon.wait_for("slow: cleaning up");
    assert_eq!(
        send(&mut kept_alive, request),
        (503, "not ready: shutting down\n".to_owned())
    );
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(&address).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting after shutdown began"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(143));
}

#[test]
fn readyz_is_503_while_a_critical_subsystem_is_down() {
    let (mut daemon, address) = start(
        &[
            "runs",
            "policy=backoff",
            "fail=100000",
            "max_restarts=100000",
        ],
        &[],
    );
    daemon.wait_for("restarting subsystem `flaky`");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (code, body) = get(&address, "/readyz");
        // (Right at start-up the reason may still be "starting".)
        if code == 503 && body.starts_with("not ready: critical subsystem `flaky` is ") {
            break;
        }
        assert!(code == 503 || code == 200, "{code} {body}");
        assert!(
            Instant::now() < deadline,
            "never 503 while `flaky` keeps failing"
        );
    }
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn status_and_metrics_show_a_health_check_restart() {
    let dir = scratch_dir("admin-health");
    let flag = dir.join("unhealthy");
    let flag_arg = format!("unhealthy_when={}", flag.display());
    let (mut daemon, address) = start(
        &["health", &flag_arg, "recover_on_restart=1"],
        &[("DAEMON_MONITORING_HEALTH_CHECK_FAILURES", "2")],
    );
    daemon.wait_for("checked: run 1");
    std::fs::write(&flag, "").unwrap();
    daemon.wait_for("checked: cancelled in run 1");
    daemon.wait_for("checked: run 2");
    let (_, body) = get(&address, "/status");
    let status: serde_json::Value = serde_json::from_str(&body).unwrap();
    let checked = status["subsystems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "checked")
        .unwrap()
        .clone();
    assert_eq!(checked["restarts"], 1, "{body}");
    assert!(
        checked["health_check_failures"].as_u64().unwrap() >= 2,
        "{body}"
    );
    assert_eq!(
        checked["last_error"],
        "unhealthy: 2 consecutive health checks failed"
    );
    let (_, metrics) = get(&address, "/metrics");
    assert!(
        metrics.contains("proc_daemon_subsystem_restarts_total{subsystem=\"checked\"} 1"),
        "{metrics}"
    );
    assert_eq!(get(&address, "/healthz").0, 200);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn a_port_in_use_stops_start_up_with_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let mut daemon = Process::start(FIXTURE, &["idle"], &[("DAEMON_ADMIN_BIND", &address)]);
    assert_eq!(daemon.wait_exit(), Exit::Code(1));
    daemon.wait_for(&format!(
        "admin endpoint: cannot listen on {address}: Address already in use"
    ));
    assert_eq!(daemon.count("idle0: running"), 0);
}

#[test]
fn resource_tracking_adds_cpu_percent_only_when_on() {
    let (mut daemon, address) = start(
        &["idle", "count=1"],
        &[
            ("DAEMON_MONITORING_TRACK_RESOURCES", "true"),
            ("DAEMON_MONITORING_METRICS_INTERVAL_MS", "50"),
        ],
    );
    daemon.wait_for("all 1 subsystem(s) are running");
    let (_, metrics) = get(&address, "/metrics");
    assert!(
        metrics.contains("\nproc_daemon_process_cpu_percent "),
        "{metrics}"
    );
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));

    let (mut daemon, address) = start(&["idle", "count=1"], &[]);
    daemon.wait_for("all 1 subsystem(s) are running");
    let (_, metrics) = get(&address, "/metrics");
    assert!(
        !metrics.contains("proc_daemon_process_cpu_percent"),
        "{metrics}"
    );
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn a_subsystem_can_hold_readiness_until_its_set_up_is_done() {
    let dir = scratch_dir("hold-ready");
    let flag = dir.join("bound");
    let (mut daemon, address) = start(
        &["hold-ready"],
        &[("FIXTURE_READY_FLAG", flag.to_str().unwrap())],
    );
    daemon.wait_for("binder: binding");
    assert_eq!(
        get(&address, "/readyz"),
        (
            503,
            "not ready: subsystem `slow_binder` is not ready yet\n".to_owned()
        )
    );
    daemon.drain();
    assert_eq!(
        daemon.count("all 1 subsystem(s) are running"),
        0,
        "start-up completed too early"
    );
    std::fs::write(&flag, "").unwrap();
    daemon.wait_for("binder: ready");
    daemon.wait_for("all 1 subsystem(s) are running");
    assert_eq!(get(&address, "/readyz").0, 200);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn metrics_can_be_turned_off_and_back_on_by_reload() {
    let dir = scratch_dir("metrics-off");
    let config = dir.join("daemon.toml");
    std::fs::write(&config, "[monitoring]\nenable_metrics = false\n").unwrap();
    let (mut daemon, address) = start(
        &["idle", "count=1", "--config", config.to_str().unwrap()],
        &[],
    );
    daemon.wait_for("all 1 subsystem(s) are running");
    assert_eq!(
        get(&address, "/metrics"),
        (
            404,
            "metrics are turned off (monitoring.enable_metrics = false)\n".to_owned()
        )
    );
    std::fs::write(&config, "[monitoring]\nenable_metrics = true\n").unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_for("configuration reloaded from");
    assert_eq!(get(&address, "/metrics").0, 200);
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}

/// The raw body of `GET path` (binary-safe), with the status code.
#[cfg(feature = "profiling")]
fn get_bytes(address: &str, path: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, response[split + 4..].to_vec())
}

#[cfg(feature = "profiling")]
#[test]
fn a_cpu_profile_over_http_parses_as_pprof_and_one_runs_at_a_time() {
    use pprof::protos::Message as _;

    let (mut daemon, address) = start(&["idle"], &[]);
    daemon.wait_for("all 2 subsystem(s) are running");
    for bad in ["seconds=0", "seconds=26", "seconds=soon"] {
        let (code, body) = get_bytes(&address, &format!("/debug/pprof/profile?{bad}"));
        assert_eq!(code, 400, "{bad}");
        assert!(
            String::from_utf8_lossy(&body).contains("seconds must be a whole number from 1 to 25"),
            "{bad}"
        );
    }
    let first = {
        let address = address.clone();
        std::thread::spawn(move || get_bytes(&address, "/debug/pprof/profile?seconds=1"))
    };
    daemon.wait_for("admin endpoint: taking a CPU profile of 1 s");
    let (code, body) = get_bytes(&address, "/debug/pprof/profile?seconds=1");
    assert_eq!(code, 409);
    assert!(
        String::from_utf8_lossy(&body).contains("another profile is already running"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (code, body) = first.join().unwrap();
    assert_eq!(code, 200);
    let profile = pprof::protos::Profile::decode(body.as_slice()).expect("pprof protobuf");
    // An idle daemon may not be sampled at all in a second; the profile still describes
    // itself: its sampling period and the time it covers.
    assert!(
        profile.period > 0 && profile.duration_nanos >= 1_000_000_000,
        "{profile:?}"
    );
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}

#[cfg(feature = "profiling")]
fn resident_kib(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[cfg(feature = "profiling")]
#[test]
fn cpu_profiles_do_not_pile_up_memory() {
    let (mut daemon, address) = start(&["idle"], &[]);
    daemon.wait_for("all 2 subsystem(s) are running");
    let profile = || {
        let (code, _) = get_bytes(&address, "/debug/pprof/profile?seconds=1");
        assert_eq!(code, 200);
    };
    // The first profile leaves pprof's sample table behind for the life of the process; each
    // later one used to add another table and the symbol cache (about 70 MB each time).
    profile();
    let after_first = resident_kib(daemon.pid());
    profile();
    profile();
    let after_third = resident_kib(daemon.pid());
    assert!(
        after_third < after_first + 24 * 1024,
        "resident memory grew from {after_first} KiB to {after_third} KiB over two profiles"
    );
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}
