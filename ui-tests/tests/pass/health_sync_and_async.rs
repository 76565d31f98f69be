//! Sync and async health checks, and a per-subsystem interval.
use proc_daemon::{daemon, subsystem};

fn always_healthy() -> bool {
    true
}

async fn healthy_later() -> bool {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    true
}

#[subsystem(health = always_healthy, restart = "never")]
async fn sync_checked() {}

#[subsystem(health = healthy_later, health_interval = "50ms", restart = "never")]
async fn async_checked() {}

#[daemon(subsystems = [sync_checked, async_checked])]
async fn main() {}
