//! The `simple` example written with `#[tokio::main]` and `tokio-util` instead of proc-daemon,
//! to compare build times (docs/PERFORMANCE.md): one worker loop stopped by SIGTERM or Ctrl-C.

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

async fn worker(shutdown: CancellationToken) {
    println!("worker: started");
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut count = 0u64;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => count += 1,
        }
    }
    println!("worker: shutdown requested after {count} ticks; stopped");
}

#[tokio::main]
async fn main() {
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut interrupt = signal(SignalKind::interrupt()).expect("SIGINT handler");
    let token = CancellationToken::new();
    let worker = tokio::spawn(worker(token.clone()));
    tokio::select! {
        _ = terminate.recv() => {}
        _ = interrupt.recv() => {}
    }
    token.cancel();
    let _ = worker.await;
}
