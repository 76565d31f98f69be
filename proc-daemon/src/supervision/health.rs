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
///
/// `settings` gives the interval and the threshold; it is asked before every check, so a
/// reloaded configuration applies from the next check on.
pub(crate) async fn watch(
    check: SharedCheck,
    settings: impl Fn() -> (Duration, u32),
    on_failure: impl Fn(),
    name: &str,
) -> Arc<str> {
    let (mut interval, _) = settings();
    let mut ticker = ticker(interval).await;
    let mut running: Option<JoinHandle<bool>> = None;
    let mut failures = 0;
    loop {
        ticker.tick().await;
        let (current, threshold) = settings();
        if current != interval {
            tracing::info!(
                subsystem = name,
                "health checks of subsystem `{name}` now run every {current:?}"
            );
            interval = current;
            ticker = self::ticker(interval).await;
            continue;
        }
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
        on_failure();
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

/// A ticker whose first tick is one `interval` from now.
async fn ticker(interval: Duration) -> tokio::time::Interval {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker.tick().await; // the first tick is immediate
    ticker
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
        let reason = watch(check, || (Duration::from_secs(1), 3), || {}, "t").await;
        assert_eq!(&*reason, "unhealthy: 3 consecutive health checks failed");
        assert_eq!(calls.load(Ordering::SeqCst), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_changed_interval_applies_from_the_next_check() {
        use tokio::time::Instant;
        let interval_ms = Arc::new(AtomicU32::new(1000));
        let times = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (setting, seen) = (interval_ms.clone(), times.clone());
        let check: SharedCheck = Arc::new(move || {
            let mut seen = seen.lock().unwrap();
            seen.push(Instant::now());
            // After the second check, the configuration changes to 100 ms.
            if seen.len() == 2 {
                setting.store(100, Ordering::SeqCst);
            }
            seen.len() < 5
        });
        let start = Instant::now();
        watch(
            check,
            || {
                (
                    Duration::from_millis(u64::from(interval_ms.load(Ordering::SeqCst))),
                    1,
                )
            },
            || {},
            "t",
        )
        .await;
        let times = times.lock().unwrap();
        let offsets: Vec<u128> = times.iter().map(|t| (*t - start).as_millis()).collect();
        // 1000, 2000 at the old interval; then the ticker restarts at 100 ms.
        assert_eq!(offsets[..2], [1000, 2000]);
        assert!(
            offsets[2] <= 3100 && offsets[4] - offsets[3] == 100,
            "{offsets:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_check_counts_as_failed() {
        let check: SharedCheck = Arc::new(|| panic!("check exploded"));
        let reason = watch(check, || (Duration::from_millis(10), 2), || {}, "t").await;
        assert!(reason.contains("2 consecutive"));
    }
}
