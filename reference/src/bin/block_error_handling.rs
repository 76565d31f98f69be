//! The reference's "Error Handling" block, as published: a whole program.

use proc_daemon::{Config, Daemon, Result};

#[tokio::main]
async fn main() -> Result<()> {
    let config = Config::new()?;
    Daemon::builder(config).run().await?;
    Ok(())
}
