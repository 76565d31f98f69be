use proc_daemon::subsystem;

#[subsystem(shutdown_timeout = "5 parsecs", health_interval = "0s")]
async fn worker() {}

fn main() {}
