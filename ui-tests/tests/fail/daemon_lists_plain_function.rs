// A plain function in `subsystems = [...]`: rustc's E0574 at the path; the docs say to add `#[subsystem]`.
use proc_daemon::{ShutdownHandle, daemon};

async fn helper(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
    shutdown.cancelled().await;
    Ok(())
}

#[daemon(subsystems = [helper])]
fn main() {}
