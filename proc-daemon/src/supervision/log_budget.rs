//! How many failure and restart lines one subsystem may log: a subsystem in a crash loop with
//! a raised restart limit would otherwise write tens of megabytes a second. Within each second
//! the first few events are logged in full; the rest are counted and summed up in one line
//! when the next second's first event comes, or when the subsystem stops.

use std::time::Duration;

use tokio::time::Instant;

/// The window events are counted in.
const WINDOW: Duration = Duration::from_secs(1);
/// Failure-and-restart events logged in full per window.
pub(crate) const PER_WINDOW: u32 = 5;

/// One subsystem's log budget (part of its restart bookkeeping, so an idle subsystem has none).
#[derive(Debug)]
pub(crate) struct LogBudget {
    window_start: Instant,
    used: u32,
    suppressed: u32,
}

impl LogBudget {
    pub(crate) const fn new(now: Instant) -> Self {
        Self {
            window_start: now,
            used: 0,
            suppressed: 0,
        }
    }

    /// Whether the event at `now` is logged in full; a new window first reports what the
    /// last one left out.
    pub(crate) fn admit(&mut self, now: Instant, name: &str) -> bool {
        if now.duration_since(self.window_start) >= WINDOW {
            self.report(name);
            self.window_start = now;
            self.used = 0;
        }
        if self.used < PER_WINDOW {
            self.used += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }

    /// Logs how many events were left out, if any.
    pub(crate) fn report(&mut self, name: &str) {
        if self.suppressed > 0 {
            tracing::warn!(
                subsystem = name,
                suppressed = self.suppressed,
                "subsystem `{name}`: {} more failure(s) and restart(s) were not logged (at most {PER_WINDOW} a second are)",
                self.suppressed
            );
            self.suppressed = 0;
        }
    }

    #[cfg(test)]
    const fn suppressed(&self) -> u32 {
        self.suppressed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_few_events_a_second_are_logged_the_rest_counted() {
        let start = Instant::now();
        let mut budget = LogBudget::new(start);
        let logged = (0..100).filter(|_| budget.admit(start, "x")).count();
        assert_eq!(logged, PER_WINDOW as usize);
        assert_eq!(budget.suppressed(), 100 - PER_WINDOW);
        // The next second starts afresh, after reporting the count.
        assert!(budget.admit(start + WINDOW, "x"));
        assert_eq!(budget.suppressed(), 0);
    }
}
