use proc_daemon::subsystem;

#[subsystem]
fn worker() {}

fn main() {}
