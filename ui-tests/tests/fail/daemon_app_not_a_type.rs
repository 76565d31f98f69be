use proc_daemon::daemon;

#[daemon(app = "Settings")]
fn main() {}
