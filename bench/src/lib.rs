//! Shared by the benchmark programs: how many idle subsystems to run, and the one line each
//! program prints once all of them are running.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The number of idle subsystems, from the first argument.
#[must_use]
pub fn count_from_args() -> usize {
    std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("usage: <program> <number of idle subsystems>")
}

/// Counts subsystems that have started; the last of `total` prints `ready`.
#[derive(Debug)]
pub struct Readiness {
    started: AtomicUsize,
    total: usize,
}

impl Readiness {
    /// Expects `total` subsystems.
    #[must_use]
    pub const fn new(total: usize) -> Self {
        Self {
            started: AtomicUsize::new(0),
            total,
        }
    }

    /// Called once by each subsystem when it first runs.
    pub fn started(&self) {
        if self.started.fetch_add(1, Ordering::AcqRel) + 1 == self.total {
            println!("ready");
        }
    }
}
