use proc_daemon::subsystem;

#[subsystem(restart = "on-failure")]
async fn worker() {}

fn main() {}
