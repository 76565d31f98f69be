use proc_daemon::daemon;

#[daemon]
fn start() {}

fn main() {}
