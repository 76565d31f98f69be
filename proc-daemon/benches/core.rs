//! Micro-costs of the runtime core. `cargo bench -p proc-daemon --bench core`
//!
//! Each benchmark mirrors one of the published `proc-daemon` crate's own, so the numbers can be
//! set side by side (see `docs/PERFORMANCE.md`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use proc_daemon::{Config, Daemon, Error, LogLevel, ShutdownHandle};

fn quiet_config() -> Config {
    Config::builder()
        .name("bench")
        .log_level(LogLevel::Error)
        .build()
        .unwrap()
}

async fn idle(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
    shutdown.cancelled().await;
    Ok(())
}

fn core(c: &mut Criterion) {
    let config = quiet_config();

    c.bench_function("daemon_creation", |b| {
        b.iter(|| black_box(Daemon::builder(black_box(config.clone()))));
    });

    c.bench_function("register_3_subsystems", |b| {
        b.iter_batched(
            || Daemon::builder(config.clone()),
            |builder| {
                black_box(
                    builder
                        .with_subsystem_fn("a", idle)
                        .with_subsystem_fn("b", idle)
                        .with_subsystem_fn("c", idle),
                )
            },
            criterion::BatchSize::SmallInput,
        );
    });

    c.bench_function("config_build", |b| {
        b.iter(|| {
            black_box(
                Config::builder()
                    .name(black_box("bench"))
                    .log_level(LogLevel::Info)
                    .build()
                    .unwrap(),
            )
        });
    });

    c.bench_function("error_creation", |b| {
        b.iter(|| black_box(Error::config(black_box("shutdown.timeout_ms must be > 0"))));
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    proc_daemon::logging::init(&config);
    c.bench_function("shutdown_cycle_1_subsystem", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let (started, running) = tokio::sync::oneshot::channel::<()>();
                let started = std::sync::Mutex::new(Some(started));
                let builder =
                    Daemon::builder(config.clone()).with_subsystem_fn("worker", move |shutdown| {
                        if let Some(started) = started.lock().unwrap().take() {
                            let _ = started.send(());
                        }
                        idle(shutdown)
                    });
                let handle = builder.handle();
                let daemon = tokio::spawn(builder.run());
                running.await.unwrap();
                handle.request_shutdown();
                daemon.await.unwrap().unwrap();
            });
        });
    });

    // The same cycle by hand, on the same runtime: what a careful hand-written daemon's
    // shutdown costs (one task, a `CancellationToken`, a `TaskTracker`), as the floor.
    c.bench_function("shutdown_cycle_1_task_floor", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let (started, running) = tokio::sync::oneshot::channel::<()>();
                let token = tokio_util::sync::CancellationToken::new();
                let tracker = tokio_util::task::TaskTracker::new();
                let daemon = {
                    let (token, tracker) = (token.clone(), tracker.clone());
                    tokio::spawn(async move {
                        let worker = token.clone();
                        tracker.spawn(async move {
                            let _ = started.send(());
                            worker.cancelled().await;
                        });
                        tracker.close();
                        tracker.wait().await;
                    })
                };
                running.await.unwrap();
                token.cancel();
                daemon.await.unwrap();
                black_box(tracker.is_empty())
            });
        });
    });
}

criterion_group!(benches, core);
criterion_main!(benches);
