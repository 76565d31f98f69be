use proc_daemon::daemon;

#[daemon(config_file = "daemon.toml", env_prefix = "my-daemon")]
fn main() {}
