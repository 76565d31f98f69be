//! The reference's "Using with Daemon" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text, declared first) is added.
use proc_daemon::Daemon;

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    use proc_daemon::{RestartPolicy, Result, ShutdownHandle, Subsystem};
    use std::future::Future;
    use std::pin::Pin;
    use std::time::Duration;

    struct MyService {
        name: String,
    }

    impl Subsystem for MyService {
        fn run(
            &self,
            mut shutdown: ShutdownHandle,
        ) -> Pin<Box<dyn Future<Output = Result<()>> + Send>> {
            let name = self.name.clone();
            Box::pin(async move {
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => {
                            tracing::info!("service {} shutting down", name);
                            break;
                        }
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {
                            tracing::info!("service {} working", name);
                        }
                    }
                }
                Ok(())
            })
        }

        fn name(&self) -> &str {
            &self.name
        }

        fn restart_policy(&self) -> RestartPolicy {
            RestartPolicy::OnFailure
        }

        fn health_check(&self) -> Option<Box<dyn Fn() -> bool + Send + Sync>> {
            Some(Box::new(|| {
                // Simple health check
                true
            }))
        }
    }

    let config = proc_daemon::Config::new()?;
    // ---- the block, as published ----
    let daemon = Daemon::builder(config)
        .with_subsystem(MyService {
            name: "worker".into(),
        })
        .run()
        .await?;
    // ---- end of the block ----
    Ok(())
}
