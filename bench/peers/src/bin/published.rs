//! The published proc-daemon 1.x running a benchmark workload (`idle N`, `restart`, `cleanup`;
//! see `bench-workload`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bench_workload::{CLEANUP, Readiness, Workload};
use published::{RestartPolicy, ShutdownHandle, Subsystem};

/// The restart workload's subsystem: fails at once and asks to be restarted always.
struct FailAtOnce(Arc<Readiness>);

impl Subsystem for FailAtOnce {
    fn run(
        &self,
        _shutdown: ShutdownHandle,
    ) -> Pin<Box<dyn Future<Output = published::Result<()>> + Send>> {
        self.0.started();
        Box::pin(async { Err(published::Error::shutdown("failing on purpose")) })
    }

    fn name(&self) -> &str {
        "failing"
    }

    fn restart_policy(&self) -> RestartPolicy {
        RestartPolicy::Always
    }
}

#[tokio::main]
async fn main() {
    let workload = Workload::from_args();
    if let Workload::Added(_) = workload {
        // Its documented API registers subsystems on the builder only.
        println!("unsupported: no subsystems added at run time");
        return;
    }
    let ready = Arc::new(Readiness::new(workload.subsystems()));
    let config = published::Config::builder()
        .name("published")
        .log_level(published::LogLevel::Warn)
        .build()
        .expect("config");
    let mut builder = published::Daemon::builder(config);
    match workload {
        Workload::Idle(n) => {
            for i in 0..n {
                let ready = ready.clone();
                builder = builder.with_task(&format!("idle-{i}"), move |mut shutdown| {
                    let ready = ready.clone();
                    async move {
                        ready.started();
                        shutdown.cancelled().await;
                        Ok(())
                    }
                });
            }
        }
        Workload::Restart => builder = builder.with_subsystem(FailAtOnce(ready.clone())),
        Workload::Added(_) => unreachable!("refused above"),
        Workload::Cleanup => {
            let ready = ready.clone();
            builder = builder.with_task("cleanup", move |mut shutdown| {
                let ready = ready.clone();
                async move {
                    ready.started();
                    shutdown.cancelled().await;
                    tokio::time::sleep(CLEANUP).await;
                    Ok(())
                }
            });
        }
    }
    builder.run().await.expect("clean shutdown");
    ready.report_runs();
}
