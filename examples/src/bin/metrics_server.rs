// A daemon that exposes its probes and metrics on the admin endpoint: `/healthz`, `/readyz`,
// `/status`, `/metrics`. `deploy/` has a matching systemd unit (`Type=notify-reload`, watchdog)
// and Kubernetes manifest (probes, grace period).
//
// ```text
// cargo run -p examples --bin metrics_server
// curl -s localhost:9090/metrics
// ```

use std::io::Write as _; // writeln! to a closed stdout returns an error; println! would panic
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use proc_daemon::{Context, daemon, subsystem};

static PROCESSED: AtomicU64 = AtomicU64::new(0);
static PROCESSED_AT_LAST_CHECK: AtomicU64 = AtomicU64::new(0);

#[derive(serde::Deserialize)]
struct App {
    batch_size: u64,
}

/// Healthy while the worker has processed something since the previous check.
fn making_progress() -> bool {
    let processed = PROCESSED.load(Ordering::Relaxed);
    let previous = PROCESSED_AT_LAST_CHECK.swap(processed, Ordering::Relaxed);
    processed > previous || processed == 0
}

#[subsystem(health = making_progress, restart = "exponential_backoff")]
async fn worker(context: Context) -> proc_daemon::Result<()> {
    let mut batch = context.app::<App>()?.batch_size;
    let metrics = context.metrics();
    metrics.describe(
        "worker_items_processed_total",
        "Items the worker has processed.",
    );
    metrics.describe("worker_batch_seconds", "Time to process one batch.");
    metrics::describe_gauge!(
        "worker_batch_size",
        "Items per batch, from [app] batch_size."
    );
    // Handles: each update below is one atomic add, no lookup.
    let items = context
        .metrics()
        .counter("worker_items_processed_total", &[("queue", "default")]);
    let batch_seconds = context.metrics().histogram("worker_batch_seconds", &[]);
    // The `metrics` crate's macros work too: the daemon installed itself as their recorder.
    #[allow(clippy::cast_precision_loss)]
    metrics::gauge!("worker_batch_size").set(batch as f64);
    let _ = writeln!(std::io::stdout(), "worker: processing batches of {batch}");
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
    let shutdown = context.shutdown().clone();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = context.config_changed() => {
                batch = context.app::<App>()?.batch_size;
                #[allow(clippy::cast_precision_loss)]
                metrics::gauge!("worker_batch_size").set(batch as f64);
                let _ = writeln!(std::io::stdout(), "worker: batch size is now {batch}");
            }
            _ = ticks.tick() => {
                let started = std::time::Instant::now();
                PROCESSED.fetch_add(batch, Ordering::Relaxed);
                items.increment(batch);
                batch_seconds.record_duration(started.elapsed());
            }
        }
    }
    let _ = writeln!(
        std::io::stdout(),
        "worker: stopped after {} items",
        PROCESSED.load(Ordering::Relaxed)
    );
    Ok(())
}

#[daemon(
    name = "metrics_server",
    config = concat!(env!("CARGO_MANIFEST_DIR"), "/metrics_server.toml"),
    subsystems = [worker]
)]
fn main() {}
