//! The reference's "Configuration Hot-Reload" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text, declared first) is added.
use proc_daemon::Daemon;

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
    #[cfg(feature = "config-watch")]
    {
        use proc_daemon::Config;

        let config = Config::builder()
            .name("hot-reload-daemon")
            .hot_reload(true) // Enable file watcher
            .build()?;

        let daemon = Daemon::builder(config).run().await?;

        // Later: read live config snapshot
        let live = daemon.config_snapshot();
        println!("Current name: {}", live.name);
        println!("Current log level: {:?}", live.logging.level);
    }
    // ---- end of the block ----
    Ok(())
}
