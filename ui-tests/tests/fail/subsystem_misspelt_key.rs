use proc_daemon::subsystem;

#[subsystem(restrat = "never")]
async fn worker() {}

fn main() {}
