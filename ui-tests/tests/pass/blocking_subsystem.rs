//! A plain function run on its own thread, with and without the handle.
use proc_daemon::{ShutdownHandle, daemon, subsystem};

#[subsystem(blocking, restart = "never")]
fn crunch(shutdown: ShutdownHandle) -> std::io::Result<()> {
    let _ = shutdown.is_shutdown();
    Ok(())
}

#[subsystem(blocking, restart = "never")]
fn tally() {}

#[daemon(subsystems = [crunch, tally])]
fn main() {}
