use proc_daemon::subsystem;

#[subsystem]
struct Worker;

fn main() {}
