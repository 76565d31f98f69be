use proc_daemon::subsystem;

fn queue_depth() -> u32 {
    3
}

#[subsystem(health = queue_depth)]
async fn worker() {}

fn main() {}
