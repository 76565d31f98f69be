//! The reference's "Heap Profiling" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text) is added.

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
    #[cfg(feature = "heap-profiling")]
    {
        use proc_daemon::profiling::heap::HeapProfiler;

        let hp = HeapProfiler::start(Some("heap_profile.json"))?;
        // ... run workload ...
        hp.stop();

        // Analyze with dhat viewer
    }
    // ---- end of the block ----
    Ok(())
}
