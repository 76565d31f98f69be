//! proc-daemon running a benchmark workload (`idle N`, `added N`, `restart`, `cleanup`; see the `bench`
//! library). Written against `Launcher`, which is exactly what `#[daemon]` expands to (the
//! expansion snapshots in `proc-daemon-macros` show it); the macro cannot register a number of
//! subsystems chosen at run time.

use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Duration;

use bench_workload::{CLEANUP, Readiness, Workload};
use proc_daemon::{Launcher, RestartLimit, RestartPolicy, ShutdownHandle, SubsystemFn};

static READY: OnceLock<Readiness> = OnceLock::new();

async fn idle(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
    READY.get().unwrap().started();
    shutdown.cancelled().await;
    Ok(())
}

async fn fail_at_once(_shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
    READY.get().unwrap().started();
    Err(proc_daemon::Error::other("failing on purpose"))
}

async fn slow_cleanup(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
    READY.get().unwrap().started();
    shutdown.cancelled().await;
    tokio::time::sleep(CLEANUP).await;
    Ok(())
}

fn main() -> ExitCode {
    let workload = Workload::from_args();
    READY.set(Readiness::new(workload.subsystems())).unwrap();
    let code = Launcher::new("ours").run(move |daemon| async move {
        Ok(match workload {
            Workload::Idle(n) => (0..n).fold(daemon, |daemon, i| {
                daemon.with_subsystem(SubsystemFn::new(format!("idle-{i}"), idle))
            }),
            // As fast as the policy allows: restarted at once, with no intensity limit that a
            // benchmark could reach. Not critical: the run that SIGTERM interrupts fails too,
            // and a critical subsystem that fails while stopping makes the exit code 1 (the
            // floor's loop, like this, just stops restarting).
            Workload::Restart => daemon.with_subsystem(
                SubsystemFn::new("failing", fail_at_once)
                    .restart_policy(RestartPolicy::Always)
                    .restart_limit(RestartLimit::new(u32::MAX, Duration::from_secs(1)))
                    .critical(false),
            ),
            Workload::Cleanup => daemon.with_subsystem(SubsystemFn::new("cleanup", slow_cleanup)),
            // One subsystem adds the N through the daemon's handle once it runs.
            Workload::Added(n) => {
                let handle = daemon.handle();
                daemon.with_subsystem_fn("adder", move |shutdown| {
                    let handle = handle.clone();
                    async move {
                        for i in 0..n {
                            handle.add_subsystem(SubsystemFn::new(format!("added-{i}"), idle))?;
                        }
                        shutdown.cancelled().await;
                        Ok(())
                    }
                })
            }
        })
    });
    READY.get().unwrap().report_runs();
    code
}
