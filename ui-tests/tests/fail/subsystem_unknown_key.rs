use proc_daemon::subsystem;

#[subsystem(colour = true)]
async fn worker() {}

fn main() {}
