//! `context.config_changed()` and `context.shutdown().cancelled()` in one `select!` (both take
//! `&self`); the third branch ends the run at once so the daemon exits by itself.

use proc_daemon::{Context, daemon, subsystem};

#[subsystem]
async fn watcher(context: Context) {
    tokio::select! {
        () = context.shutdown().cancelled() => {}
        () = context.config_changed() => {}
        () = std::future::ready(()) => {}
    }
    assert!(context.stop_time_left().is_none(), "not stopping yet");
}

#[daemon(subsystems = [watcher], cli = false)]
async fn main() {}
