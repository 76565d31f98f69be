//! The reference's "Resource Tracking" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text) is added.

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
    #[cfg(feature = "metrics")]
    {
        use proc_daemon::resources::ResourceTracker;
        use std::sync::Arc;

        let tracker = ResourceTracker::new();

        // Start tracking in background
        let tracker_clone = tracker.clone();
        tokio::spawn(async move {
            tracker_clone.start().await;
        });

        // Read current resource usage
        let current = tracker.current_usage();
        println!("Memory: {} MB", current.memory_mb);
        println!("CPU: {} %", current.cpu_percent);
        println!("Threads: {}", current.thread_count);
    }
    // ---- end of the block ----
    Ok(())
}
