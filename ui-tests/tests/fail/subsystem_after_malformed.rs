use proc_daemon::subsystem;

#[subsystem(after = ["db"])]
async fn api() {}

#[subsystem(after = [])]
async fn web() {}

#[subsystem(restarts_with_dependencies = false)]
async fn worker() {}

fn main() {}
