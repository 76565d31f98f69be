use proc_daemon::{ShutdownHandle, subsystem};

#[subsystem(holds_readiness)]
async fn worker(shutdown: ShutdownHandle) {
    let _ = shutdown;
}

fn main() {}
