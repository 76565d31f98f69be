//! `ResourceTracker`: this process's memory, CPU and thread use, sampled at an interval from
//! `/proc/self` (only this process is read, nothing system-wide).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::process::stats::ProcessStats;

/// One sample of the process's resource use.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct ResourceUsage {
    /// Resident memory, in bytes.
    pub memory_bytes: u64,
    /// Resident memory, in whole MiB (the published crate's unit).
    pub memory_mb: u64,
    /// CPU use since the previous sample, in percent of one core (200 = two cores busy); 0 in
    /// the first sample.
    pub cpu_percent: f64,
    /// OS threads.
    pub thread_count: u64,
    /// When the sample was taken.
    pub sampled_at: Instant,
}

impl ResourceUsage {
    fn of(stats: ProcessStats, cpu_percent: f64) -> Self {
        Self {
            memory_bytes: stats.resident_bytes,
            memory_mb: stats.resident_bytes / (1024 * 1024),
            cpu_percent,
            thread_count: stats.threads,
            sampled_at: Instant::now(),
        }
    }
}

/// Samples the process's resource use every interval (1 s unless
/// [`with_interval`](Self::with_interval) says otherwise). Cheap to clone: clones share the
/// samples. [`start`](Self::start) is the sampling loop; spawn it.
///
/// ```
/// use proc_daemon::resources::ResourceTracker;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let tracker = ResourceTracker::new();
/// let sampler = tracker.clone();
/// tokio::spawn(async move { sampler.start().await });
/// let usage = tracker.current_usage(); // the sample taken by `new`, until the loop's first
/// assert!(usage.memory_mb > 0 && usage.thread_count >= 1);
/// tracker.stop();
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct ResourceTracker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    interval: Duration,
    latest: Mutex<ResourceUsage>,
    stopped: CancellationToken,
}

impl Default for ResourceTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl ResourceTracker {
    /// A tracker sampling every second once started; the first sample is taken now.
    #[must_use]
    pub fn new() -> Self {
        Self::with_interval(Duration::from_secs(1))
    }

    /// A tracker sampling every `interval` once started; the first sample is taken now (all
    /// zeros where `/proc/self` cannot be read).
    #[must_use]
    pub fn with_interval(interval: Duration) -> Self {
        let first = ProcessStats::read().unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                interval,
                latest: Mutex::new(ResourceUsage::of(first, 0.0)),
                stopped: CancellationToken::new(),
            }),
        }
    }

    /// Samples every interval until [`stop`](Self::stop) is called (on any clone).
    pub async fn start(&self) {
        let Some(mut previous) = ProcessStats::read() else {
            tracing::warn!("resource tracking needs /proc/self/stat; nothing is sampled");
            return;
        };
        let mut since = Instant::now();
        let mut ticks = tokio::time::interval(self.inner.interval);
        ticks.tick().await;
        loop {
            tokio::select! {
                () = self.inner.stopped.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let Some(stats) = ProcessStats::read() else {
                continue;
            };
            let now = Instant::now();
            let wall = now.duration_since(since).as_secs_f64();
            let cpu = stats.cpu_seconds - previous.cpu_seconds;
            let percent = if wall > 0.0 {
                (cpu / wall * 100.0).max(0.0)
            } else {
                0.0
            };
            *crate::lock::mutex(&self.inner.latest) = ResourceUsage::of(stats, percent);
            (previous, since) = (stats, now);
        }
    }

    /// The latest sample.
    #[must_use]
    pub fn current_usage(&self) -> ResourceUsage {
        *crate::lock::mutex(&self.inner.latest)
    }

    /// Ends the sampling loop; the last sample stays readable.
    pub fn stop(&self) {
        self.inner.stopped.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn busy_cpu_shows_in_the_samples() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let tracker = ResourceTracker::with_interval(Duration::from_millis(50));
        assert_eq!(
            tracker.current_usage().cpu_percent,
            0.0,
            "the first sample has no CPU yet"
        );
        let sampler = tracker.clone();
        let sampling = tokio::spawn(async move { sampler.start().await });
        // Burn CPU on a blocking thread until a sample has seen it (or 10 s have passed).
        let seen = Arc::new(AtomicBool::new(false));
        let stop = seen.clone();
        let spin = tokio::task::spawn_blocking(move || {
            let start = Instant::now();
            let mut x = 0u64;
            while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(10) {
                x = x.wrapping_mul(31).wrapping_add(7);
            }
            x
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut busiest = 0.0_f64;
        while Instant::now() < deadline && busiest <= 10.0 {
            busiest = busiest.max(tracker.current_usage().cpu_percent);
            tokio::time::sleep(Duration::from_millis(10)).await; // poll interval
        }
        seen.store(true, Ordering::Relaxed);
        let _ = spin.await;
        assert!(busiest > 10.0, "a spinning thread never showed: {busiest}%");
        tracker.stop();
        sampling.await.unwrap(); // the loop ends at `stop`
    }
}
