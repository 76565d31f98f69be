use proc_daemon::subsystem;

#[subsystem]
async fn worker() -> u32 {
    7
}

fn main() {}
