//! tokio-graceful-shutdown 0.20 running a benchmark workload (`idle N`, `cleanup`; see
//! `bench-workload`). It has no restart policies, so `restart` reports itself unsupported.

use std::sync::Arc;
use std::time::Duration;

use bench_workload::{CLEANUP, Readiness, Workload};
use tokio_graceful_shutdown::{SubsystemBuilder, SubsystemHandle, Toplevel};

#[tokio::main]
async fn main() {
    let workload = Workload::from_args();
    if workload == Workload::Restart {
        println!("unsupported: no restart policies");
        return;
    }
    let ready = Arc::new(Readiness::new(workload.subsystems()));
    let reporter = ready.clone();
    // Its subsystems are always started at run time, by their parent: `idle` and `added` are
    // the same program here.
    Toplevel::new(async move |s: &mut SubsystemHandle| {
        for i in 0..workload.subsystems() {
            let ready = ready.clone();
            s.start(SubsystemBuilder::new(
                format!("subsystem-{i}"),
                async move |h: &mut SubsystemHandle| {
                    ready.started();
                    h.on_shutdown_requested().await;
                    if workload == Workload::Cleanup {
                        tokio::time::sleep(CLEANUP).await;
                    }
                    Ok::<(), std::convert::Infallible>(())
                },
            ));
        }
    })
    .catch_signals()
    .handle_shutdown_requests(Duration::from_secs(60))
    .await
    .expect("clean shutdown");
    reporter.report_runs();
}
