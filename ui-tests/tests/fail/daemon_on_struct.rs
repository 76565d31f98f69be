use proc_daemon::daemon;

#[daemon]
struct Main;

fn main() {}
