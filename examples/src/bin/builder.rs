//! The `simple` daemon written by hand: what `#[daemon]` and `#[subsystem]` generate, as plain
//! builder calls.
//!
//! ```text
//! cargo run -p examples --bin builder
//! ```

use std::io::Write as _; // writeln! to a closed stdout returns an error; println! would panic
use std::process::ExitCode;
use std::time::Duration;

use proc_daemon::{Launcher, RestartPolicy, ShutdownHandle, SubsystemFn};

async fn worker(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
    let _ = writeln!(std::io::stdout(), "worker: started");
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut count = 0u64;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => {
                count += 1;
                tracing::info!("worker: tick {count}");
            }
        }
    }
    let _ = writeln!(
        std::io::stdout(),
        "worker: shutdown requested after {count} ticks; stopped"
    );
    Ok(())
}

fn main() -> ExitCode {
    // Installs signal handlers first, then reads config (`--config`, `DAEMON_CONFIG`, env),
    // starts logging, builds the runtime, runs the set-up closure, supervises, exits.
    Launcher::new("builder")
        .version(env!("CARGO_PKG_VERSION"))
        .run(|daemon| async move {
            Ok(daemon.with_subsystem(
                SubsystemFn::new("worker", worker).restart_policy(RestartPolicy::OnFailure),
            ))
        })
}
