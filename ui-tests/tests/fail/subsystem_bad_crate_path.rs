use proc_daemon::subsystem;

#[subsystem(crate = "not a path")]
async fn worker() {}

fn main() {}
