//! What happens when a subsystem's run ends: restart policies, backoff and restart intensity.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// What to do when a subsystem's run ends while the daemon is not shutting down.
///
/// | policy | run returned `Ok` | run returned `Err` or panicked |
/// |---|---|---|
/// | `Never` | stopped | failed |
/// | `Always` | restarted | restarted |
/// | `OnFailure` | stopped | restarted at once |
/// | `ExponentialBackoff` | stopped | restarted after a growing delay |
///
/// Every policy is bounded by a [`RestartLimit`].
///
/// ```
/// use proc_daemon::RestartPolicy;
/// use std::time::Duration;
///
/// let policy = RestartPolicy::ExponentialBackoff {
///     initial_delay: Duration::from_millis(100),
///     max_delay: Duration::from_secs(30),
/// };
/// assert!(policy.restarts_after_failure());
/// assert!(!policy.restarts_after_success());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Never restart.
    Never,
    /// Restart after every run, successful or not.
    Always,
    /// Restart at once after a failed run; a successful run stops the subsystem.
    #[default]
    OnFailure,
    /// Restart after a failed run, waiting a delay that doubles from `initial_delay` up to
    /// `max_delay` (with jitter: each delay is drawn from the upper half of its step). The delay
    /// starts over after a run that lasted longer than `max_delay`.
    ExponentialBackoff {
        /// The first delay.
        initial_delay: Duration,
        /// The largest delay.
        max_delay: Duration,
    },
}

impl RestartPolicy {
    /// The first delay of [`exponential_backoff`](Self::exponential_backoff), and of
    /// `#[subsystem(restart = "exponential_backoff")]` without `initial_delay`.
    pub const DEFAULT_INITIAL_DELAY: Duration = Duration::from_millis(100);

    /// The largest delay of [`exponential_backoff`](Self::exponential_backoff), and of
    /// `#[subsystem(restart = "exponential_backoff")]` without `max_delay`.
    pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(30);

    /// The backoff policy with the default bounds (100 ms to 30 s).
    ///
    /// ```
    /// use proc_daemon::RestartPolicy;
    ///
    /// assert_eq!(
    ///     RestartPolicy::exponential_backoff(),
    ///     RestartPolicy::ExponentialBackoff {
    ///         initial_delay: RestartPolicy::DEFAULT_INITIAL_DELAY,
    ///         max_delay: RestartPolicy::DEFAULT_MAX_DELAY,
    ///     }
    /// );
    /// ```
    #[must_use]
    pub const fn exponential_backoff() -> Self {
        Self::ExponentialBackoff {
            initial_delay: Self::DEFAULT_INITIAL_DELAY,
            max_delay: Self::DEFAULT_MAX_DELAY,
        }
    }

    /// Whether a run that returned `Ok` is followed by another run.
    #[must_use]
    pub const fn restarts_after_success(&self) -> bool {
        matches!(self, Self::Always)
    }

    /// Whether a run that failed is followed by another run.
    #[must_use]
    pub const fn restarts_after_failure(&self) -> bool {
        !matches!(self, Self::Never)
    }
}

/// Restart intensity: more than `max_restarts` restarts inside `within` ends the subsystem as
/// failed, so no restart storm can spin a core.
///
/// The default, 10 restarts within 60 s, stops an immediate crash loop after ten attempts while
/// letting the default exponential backoff (whose delays sum past 60 s by the tenth attempt)
/// retry forever.
///
/// The window keeps one timestamp (16 bytes) per restart inside it, so it never holds more than
/// `max_restarts` of them: a huge `max_restarts` with a long `within` lets a crash loop use
/// that much memory before the limit is reached.
///
/// ```
/// use proc_daemon::RestartLimit;
/// use std::time::Duration;
///
/// let limit = RestartLimit::new(3, Duration::from_secs(5));
/// assert_eq!(limit.max_restarts, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartLimit {
    /// The largest number of restarts allowed inside the window.
    pub max_restarts: u32,
    /// The sliding window.
    pub within: Duration,
}

impl RestartLimit {
    /// A limit of `max_restarts` restarts within `within`.
    #[must_use]
    pub const fn new(max_restarts: u32, within: Duration) -> Self {
        Self {
            max_restarts,
            within,
        }
    }
}

impl Default for RestartLimit {
    fn default() -> Self {
        Self::new(10, Duration::from_secs(60))
    }
}

/// Counts recent restarts of one subsystem against its [`RestartLimit`].
#[derive(Debug)]
pub(crate) struct RestartWindow {
    limit: RestartLimit,
    recent: VecDeque<Instant>,
}

impl RestartWindow {
    pub(crate) const fn new(limit: RestartLimit) -> Self {
        Self {
            limit,
            recent: VecDeque::new(),
        }
    }

    /// Records a restart at `now`; `false` when it exceeds the limit.
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        while let Some(&oldest) = self.recent.front() {
            if now.duration_since(oldest) >= self.limit.within {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() >= self.limit.max_restarts as usize {
            return false;
        }
        self.recent.push_back(now);
        true
    }
}

/// The delays of [`RestartPolicy::ExponentialBackoff`].
#[derive(Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) const fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            attempt: 0,
        }
    }

    /// The ceiling of the next delay, before jitter: `initial * 2^attempt`, capped at `max`.
    fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The next delay: drawn uniformly from the upper half of the current step, so delays still
    /// grow but restarts of many subsystems do not line up.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(fastrand::u64(0..=spread))
    }

    /// Called with the length of the run that just ended: a long, healthy run starts the delays
    /// over.
    pub(crate) fn observe_run(&mut self, lasted: Duration) {
        if lasted > self.max {
            self.attempt = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_follow_the_table() {
        use RestartPolicy::*;
        let backoff = RestartPolicy::exponential_backoff();
        assert!(!Never.restarts_after_success() && !Never.restarts_after_failure());
        assert!(Always.restarts_after_success() && Always.restarts_after_failure());
        assert!(!OnFailure.restarts_after_success() && OnFailure.restarts_after_failure());
        assert!(!backoff.restarts_after_success() && backoff.restarts_after_failure());
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_max() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let ceilings = [100, 200, 400, 800, 1000, 1000];
        for ceiling in ceilings {
            let ceiling = Duration::from_millis(ceiling);
            let delay = backoff.next_delay();
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{delay:?} outside [{:?}, {ceiling:?}]",
                ceiling / 2
            );
        }
    }

    #[test]
    fn backoff_resets_after_a_long_run_only() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        for _ in 0..5 {
            backoff.next_delay();
        }
        backoff.observe_run(Duration::from_millis(999));
        assert!(backoff.next_delay() >= Duration::from_millis(500));
        backoff.observe_run(Duration::from_millis(1001));
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn backoff_survives_huge_attempt_counts() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..200 {
            assert!(backoff.next_delay() <= Duration::from_secs(60));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn window_admits_up_to_the_limit_then_slides() {
        let mut window = RestartWindow::new(RestartLimit::new(2, Duration::from_secs(10)));
        let start = Instant::now();
        assert!(window.admit(start));
        assert!(window.admit(start + Duration::from_secs(1)));
        assert!(!window.admit(start + Duration::from_secs(2)));
        // The first restart leaves the window after 10 s.
        assert!(window.admit(start + Duration::from_secs(10)));
        assert!(!window.admit(start + Duration::from_secs(10)));
    }

    #[test]
    fn zero_limit_forbids_every_restart() {
        let mut window = RestartWindow::new(RestartLimit::new(0, Duration::from_secs(1)));
        assert!(!window.admit(Instant::now()));
    }
}
