//! The reference's "Simple Subsystem" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text) is added.

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
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
    // ---- end of the block ----
    Ok(())
}
