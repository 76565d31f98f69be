//! A daemon whose subsystems run in dependency order (`#[subsystem(after = [...])]`), for the
//! ordering process tests. Every line it prints carries the microseconds since the process
//! started, so tests check order by position and by time.
//!
//! Environment:
//! - `FIXTURE_DB_READY_FILE`: the database holds its readiness until this file exists (else it
//!   is ready 100 ms into each run);
//! - `FIXTURE_DB_FAILS_ONCE`: the database's first run fails 200 ms after it became ready.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use proc_daemon::{Context, ShutdownHandle, daemon, subsystem};

static STARTED: OnceLock<Instant> = OnceLock::new();
static DB_RUNS: AtomicU32 = AtomicU32::new(0);
static API_RUNS: AtomicU32 = AtomicU32::new(0);

/// Prints `what`, prefixed with the microseconds since start.
fn say(what: &str) {
    let micros = STARTED.get_or_init(Instant::now).elapsed().as_micros();
    println!("[{micros:>10}] {what}");
}

#[subsystem(name = "database", holds_readiness, shutdown_timeout = "5s")]
async fn db(context: Context) -> proc_daemon::Result<()> {
    let run = DB_RUNS.fetch_add(1, Ordering::SeqCst) + 1;
    say(&format!("database: run {run} starting"));
    match std::env::var_os("FIXTURE_DB_READY_FILE") {
        Some(file) => {
            // The fixture's own condition, polled: the test creates the file when it has seen
            // what it wants to see while the database is not ready.
            while !std::path::Path::new(&file).exists() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        None => tokio::time::sleep(Duration::from_millis(100)).await,
    }
    say(&format!("database: run {run} ready"));
    context.ready();
    if run == 1 && std::env::var_os("FIXTURE_DB_FAILS_ONCE").is_some() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        say("database: run 1 fails");
        return Err(proc_daemon::Error::other("the database lost its disk"));
    }
    context.shutdown().cancelled().await;
    say("database: cancelled");
    Ok(())
}

/// Runs after the database; needs 300 ms to drain once cancelled.
#[subsystem(after = [db], shutdown_timeout = "5s")]
async fn api(shutdown: ShutdownHandle) {
    let run = API_RUNS.fetch_add(1, Ordering::SeqCst) + 1;
    say(&format!("api: run {run} starting"));
    shutdown.cancelled().await;
    say(&format!("api: run {run} cancelled"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    say(&format!("api: run {run} drained"));
}

/// Runs after the database but keeps its run when the database restarts.
#[subsystem(after = [db], restarts_with_dependencies = false)]
async fn reports(shutdown: ShutdownHandle) {
    say("reports: starting");
    shutdown.cancelled().await;
    say("reports: cancelled");
}

#[daemon(name = "ordered-fixture", subsystems = [api, reports, db])]
async fn main() {
    say("setup done");
}
