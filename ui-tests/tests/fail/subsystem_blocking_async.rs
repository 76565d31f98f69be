use proc_daemon::subsystem;

#[subsystem(blocking)]
async fn worker() {}

fn main() {}
