use proc_daemon::daemon;

#[daemon(subsystems = ["worker"])]
fn main() {}
