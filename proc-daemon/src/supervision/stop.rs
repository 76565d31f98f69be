//! The ordered stop: every handle is cancelled at `t0`; each subsystem then has its own budget
//! (its `shutdown_timeout`, else `shutdown.timeout_ms`), and those still running when theirs
//! runs out are aborted and named. The force and kill deadlines are the watchdog's.

use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use super::lifecycle::request_shutdown;
use crate::state::{Shared, ShutdownReason, SubsystemEntry};
use std::sync::Arc;

/// Cancels every handle, then aborts subsystems that overrun their budget. Returns the names of
/// the aborted ones, each in backquotes.
pub(crate) async fn shut_down(
    shared: &Arc<Shared>,
    tracker: &TaskTracker,
    aborts: &[Option<AbortHandle>],
) -> Vec<String> {
    let t0 = Instant::now();
    let config = shared.config.get();
    let deadlines = &config.shutdown;
    // Normally a no-op: whoever requested the shutdown has armed the watchdog already.
    request_shutdown(shared, ShutdownReason::Requested);
    let reason = shared
        .shutdown_reason()
        .unwrap_or(ShutdownReason::Requested);
    tracing::info!(
        "shutting down ({reason}); subsystems have {:?} to stop",
        deadlines.timeout()
    );

    let global = deadlines.timeout();
    let budget_of = |entry: &SubsystemEntry| entry.subsystem.shutdown_timeout().unwrap_or(global);
    let mut budgets: Vec<Duration> = Vec::new();
    for entry in shared.entries() {
        entry.mark_stopping(&shared.events);
        let budget = budget_of(entry);
        if let Err(at) = budgets.binary_search(&budget) {
            budgets.insert(at, budget);
        }
    }

    let mut overrun = Vec::new();
    for budget in budgets {
        if tokio::time::timeout_at(t0 + budget, tracker.wait())
            .await
            .is_ok()
        {
            return overrun;
        }
        for (entry, abort) in shared.entries().iter().zip(aborts) {
            if budget_of(entry) <= budget
                && entry.abort_overdue(budget, abort.as_ref(), &shared.events)
            {
                tracing::error!(
                    subsystem = entry.name(),
                    "subsystem `{}` did not stop within its shutdown timeout of {budget:?}; aborting it",
                    entry.name()
                );
                overrun.push(format!("`{}`", entry.name()));
            }
        }
    }
    tracker.wait().await;
    overrun
}
