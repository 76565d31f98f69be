use proc_daemon::daemon;

#[daemon(subsystems = [])]
fn main() {}
