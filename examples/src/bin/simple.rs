// The smallest useful daemon: one worker loop that stops cleanly on SIGTERM or Ctrl-C.
//
// ```text
// cargo run -p examples --bin simple
// ```
//
// `builder.rs` is the same daemon written without the macros.

use std::io::Write as _; // writeln! to a closed stdout returns an error; println! would panic
use std::time::Duration;

use proc_daemon::{ShutdownHandle, daemon, subsystem};

#[subsystem]
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

#[daemon(name = "simple", subsystems = [worker])]
fn main() {}
