//! The reference's "Metrics Collection" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text) is added.

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
    #[cfg(feature = "metrics")]
    {
        use proc_daemon::metrics::MetricsCollector;

        let collector = MetricsCollector::new();

        // Counters
        collector.increment_counter("requests_total", 1);

        // Gauges
        collector.set_gauge("active_connections", 42);

        // Histograms
        use std::time::Duration;
        collector.record_histogram("request_latency_ms", Duration::from_millis(150));

        // Snapshot
        let snapshot = collector.get_metrics();
        println!("Uptime: {:?}", snapshot.uptime);
        println!("Worker threads: {}", snapshot.worker_count);
    }
    // ---- end of the block ----
    Ok(())
}
