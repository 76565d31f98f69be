//! The floor: bare tokio with a `CancellationToken`, a `TaskTracker` and a SIGTERM listener —
//! what a careful hand-written daemon costs — running a benchmark workload (`idle N`,
//! `restart`, `cleanup`; see the `bench` library).

use std::sync::Arc;

use bench_workload::{CLEANUP, Readiness, Workload};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[tokio::main]
async fn main() {
    let workload = Workload::from_args();
    let mut sigterm = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let ready = Arc::new(Readiness::new(workload.subsystems()));
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    match workload {
        Workload::Idle(n) => {
            for _ in 0..n {
                let token = token.clone();
                let ready = ready.clone();
                tracker.spawn(async move {
                    ready.started();
                    token.cancelled().await;
                });
            }
        }
        // Workers spawned by a first task once it runs, each with a token of its own so that
        // one can be stopped alone (what removing a subsystem needs).
        Workload::Added(n) => {
            let token = token.clone();
            let ready = ready.clone();
            let spawner = tracker.clone();
            tracker.spawn(async move {
                for _ in 0..n {
                    let own = token.child_token();
                    let ready = ready.clone();
                    spawner.spawn(async move {
                        ready.started();
                        own.cancelled().await;
                    });
                }
                token.cancelled().await;
            });
        }
        // A supervisor loop by hand: run the task, and when it fails run it again.
        Workload::Restart => {
            let token = token.clone();
            let ready = ready.clone();
            tracker.spawn(async move {
                while !token.is_cancelled() {
                    let ready = ready.clone();
                    let run = tokio::spawn(async move {
                        ready.started();
                        Err::<(), &str>("failing on purpose")
                    });
                    let _ = std::hint::black_box(run.await);
                }
            });
        }
        Workload::Cleanup => {
            let token = token.clone();
            let ready = ready.clone();
            tracker.spawn(async move {
                ready.started();
                token.cancelled().await;
                tokio::time::sleep(CLEANUP).await;
            });
        }
    }
    tracker.close();
    sigterm.recv().await;
    token.cancel();
    tracker.wait().await;
    ready.report_runs();
}
