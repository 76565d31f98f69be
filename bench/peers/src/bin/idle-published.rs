//! The published proc-daemon 1.x with N idle tasks; prints `ready` once all have run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .expect("N");
    let started = Arc::new(AtomicUsize::new(0));
    let config = published::Config::builder()
        .name("idle-published")
        .log_level(published::LogLevel::Warn)
        .build()
        .expect("config");
    let mut builder = published::Daemon::builder(config);
    for i in 0..n {
        let started = started.clone();
        builder = builder.with_task(&format!("idle-{i}"), move |mut shutdown| {
            let started = started.clone();
            async move {
                if started.fetch_add(1, Ordering::AcqRel) + 1 == n {
                    println!("ready");
                }
                shutdown.cancelled().await;
                Ok(())
            }
        });
    }
    builder.run().await.expect("clean shutdown");
}
