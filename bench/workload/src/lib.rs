//! Shared by the benchmark programs: which workload to run, and the lines each program prints
//! (`ready` once its subsystems are running, `runs <count>` at exit for the restart workload).
//!
//! Every implementation is one program taking `<workload> [N]`:
//! - `idle N`: N subsystems that wait for shutdown;
//! - `added N`: the same N, added while the daemon runs (by a first subsystem, once it runs);
//! - `restart`: one subsystem that fails at once, restarted as fast as the framework allows;
//! - `cleanup`: one subsystem that takes [`CLEANUP`] to stop after shutdown is requested.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// How long the `cleanup` workload's subsystem takes to stop.
pub const CLEANUP: Duration = Duration::from_millis(100);

/// What a benchmark program runs, from its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// N subsystems waiting for shutdown.
    Idle(usize),
    /// N subsystems waiting for shutdown, added while the daemon runs.
    Added(usize),
    /// One subsystem failing at once, restarted for as long as the process runs.
    Restart,
    /// One subsystem that takes [`CLEANUP`] to stop.
    Cleanup,
}

impl Workload {
    /// Reads `<workload> [N]` from the command line.
    ///
    /// # Panics
    /// On anything else, with the usage.
    #[must_use]
    pub fn from_args() -> Self {
        let mut args = std::env::args().skip(1);
        let workload = args.next();
        let count = args.next().and_then(|n| n.parse().ok());
        match (workload.as_deref(), count) {
            (Some("idle"), Some(n)) => Self::Idle(n),
            (Some("added"), Some(n)) => Self::Added(n),
            (Some("restart"), None) => Self::Restart,
            (Some("cleanup"), None) => Self::Cleanup,
            _ => panic!("usage: <program> idle <N> | added <N> | restart | cleanup"),
        }
    }

    /// How many subsystems the workload runs.
    #[must_use]
    pub const fn subsystems(self) -> usize {
        match self {
            Self::Idle(n) | Self::Added(n) => n,
            Self::Restart | Self::Cleanup => 1,
        }
    }
}

/// Counts subsystems that have started; the last of `total` prints `ready`. Later starts (the
/// restart workload's reruns) are counted as runs.
#[derive(Debug)]
pub struct Readiness {
    started: AtomicUsize,
    runs: AtomicU64,
    total: usize,
}

impl Readiness {
    /// Expects `total` subsystems.
    #[must_use]
    pub const fn new(total: usize) -> Self {
        Self {
            started: AtomicUsize::new(0),
            runs: AtomicU64::new(0),
            total,
        }
    }

    /// Called by each subsystem every time it runs.
    pub fn started(&self) {
        if self.runs.fetch_add(1, Ordering::Relaxed) < self.total as u64
            && self.started.fetch_add(1, Ordering::AcqRel) + 1 == self.total
        {
            println!("ready");
        }
    }

    /// Prints `runs <count>`: how many times subsystems have run in all.
    pub fn report_runs(&self) {
        println!("runs {}", self.runs.load(Ordering::Relaxed));
    }
}
