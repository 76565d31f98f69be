//! The reference's "Scheduler Hints" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text, declared first) is added.
use proc_daemon::Config;

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
    #[cfg(feature = "scheduler-hints")]
    {
        use proc_daemon::scheduler;

        let config = Config::new()?;

        // Apply process-level hints (best-effort)
        scheduler::apply_process_hints(&config);

        // Apply runtime-level hints (currently noop)
        scheduler::apply_runtime_hints();
    }
    // ---- end of the block ----
    Ok(())
}
