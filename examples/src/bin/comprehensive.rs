//! Several subsystems with different restart policies: one serves until shutdown, one fails
//! twice and recovers under exponential backoff, one runs once at start-up, one is
//! health-checked.
//!
//! ```text
//! cargo run -p examples --bin comprehensive            # reads examples/daemon.toml
//! DAEMON_CONFIG=other.toml cargo run -p examples --bin comprehensive
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use proc_daemon::{Error, Launcher, RestartPolicy, ShutdownHandle, SubsystemFn};

#[derive(serde::Deserialize)]
struct AppConfig {
    fetch_url: String,
}

async fn api(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
    println!("api: serving");
    shutdown.cancelled().await;
    println!("api: draining connections");
    tokio::time::sleep(Duration::from_millis(100)).await;
    println!("api: stopped");
    Ok(())
}

async fn queue(shutdown: ShutdownHandle, healthy: Arc<AtomicBool>) -> proc_daemon::Result<()> {
    println!("queue: consuming");
    healthy.store(true, Ordering::Relaxed);
    shutdown.cancelled().await;
    println!("queue: stopped");
    Ok(())
}

fn main() -> ExitCode {
    Launcher::new("comprehensive")
        .config_file(concat!(env!("CARGO_MANIFEST_DIR"), "/daemon.toml"))
        .run(|daemon| async move {
            let config = daemon.handle().config_snapshot();
            let app: AppConfig = config.app()?;

            let attempts = Arc::new(AtomicU32::new(0));
            let url = app.fetch_url.clone();
            let fetcher = SubsystemFn::new("fetcher", move |shutdown: ShutdownHandle| {
                let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
                let url = url.clone();
                async move {
                    println!("fetcher: attempt {attempt} to reach {url}");
                    if attempt <= 2 {
                        return Err(Error::other(format!(
                            "{url} unreachable (attempt {attempt})"
                        )));
                    }
                    println!("fetcher: connected");
                    shutdown.cancelled().await;
                    println!("fetcher: stopped");
                    Ok(())
                }
            })
            .restart_policy(RestartPolicy::ExponentialBackoff {
                initial_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(5),
            });

            let warm_cache = SubsystemFn::new("warm-cache", |_shutdown| async {
                println!("warm-cache: loaded 42 entries");
                Ok(())
            })
            .restart_policy(RestartPolicy::Never)
            .critical(false);

            let healthy = Arc::new(AtomicBool::new(false));
            let probe = healthy.clone();
            let queue = SubsystemFn::new("queue", move |shutdown| queue(shutdown, healthy.clone()))
                .health_check(move || probe.load(Ordering::Relaxed));

            Ok(daemon
                .with_subsystem_fn("api", api)
                .with_subsystem(fetcher)
                .with_subsystem(warm_cache)
                .with_subsystem(queue))
        })
}
