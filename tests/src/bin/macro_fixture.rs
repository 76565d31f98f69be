//! A daemon built only with the attribute macros, for the process-level tests.

use std::sync::atomic::{AtomicU32, Ordering};

use proc_daemon::{ShutdownHandle, daemon, subsystem};

static RUNS: AtomicU32 = AtomicU32::new(0);
static CHECKS: AtomicU32 = AtomicU32::new(0);

/// Fails its first two runs, then serves until shutdown.
#[subsystem(restart = "on_failure", max_restarts = 5, within = "1m")]
async fn flaky(shutdown: ShutdownHandle) -> Result<(), std::io::Error> {
    let run = RUNS.fetch_add(1, Ordering::SeqCst) + 1;
    println!("flaky: run {run}");
    if run <= 2 {
        return Err(std::io::Error::other(format!("flaky failed on run {run}")));
    }
    shutdown.cancelled().await;
    println!("flaky: cancelled");
    Ok(())
}

fn probe() -> bool {
    let check = CHECKS.fetch_add(1, Ordering::SeqCst) + 1;
    println!("probe: check {check}");
    true
}

#[subsystem(health = probe, health_interval = "20ms")]
async fn probed(shutdown: ShutdownHandle) {
    shutdown.cancelled().await;
    println!("probed: cancelled");
}

#[daemon(name = "macro-fixture", subsystems = [flaky, probed])]
async fn main() -> Result<(), std::io::Error> {
    if std::env::var_os("FIXTURE_SETUP_FAILS").is_some() {
        return Err(std::io::Error::other(
            "set-up refused: FIXTURE_SETUP_FAILS is set",
        ));
    }
    tokio::task::yield_now().await;
    println!("setup done");
    Ok(())
}
