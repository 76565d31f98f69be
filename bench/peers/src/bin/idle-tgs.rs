//! tokio-graceful-shutdown 0.20 with N idle subsystems; prints `ready` once all have run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .expect("N");
    let started = Arc::new(AtomicUsize::new(0));
    Toplevel::new(async move |s: &mut SubsystemHandle| {
        for i in 0..n {
            let started = started.clone();
            s.start(SubsystemBuilder::new(
                format!("idle-{i}"),
                async move |h: &mut SubsystemHandle| {
                    if started.fetch_add(1, Ordering::AcqRel) + 1 == n {
                        println!("ready");
                    }
                    h.on_shutdown_requested().await;
                    Ok::<(), std::convert::Infallible>(())
                },
            ));
        }
    })
    .catch_signals()
    .handle_shutdown_requests(Duration::from_secs(60))
    .await
    .expect("clean shutdown");
}
