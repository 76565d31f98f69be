//! A non-async `main` whose set-up can fail; options that do not change behaviour here.
use proc_daemon::{daemon, subsystem};

#[subsystem(name = "renamed-worker", restart = "never", shutdown_timeout = "2s", critical = true)]
async fn worker() {}

#[daemon(subsystems = [worker], env_prefix = "UI_PASS", cli = false)]
fn main() -> proc_daemon::Result<()> {
    Ok(())
}
