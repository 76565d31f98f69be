use proc_daemon::subsystem;

#[subsystem(restart = 5, colour = "blue", critical = "yes", max_restarts = "many")]
async fn worker() {}

fn main() {}
