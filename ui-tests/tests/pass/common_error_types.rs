//! `anyhow::Result` and `Result<(), Box<dyn Error + Send + Sync>>` as they are, in subsystems
//! and in `main`.

use proc_daemon::{ShutdownHandle, daemon, subsystem};

#[subsystem]
async fn with_anyhow(_shutdown: ShutdownHandle) -> anyhow::Result<()> {
    Ok(())
}

#[subsystem]
async fn with_boxed() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Ok(())
}

#[daemon(subsystems = [with_anyhow, with_boxed], cli = false)]
async fn main() -> anyhow::Result<()> {
    Ok(())
}
