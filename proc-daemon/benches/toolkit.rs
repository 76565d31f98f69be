//! The performance toolkit's costs: the high-resolution clock, the lock-free event queue and
//! the control socket. `cargo bench -p proc-daemon --bench toolkit --features full`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use proc_daemon::{Config, Daemon, SubsystemEvent, SubsystemState, coord::chan, timing};

fn clock(c: &mut Criterion) {
    let mut group = c.benchmark_group("clock");
    group.bench_function("timing::now (quanta)", |b| {
        b.iter(|| black_box(timing::now()))
    });
    group.bench_function("std::time::Instant::now", |b| {
        b.iter(|| black_box(Instant::now()));
    });
    group.finish();
}

const EVENTS: u64 = 10_000;

fn event() -> SubsystemEvent {
    let mut events = Vec::new();
    // SubsystemEvent is non-exhaustive: take one from a real queue.
    let daemon = Daemon::builder(Config::default()).with_task("once", |_s| async { Ok(()) });
    let handle = daemon.handle();
    handle.enable_events();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(daemon.run())
        .unwrap();
    while let Some(e) = handle.try_next_event() {
        events.push(e);
    }
    events
        .into_iter()
        .find(|e| e.state == SubsystemState::Running)
        .unwrap()
}

/// Sends `EVENTS` copies of `event` from a new thread through `send`; receives them all here.
fn across_threads<Tx: Send + 'static, Rx>(
    event: &SubsystemEvent,
    (tx, mut rx): (Tx, Rx),
    send: fn(&Tx, SubsystemEvent),
    mut receive: impl FnMut(&mut Rx) -> SubsystemEvent,
) {
    let sent = event.clone();
    let producer = std::thread::spawn(move || {
        for _ in 0..EVENTS {
            send(&tx, sent.clone());
        }
    });
    for _ in 0..EVENTS {
        black_box(receive(&mut rx));
    }
    producer.join().unwrap();
}

/// One thread sends `EVENTS` events, another receives them all.
fn events(c: &mut Criterion) {
    let template = event();
    let mut group = c.benchmark_group("events_between_two_threads");
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function("coord::chan (crossbeam)", |b| {
        b.iter(|| {
            across_threads(
                &template,
                chan::unbounded(),
                |tx, e| tx.send(e).unwrap(),
                |rx| rx.recv().unwrap(),
            );
        });
    });
    group.bench_function("std::sync::mpsc", |b| {
        b.iter(|| {
            across_threads(
                &template,
                std::sync::mpsc::channel(),
                |tx, e| tx.send(e).unwrap(),
                |rx| rx.recv().unwrap(),
            );
        });
    });
    // What `DaemonHandle::subscribe` uses: a lock per send, made for async receivers.
    group.bench_function("tokio::sync::broadcast", |b| {
        b.iter(|| {
            across_threads(
                &template,
                tokio::sync::broadcast::channel(usize::try_from(EVENTS).unwrap()),
                |tx, e| {
                    tx.send(e).unwrap();
                },
                |rx| rx.blocking_recv().unwrap(),
            );
        });
    });
    group.finish();
}

fn control_socket(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("proc-daemon-bench-ipc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("bench.sock");
    let mut config = Config::default();
    config.ipc.enabled = true;
    config.ipc.socket = Some(socket.clone());
    let daemon = Daemon::builder(config).with_task("idle", |shutdown| async move {
        shutdown.cancelled().await;
        Ok(())
    });
    let handle = daemon.handle();
    let server = std::thread::spawn(move || {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(daemon.run())
            .unwrap();
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while proc_daemon::ipc::request(&socket, "health").is_err() {
        assert!(
            Instant::now() < deadline,
            "the control socket never answered"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut group = c.benchmark_group("control_socket_round_trip");
    group.bench_function("status", |b| {
        b.iter(|| black_box(proc_daemon::ipc::request(&socket, "status").unwrap()));
    });
    group.bench_function("health", |b| {
        b.iter(|| black_box(proc_daemon::ipc::request(&socket, "health").unwrap()));
    });
    group.finish();
    handle.request_shutdown();
    server.join().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, clock, events, control_socket);
criterion_main!(benches);
