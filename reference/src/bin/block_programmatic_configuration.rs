//! The reference's "Programmatic Configuration" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text) is added.

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
    use proc_daemon::{Config, LogLevel};
    use std::time::Duration;

    let config = Config::builder()
        .name("production-daemon")
        .log_level(LogLevel::Info)
        .json_logging(true)
        .shutdown_timeout(Duration::from_secs(30))
        .worker_threads(8)
        .enable_metrics(true)
        .hot_reload(true)
        .build()?;
    // ---- end of the block ----
    Ok(())
}
