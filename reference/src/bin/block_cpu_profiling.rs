//! The reference's "CPU Profiling" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text) is added.

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
    #[cfg(feature = "profiling")]
    {
        use proc_daemon::profiling::CpuProfiler;

        let cpu = CpuProfiler::start()?;
        // ... run workload ...
        cpu.stop_to_file("cpu_profile.pb")?;

        // Analyze with: go tool pprof cpu_profile.pb
    }
    // ---- end of the block ----
    Ok(())
}
