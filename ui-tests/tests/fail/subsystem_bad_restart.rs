use proc_daemon::subsystem;

#[subsystem(restart = "sometimes")]
async fn worker() {}

fn main() {}
