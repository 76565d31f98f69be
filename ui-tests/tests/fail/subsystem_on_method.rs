use proc_daemon::{ShutdownHandle, subsystem};

struct Server;

impl Server {
    #[subsystem]
    async fn serve(&self, shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
        shutdown.cancelled().await;
        Ok(())
    }
}

fn main() {}
