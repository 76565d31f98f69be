//! The reference's "High-Resolution Timing" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text) is added.

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
    #[cfg(feature = "high-res-timing")]
    {
        use proc_daemon::timing;

        let t0 = timing::now();
        // ... do work ...
        let t1 = timing::now();
        let elapsed = t1.duration_since(t0);

        println!("Elapsed: {} nanoseconds", elapsed.as_nanos());
    }
    // ---- end of the block ----
    Ok(())
}
