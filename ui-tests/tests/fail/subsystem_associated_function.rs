// Inside an `impl`, rustc rejects the struct `#[subsystem]` generates; the docs say so.
use proc_daemon::{ShutdownHandle, subsystem};

struct Server;

impl Server {
    #[subsystem]
    async fn serve(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
        shutdown.cancelled().await;
        Ok(())
    }
}

fn main() {}
