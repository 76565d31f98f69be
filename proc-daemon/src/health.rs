//! Health checks: run a subsystem's check every interval, off the async workers, and stop a run
//! that stays unhealthy so its restart policy can take over.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// A health check shared with the blocking thread that runs it.
pub(crate) type SharedCheck = Arc<dyn Fn() -> bool + Send + Sync>;

/// Completes, with the reason, once `threshold` consecutive checks have failed. A check that
/// panics fails; a check still running when the next is due fails and is not started twice.
pub(crate) async fn watch(
    check: SharedCheck,
    interval: Duration,
    threshold: u32,
    name: &str,
) -> Arc<str> {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate; the first check is one interval in
    let mut running: Option<JoinHandle<bool>> = None;
    let mut failures = 0;
    loop {
        ticker.tick().await;
        let healthy = match running.take() {
            Some(job) if !job.is_finished() => {
                running = Some(job);
                tracing::warn!(
                    subsystem = name,
                    "health check of subsystem `{name}` is still running after {interval:?}"
                );
                false
            }
            _ => {
                let check = check.clone();
                let mut job = tokio::task::spawn_blocking(move || {
                    catch_unwind(AssertUnwindSafe(|| check())).unwrap_or(false)
                });
                match tokio::time::timeout(interval, &mut job).await {
                    Ok(result) => result.unwrap_or(false),
                    Err(_) => {
                        running = Some(job);
                        tracing::warn!(
                            subsystem = name,
                            "health check of subsystem `{name}` did not answer within {interval:?}"
                        );
                        false
                    }
                }
            }
        };
        if healthy {
            failures = 0;
            tracing::trace!(subsystem = name, "subsystem `{name}` is healthy");
            continue;
        }
        failures += 1;
        tracing::warn!(
            subsystem = name,
            failures,
            "health check of subsystem `{name}` failed ({failures} of {threshold})"
        );
        if failures >= threshold {
            return format!("unhealthy: {failures} consecutive health checks failed").into();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn consecutive_failures_reach_the_threshold() {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        // Healthy, unhealthy, healthy (resets), then unhealthy for good.
        let check: SharedCheck =
            Arc::new(move || !matches!(counter.fetch_add(1, Ordering::SeqCst), 1 | 3..));
        let reason = watch(check, Duration::from_secs(1), 3, "t").await;
        assert_eq!(&*reason, "unhealthy: 3 consecutive health checks failed");
        assert_eq!(calls.load(Ordering::SeqCst), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_check_counts_as_failed() {
        let check: SharedCheck = Arc::new(|| panic!("check exploded"));
        let reason = watch(check, Duration::from_millis(10), 2, "t").await;
        assert!(reason.contains("2 consecutive"));
    }
}
