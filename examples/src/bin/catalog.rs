// A small service as a newcomer writes one: `anyhow` errors, typed `[app]` settings that follow
// reloads, a shared value handed from the set-up to a subsystem and a health check, and drain
// code sized by the subsystem's own stop budget.
//
// ```text
// cargo run -p examples --bin catalog
// # in another terminal: edit examples/catalog.toml, then `kill -HUP <pid>`
// ```

use std::io::Write as _; // writeln! to a closed stdout returns an error; println! would panic
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use proc_daemon::{Context, State, daemon, subsystem};

/// The `[app]` table: checked by `--check-config`, at start and by every reload.
#[derive(serde::Deserialize)]
struct Settings {
    greeting: String,
    refresh_ms: u64,
}

/// Made once in the set-up, shared by type with the subsystems and the health check.
struct Catalog {
    revision: AtomicU64,
}

impl Catalog {
    /// Starts at `CATALOG_START_REVISION` (default 0): a set-up step that can fail.
    fn load() -> anyhow::Result<Self> {
        let start = match std::env::var("CATALOG_START_REVISION") {
            Ok(text) => text
                .parse()
                .with_context(|| format!("CATALOG_START_REVISION={text:?} is not a revision"))?,
            Err(_) => 0,
        };
        Ok(Self {
            revision: AtomicU64::new(start),
        })
    }
}

fn say(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Healthy while the catalog has been refreshed at least once, or is about to be.
async fn catalog_ok(catalog: State<Catalog>) -> bool {
    static FIRST: Once = Once::new();
    FIRST.call_once(|| say(format_args!("health: checking the shared catalog")));
    catalog.revision.load(Ordering::Relaxed) < u64::MAX
}

/// Refreshes the catalog at the configured pace; a reload changes pace and greeting at once.
#[subsystem(health = catalog_ok, health_interval = "100ms")]
async fn refresher(context: Context, catalog: State<Catalog>) -> anyhow::Result<()> {
    let mut settings = context.settings::<Settings>()?;
    loop {
        tokio::select! {
            () = context.shutdown().cancelled() => return Ok(()),
            () = context.config_changed() => {
                // Only a configuration that fits `Settings` is ever applied.
                settings = context.settings::<Settings>().context("reading [app] after a reload")?;
                say(format_args!("refresher: greeting now {:?}, every {} ms", settings.greeting, settings.refresh_ms));
            }
            () = tokio::time::sleep(Duration::from_millis(settings.refresh_ms)) => {
                let revision = catalog.revision.fetch_add(1, Ordering::Relaxed) + 1;
                say(format_args!("refresher: {} — revision {revision}", settings.greeting));
            }
        }
    }
}

/// Serves the catalog; on shutdown drains within what is left of its own budget.
#[subsystem(shutdown_timeout = "2s", holds_readiness)]
async fn server(context: Context, catalog: State<Catalog>) -> anyhow::Result<()> {
    context.ready();
    say(format_args!("server: ready"));
    context.shutdown().cancelled().await;
    let left = context
        .stop_time_left()
        .context("shutdown has begun, so the budget is known")?;
    say(format_args!(
        "server: draining at revision {} with {} ms of its budget left",
        catalog.revision.load(Ordering::Relaxed),
        left.as_millis()
    ));
    // Drain work would be sized by `left`; half of it is plenty here.
    tokio::time::sleep((left / 2).min(Duration::from_millis(50))).await;
    say(format_args!("server: drained"));
    Ok(())
}

#[daemon(
    config = concat!(env!("CARGO_MANIFEST_DIR"), "/catalog.toml"),
    app = Settings,
    subsystems = [refresher, server]
)]
fn main() -> anyhow::Result<()> {
    proc_daemon::provide(Catalog::load().context("loading the catalog")?);
    Ok(())
}
