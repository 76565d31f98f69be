//! proc-daemon with N idle subsystems, each waiting for shutdown.

use std::process::ExitCode;
use std::sync::OnceLock;

use bench::Readiness;
use proc_daemon::{Launcher, ShutdownHandle, SubsystemFn};

static READY: OnceLock<Readiness> = OnceLock::new();

async fn idle(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
    READY.get().unwrap().started();
    shutdown.cancelled().await;
    Ok(())
}

fn main() -> ExitCode {
    let n = bench::count_from_args();
    READY.set(Readiness::new(n)).unwrap();
    Launcher::new("idle-ours").run(move |daemon| async move {
        Ok((0..n).fold(daemon, |daemon, i| {
            daemon.with_subsystem(SubsystemFn::new(format!("idle-{i}"), idle))
        }))
    })
}
