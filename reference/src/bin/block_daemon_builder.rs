//! The reference's "Daemon Builder" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text) is added.

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
    use proc_daemon::{Config, Daemon, RestartPolicy};
    use std::time::Duration;

    let config = Config::builder()
        .name("my-daemon")
        .shutdown_timeout(Duration::from_secs(30))
        .enable_metrics(true)
        .build()?;

    let daemon = Daemon::builder(config)
        .with_task("main_service", |shutdown| {
            Box::pin(async move {
                // Your async service code
                Ok(())
            })
        })
        .run()
        .await?;
    // ---- end of the block ----
    Ok(())
}
