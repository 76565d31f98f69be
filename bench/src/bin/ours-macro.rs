//! proc-daemon with `#[subsystem]` subsystems: what a daemon written with the macros pays per
//! subsystem (a zero-sized type with a static name, so no box and no name string), beside
//! `ours`, which registers closures (`SubsystemFn`) with names made at run time. The idle
//! workload only: its N subsystems are one type and share its name, which a starting set
//! allows, while a subsystem added at run time needs a name no running one has.

use std::sync::OnceLock;

use bench_workload::{Readiness, Workload};
use proc_daemon::{Launcher, ShutdownHandle};

static READY: OnceLock<Readiness> = OnceLock::new();

#[proc_daemon::subsystem]
async fn idle(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
    READY.get().unwrap().started();
    shutdown.cancelled().await;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let Workload::Idle(n) = Workload::from_args() else {
        println!("unsupported: the same program as ours for this workload");
        return std::process::ExitCode::SUCCESS;
    };
    READY.set(Readiness::new(n)).unwrap();
    let code = Launcher::new("ours-macro").run(move |daemon| async move {
        Ok((0..n).fold(daemon, |daemon, _| daemon.with_subsystem(idle {})))
    });
    READY.get().unwrap().report_runs();
    code
}
