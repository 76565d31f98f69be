//! The floor: bare tokio, N tasks awaiting one `CancellationToken`, a `TaskTracker`, a SIGTERM
//! listener. What a careful hand-written daemon costs.

use std::sync::Arc;

use bench::Readiness;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[tokio::main]
async fn main() {
    let n = bench::count_from_args();
    let mut sigterm = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let ready = Arc::new(Readiness::new(n));
    let token = CancellationToken::new();
    let tracker = TaskTracker::new();
    for _ in 0..n {
        let token = token.clone();
        let ready = ready.clone();
        tracker.spawn(async move {
            ready.started();
            token.cancelled().await;
        });
    }
    tracker.close();
    sigterm.recv().await;
    token.cancel();
    tracker.wait().await;
}
