use proc_daemon::{ShutdownHandle, subsystem};

#[subsystem]
async fn worker(first: ShutdownHandle, second: ShutdownHandle) {
    let _ = (first, second);
}

fn main() {}
