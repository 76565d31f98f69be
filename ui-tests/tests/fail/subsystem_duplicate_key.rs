use proc_daemon::subsystem;

#[subsystem(restart = "never", restart = "always")]
async fn worker() {}

fn main() {}
