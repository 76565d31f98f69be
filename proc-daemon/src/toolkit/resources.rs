//! `ResourceTracker`: this process's memory, CPU and thread use, sampled at an interval from
//! `/proc/self` (only this process is read, nothing system-wide).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::process::stats::ProcessStats;
use crate::{Error, Result};

/// One sample of the process's resource use.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct ResourceUsage {
    /// Resident memory, in bytes.
    pub memory_bytes: u64,
    /// CPU use since the previous sample, in percent of one core (200 = two cores busy).
    pub cpu_percent: f64,
    /// OS threads.
    pub threads: u64,
    /// When the sample was taken.
    pub sampled_at: Instant,
}

type Latest = Arc<Mutex<Option<ResourceUsage>>>;

/// Samples the process's resource use every `interval` on a task of the current tokio runtime.
///
/// ```
/// use proc_daemon::resources::ResourceTracker;
/// use std::time::Duration;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut tracker = ResourceTracker::new(Duration::from_millis(100));
/// tracker.start().await.unwrap();
/// let usage = tracker.current_usage().unwrap();
/// assert!(usage.memory_bytes > 0 && usage.threads >= 1);
/// # });
/// ```
#[derive(Debug)]
pub struct ResourceTracker {
    interval: Duration,
    latest: Latest,
    sampler: Option<tokio::task::JoinHandle<()>>,
}

impl ResourceTracker {
    /// A tracker sampling every `interval` once started.
    #[must_use]
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            latest: Arc::default(),
            sampler: None,
        }
    }

    /// Takes a first sample and starts sampling every interval (a no-op if already started).
    ///
    /// # Errors
    /// [`Error::Other`] when `/proc/self/stat` cannot be read (not Linux).
    pub async fn start(&mut self) -> Result<()> {
        if self.sampler.is_some() {
            return Ok(());
        }
        let first = ProcessStats::read()
            .ok_or_else(|| Error::other("resource tracking needs /proc/self/stat"))?;
        let mut previous = (first, Instant::now());
        store(&self.latest, first, 0.0);
        let (latest, interval) = (self.latest.clone(), self.interval);
        self.sampler = Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(stats) = ProcessStats::read() else {
                    continue;
                };
                let now = Instant::now();
                let wall = now.duration_since(previous.1).as_secs_f64();
                let cpu = stats.cpu_seconds - previous.0.cpu_seconds;
                let percent = if wall > 0.0 {
                    (cpu / wall * 100.0).max(0.0)
                } else {
                    0.0
                };
                store(&latest, stats, percent);
                previous = (stats, now);
            }
        }));
        Ok(())
    }

    /// The latest sample (`None` before [`start`](Self::start)).
    #[must_use]
    pub fn current_usage(&self) -> Option<ResourceUsage> {
        *self
            .latest
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stops sampling; the last sample stays readable.
    pub fn stop(&mut self) {
        if let Some(sampler) = self.sampler.take() {
            sampler.abort();
        }
    }
}

impl Drop for ResourceTracker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn store(latest: &Latest, stats: ProcessStats, cpu_percent: f64) {
    *latest
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ResourceUsage {
        memory_bytes: stats.resident_bytes,
        cpu_percent,
        threads: stats.threads,
        sampled_at: Instant::now(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn busy_cpu_shows_in_the_samples() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let mut tracker = ResourceTracker::new(Duration::from_millis(50));
        assert!(tracker.current_usage().is_none());
        tracker.start().await.unwrap();
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
            busiest = busiest.max(tracker.current_usage().unwrap().cpu_percent);
            tokio::time::sleep(Duration::from_millis(10)).await; // poll interval
        }
        seen.store(true, Ordering::Relaxed);
        let _ = spin.await;
        assert!(busiest > 10.0, "a spinning thread never showed: {busiest}%");
        tracker.stop();
    }
}
