// Several subsystems with different restart policies: one serves until shutdown, one fails
// twice and recovers under exponential backoff, one runs once at start-up, one is
// health-checked. Settings come from `examples/daemon.toml`, including the application's own
// `[app]` table.
//
// ```text
// cargo run -p examples --bin comprehensive
// cargo run -p examples --bin comprehensive -- --config other.toml
// ```

use std::io::Write as _; // writeln! to a closed stdout returns an error; println! would panic
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use proc_daemon::{Context, Error, ShutdownHandle, daemon, subsystem};

/// The `[app]` table of `daemon.toml`.
#[derive(serde::Deserialize)]
struct AppConfig {
    fetch_url: String,
}

static FETCH_ATTEMPTS: AtomicU32 = AtomicU32::new(0);
static QUEUE_READY: AtomicBool = AtomicBool::new(false);

#[subsystem]
async fn api(shutdown: ShutdownHandle) {
    let _ = writeln!(std::io::stdout(), "api: serving");
    shutdown.cancelled().await;
    let _ = writeln!(std::io::stdout(), "api: draining connections");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = writeln!(std::io::stdout(), "api: stopped");
}

#[subsystem(
    restart = "exponential_backoff",
    initial_delay = "200ms",
    max_delay = "5s"
)]
async fn fetcher(context: Context) -> proc_daemon::Result<()> {
    let app: AppConfig = context.app()?;
    let attempt = FETCH_ATTEMPTS.fetch_add(1, Ordering::SeqCst) + 1;
    let _ = writeln!(
        std::io::stdout(),
        "fetcher: attempt {attempt} to reach {}",
        app.fetch_url
    );
    if attempt <= 2 {
        return Err(Error::other(format!(
            "{} unreachable (attempt {attempt})",
            app.fetch_url
        )));
    }
    let _ = writeln!(std::io::stdout(), "fetcher: connected");
    context.shutdown().cancelled().await;
    let _ = writeln!(std::io::stdout(), "fetcher: stopped");
    Ok(())
}

#[subsystem(name = "warm-cache", restart = "never", critical = false, blocking)]
fn warm_cache() {
    let _ = writeln!(std::io::stdout(), "warm-cache: loaded 42 entries");
}

fn queue_healthy() -> bool {
    QUEUE_READY.load(Ordering::Relaxed)
}

#[subsystem(health = queue_healthy)]
async fn queue(shutdown: ShutdownHandle) {
    let _ = writeln!(std::io::stdout(), "queue: consuming");
    QUEUE_READY.store(true, Ordering::Relaxed);
    shutdown.cancelled().await;
    let _ = writeln!(std::io::stdout(), "queue: stopped");
}

#[daemon(
    name = "comprehensive",
    config = concat!(env!("CARGO_MANIFEST_DIR"), "/daemon.toml"),
    subsystems = [api, fetcher, warm_cache, queue]
)]
fn main() {}
