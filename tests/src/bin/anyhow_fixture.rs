//! A daemon whose subsystems and set-up return the common application error types as they are:
//! `anyhow::Result` and `Box<dyn Error + Send + Sync>`.

use anyhow::Context as _;
use proc_daemon::{daemon, subsystem};

#[subsystem(restart = "never", critical = false)]
async fn boxed() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Err("boxed failure: the queue is gone".into())
}

#[subsystem(restart = "never")]
async fn loader() -> anyhow::Result<()> {
    std::fs::read("/nonexistent-proc-daemon-dir/cache.bin").context("loading the cache")?;
    Ok(())
}

#[daemon(name = "anyhow-fixture", subsystems = [boxed, loader])]
async fn main() -> anyhow::Result<()> {
    if std::env::var_os("FIXTURE_SETUP_FAILS").is_some() {
        anyhow::bail!("set-up refused: FIXTURE_SETUP_FAILS is set");
    }
    Ok(())
}
