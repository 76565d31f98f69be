use proc_daemon::subsystem;

#[subsystem(restart = "always", initial_delay = "1s")]
async fn worker() {}

#[subsystem(restart = "exponential_backoff", initial_delay = "10s", max_delay = "1s")]
async fn other() {}

fn main() {}
