//! The clock the runtime reads for its own latency measurements (today: how long a
//! configuration reload took, logged and exported as `proc_daemon_config_reload_seconds`).
//!
//! With the `high-res-timing` feature this is [`quanta`]: the CPU's time-stamp counter,
//! calibrated against the monotonic clock once, read without a system call — several times
//! cheaper than `std::time::Instant::now()` (numbers in `docs/PERFORMANCE.md`). Without it,
//! the standard library's monotonic clock.
//!
//! ```
//! # #[cfg(feature = "high-res-timing")] {
//! use proc_daemon::timing;
//!
//! let start = timing::now();
//! std::thread::sleep(std::time::Duration::from_millis(2));
//! assert!(timing::now().duration_since(start) >= std::time::Duration::from_millis(2));
//! assert!(start.elapsed() >= std::time::Duration::from_millis(2));
//! # }
//! ```

#[cfg(feature = "high-res-timing")]
pub use quanta::Instant;
#[cfg(not(feature = "high-res-timing"))]
pub(crate) use std::time::Instant;

/// The current instant.
#[must_use]
#[inline]
pub fn now() -> Instant {
    Instant::now()
}

#[cfg(all(test, feature = "high-res-timing"))]
mod tests {
    use std::time::Duration;

    #[test]
    fn agrees_with_the_monotonic_clock() {
        // Each quanta read is bracketed by two std reads, so a preempted thread widens the
        // bracket instead of failing the test.
        let before_start = std::time::Instant::now();
        let start = super::now();
        let after_start = std::time::Instant::now();
        std::thread::sleep(Duration::from_millis(20)); // the interval measured, not a wait
        let before_end = std::time::Instant::now();
        let end = super::now();
        let after_end = std::time::Instant::now();
        let measured = end.duration_since(start);
        let (shortest, longest) = (before_end - after_start, after_end - before_start);
        // Calibration error: parts per million; allow 1 %.
        assert!(
            measured >= shortest.mul_f64(0.99) && measured <= longest.mul_f64(1.01),
            "quanta measured {measured:?}, std says between {shortest:?} and {longest:?}"
        );
    }

    #[test]
    fn is_monotonic() {
        let mut last = super::now();
        for _ in 0..100_000 {
            let now = super::now();
            assert!(now >= last);
            last = now;
        }
    }
}
