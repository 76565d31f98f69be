//! The smallest useful daemon: one worker loop that stops cleanly on SIGTERM or Ctrl-C.
//!
//! ```text
//! cargo run -p examples --bin simple
//! ```

use std::process::ExitCode;
use std::time::Duration;

use proc_daemon::{Launcher, ShutdownHandle};

async fn worker(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
    println!("worker: started");
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
    println!("worker: shutdown requested after {count} ticks; stopped");
    Ok(())
}

fn main() -> ExitCode {
    Launcher::new("simple")
        .run(|daemon| async move { Ok(daemon.with_subsystem_fn("worker", worker)) })
}
