//! The runtime crate under another name, reached with `crate = "..."`.
use proc_daemon as pd;

#[pd::subsystem(crate = "pd", restart = "never")]
async fn worker(shutdown: pd::ShutdownHandle) -> pd::Result<()> {
    let _ = shutdown.is_shutdown();
    Ok(())
}

#[pd::daemon(crate = "pd", subsystems = [worker], name = "renamed")]
async fn main() -> pd::Result<()> {
    Ok(())
}
