//! The daemon speaks systemd's notify protocol to a socket that plays systemd.

use std::time::{Duration, Instant};

use tests::systemd::FakeSystemd;
use tests::{Exit, Process, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

#[test]
fn ready_watchdog_reload_and_stopping_in_order() {
    let (mut systemd, socket) = FakeSystemd::bind("systemd-sequence");
    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "count=2"],
        &[("NOTIFY_SOCKET", &socket), ("WATCHDOG_USEC", "200000")],
    );

    let ready = systemd.next_event(&mut daemon);
    assert!(
        ready.starts_with("READY=1\nSTATUS=running 2 subsystem(s)"),
        "{ready}"
    );
    // READY=1 is sent once both runs have started (their own first lines may follow it).
    daemon.wait_for("idle0: running");
    daemon.wait_for("idle1: running");

    // WATCHDOG_USEC = 200 ms: a ping every 100 ms. Generous bounds: five pings neither
    // flooding (< 40 ms apart on average) nor starving (200 ms apart would let systemd's
    // watchdog fire).
    while systemd.pings().len() < 6 {
        systemd.receive(&mut daemon);
    }
    let pings = systemd.pings();
    let average = (pings[5] - pings[0]) / 5;
    assert!(
        average >= Duration::from_millis(40),
        "pinging too fast: {average:?}"
    );
    assert!(
        average < Duration::from_millis(200),
        "pinging too slowly for WATCHDOG_USEC=200000: {average:?}"
    );

    daemon.signal(libc::SIGHUP);
    let reloading = systemd.next_event(&mut daemon);
    let lines: Vec<&str> = reloading.lines().collect();
    assert_eq!(lines[0], "RELOADING=1", "{reloading}");
    let usec: u64 = lines[1]
        .strip_prefix("MONOTONIC_USEC=")
        .expect("MONOTONIC_USEC")
        .parse()
        .unwrap();
    assert!(usec > 0);
    let ready_again = systemd.next_event(&mut daemon);
    assert!(
        ready_again.starts_with("READY=1\nSTATUS=running; configuration reloaded"),
        "{ready_again}"
    );

    daemon.signal(libc::SIGTERM);
    let stopping = systemd.next_event(&mut daemon);
    // The default kill deadline, 15 s, so systemd waits for the daemon's own deadlines.
    assert_eq!(
        stopping,
        "STOPPING=1\nEXTEND_TIMEOUT_USEC=15000000\nSTATUS=stopping: received SIGTERM"
    );
    daemon.expect_exit(Exit::Code(0));
}

#[test]
fn a_failed_reload_still_reports_ready_with_the_error() {
    let (mut systemd, socket) = FakeSystemd::bind("systemd-failed-reload");
    let dir = scratch_dir("systemd-failed-reload-config");
    let config = dir.join("daemon.toml");
    std::fs::write(&config, "[shutdown]\ntimeout_ms = 1000\n").unwrap();
    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "count=1", "--config", config.to_str().unwrap()],
        &[("NOTIFY_SOCKET", &socket)],
    );
    assert!(systemd.next_event(&mut daemon).starts_with("READY=1"));
    std::fs::write(&config, "[shutdown]\ntimeout_ms = \"x\"\n").unwrap();
    daemon.signal(libc::SIGHUP);
    assert!(systemd.next_event(&mut daemon).starts_with("RELOADING=1"));
    let ready = systemd.next_event(&mut daemon);
    assert!(
        ready.starts_with("READY=1\nSTATUS=running; configuration reload failed:"),
        "{ready}"
    );
    assert!(ready.contains("shutdown.timeout_ms"), "{ready}");
    daemon.signal(libc::SIGTERM);
    assert!(systemd.next_event(&mut daemon).starts_with("STOPPING=1"));
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn the_watchdog_of_another_process_is_not_pinged() {
    let (mut systemd, socket) = FakeSystemd::bind("systemd-other-pid");
    let mut daemon = Process::start(
        FIXTURE,
        &["health", "unhealthy_when=/nonexistent", "interval_ms=10000"],
        &[
            ("NOTIFY_SOCKET", &socket),
            ("WATCHDOG_USEC", "20000"),
            ("WATCHDOG_PID", "1"),
        ],
    );
    assert!(systemd.next_event(&mut daemon).starts_with("READY=1"));
    // With pings every 10 ms, 30 ticks of 10 ms would bring many; none may come.
    daemon.wait_for("ticker: tick 30");
    daemon.signal(libc::SIGTERM);
    assert!(systemd.next_event(&mut daemon).starts_with("STOPPING=1"));
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
    assert!(systemd.pings().is_empty(), "{:?}", systemd.seen);
}

#[test]
fn a_wedged_runtime_stops_the_watchdog_pings() {
    let (mut systemd, socket) = FakeSystemd::bind("systemd-wedged");
    let mut daemon = Process::start(
        FIXTURE,
        &["blocking"],
        &[
            ("NOTIFY_SOCKET", &socket),
            ("WATCHDOG_USEC", "200000"),
            // The blocking subsystem takes the only worker: nothing else on the runtime runs.
            ("DAEMON_PERFORMANCE_WORKER_THREADS", "1"),
        ],
    );
    assert!(systemd.next_event(&mut daemon).starts_with("READY=1"));
    // Pings are due every 100 ms; over a full second none may arrive, so systemd's watchdog
    // (WatchdogSec) would restart the service.
    systemd
        .socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut buffer = [0u8; 256];
    let listening = Instant::now();
    let pings_after_ready: Vec<String> = std::iter::from_fn(|| {
        (listening.elapsed() < Duration::from_secs(3))
            .then(|| systemd.socket.recv(&mut buffer).ok())
            .flatten()
            .map(|n| String::from_utf8_lossy(&buffer[..n]).into_owned())
    })
    .collect();
    assert!(
        pings_after_ready.len() <= 1,
        "a wedged runtime kept pinging: {pings_after_ready:?}"
    );
    drop(daemon);
}
