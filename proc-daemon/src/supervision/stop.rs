//! The ordered stop: every running subsystem is marked `Stopping` and every handle cancelled
//! at `t0` (`lifecycle::begin_shutdown`); each subsystem then has its own budget
//! (its `shutdown_timeout`, else `shutdown.timeout_ms`), and those still running when theirs
//! runs out are aborted and named; in dependency order (`after = [...]`), dependents first,
//! each budget counted from its own stop (`stop_in_order`). The force and kill deadlines are
//! the watchdog's.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use super::lifecycle::request_shutdown;
use crate::state::{Dependencies, Shared, ShutdownReason, SubsystemEntry};
use std::sync::Arc;

/// `` (`db` 30s, `api` 2s)`` for the subsystems with a budget of their own.
fn own_budget_note(own: &[(&str, Duration)]) -> String {
    if own.is_empty() {
        return String::new();
    }
    let named = own
        .iter()
        .map(|(name, budget)| format!("`{name}` {budget:?}"));
    format!(" ({})", first_ten(named, own.len()))
}

/// The first ten of `total` items, comma-separated, and how many more: log lines stay short
/// at 100 000 subsystems.
pub(crate) fn first_ten(items: impl Iterator<Item = String>, total: usize) -> String {
    const SHOWN: usize = 10;
    let mut shown: Vec<String> = items.take(SHOWN).collect();
    if total > SHOWN {
        shown.push(format!("and {} more", total - SHOWN));
    }
    shown.join(", ")
}

/// Aborts the subsystem at `index` because its budget ran out, unless it has ended; logs it and
/// returns its name in backquotes, for the overrun error.
pub(crate) fn abort_overdue(shared: &Shared, index: usize, budget: Duration) -> Option<String> {
    let entry = &shared.entries()[index];
    if entry.state().is_terminal()
        || !entry.abort_overdue(budget, shared.abort_handle(index).as_ref(), &shared.events)
    {
        return None;
    }
    tracing::error!(
        subsystem = entry.name(),
        "subsystem `{}` did not stop within its shutdown timeout of {budget:?}; aborting it",
        entry.name()
    );
    Some(format!("`{}`", entry.name()))
}

/// Cancels every handle, then aborts subsystems that overrun their budget. Returns the names of
/// the aborted ones, each in backquotes.
pub(crate) async fn shut_down(shared: &Arc<Shared>, tracker: &TaskTracker) -> Vec<String> {
    let t0 = Instant::now();
    let config = shared.config.get();
    let deadlines = &config.shutdown;
    // Normally a no-op: whoever requested the shutdown has armed the watchdog already.
    request_shutdown(shared, ShutdownReason::Requested);
    let reason = shared
        .shutdown_reason()
        .unwrap_or(ShutdownReason::Requested);
    let global = deadlines.timeout();
    let budget_of = |entry: &SubsystemEntry| entry.subsystem.shutdown_timeout().unwrap_or(global);
    let mut budgets: Vec<Duration> = Vec::new();
    let mut own_budgets = Vec::new();
    for entry in shared.entries().iter() {
        let budget = budget_of(entry);
        if let Err(at) = budgets.binary_search(&budget) {
            budgets.insert(at, budget);
        }
        if budget != global {
            own_budgets.push((entry.name(), budget));
        }
    }
    let ordered = shared.dependencies();
    tracing::info!(
        "shutting down ({reason}); subsystems have {global:?} to stop{}{}",
        own_budget_note(&own_budgets),
        if ordered.is_some() {
            ", in dependency order: each once what runs after it has stopped"
        } else {
            ""
        }
    );
    if let Some(order) = ordered {
        return stop_in_order(shared, order, tracker, t0, budget_of).await;
    }

    let mut overrun = Vec::new();
    for budget in budgets {
        if tokio::time::timeout_at(t0 + budget, tracker.wait())
            .await
            .is_ok()
        {
            return overrun;
        }
        for (index, entry) in shared.entries().iter().enumerate() {
            if budget_of(entry) <= budget {
                overrun.extend(abort_overdue(shared, index, budget));
            }
        }
    }
    tracker.wait().await;
    overrun
}

/// The stop in dependency order: a subsystem's handle is cancelled once everything that runs
/// after it has ended, and it is aborted when its own budget, counted from then, runs out. The
/// force and kill deadlines (the watchdog's) bound the whole sequence. Returns the aborted
/// subsystems' names, each in backquotes.
pub(crate) async fn stop_in_order(
    shared: &Shared,
    order: &Dependencies,
    tracker: &TaskTracker,
    t0: Instant,
    budget_of: impl Fn(&SubsystemEntry) -> Duration,
) -> Vec<String> {
    let entries = shared.entries();
    let mut overrun = Vec::new();
    loop {
        let changed = order.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        for (index, entry) in order.covered(entries).enumerate() {
            let dependents_done = order
                .before(index)
                .iter()
                .all(|&dependent| entries[dependent].has_exited());
            if dependents_done && order.begin_stop(index) {
                if !order.before(index).is_empty() {
                    tracing::debug!(
                        subsystem = entry.name(),
                        "what runs after `{}` has stopped; stopping it",
                        entry.name()
                    );
                }
                entry.mark_stopping(&shared.events);
            }
        }
        if entries.iter().all(SubsystemEntry::has_exited) {
            break;
        }
        let now = Instant::now();
        let mut next_deadline: Option<Instant> = None;
        for (index, entry) in entries.iter().enumerate() {
            // Added at run time, outside the order: stopping since `t0`, with the daemon.
            let since = if order.covers(index) {
                match order.stopping_since(index) {
                    Some(since) => since,
                    None => continue,
                }
            } else {
                t0
            };
            if entry.has_exited() {
                continue;
            }
            let budget = budget_of(entry);
            let deadline = since + budget;
            if deadline > now {
                next_deadline = Some(next_deadline.map_or(deadline, |d| d.min(deadline)));
            } else {
                overrun.extend(abort_overdue(shared, index, budget));
            }
        }
        let sleep = async {
            match next_deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = changed => {}
            () = sleep => {}
            () = tracker.wait() => break,
        }
    }
    tracker.wait().await;
    overrun
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_budgets_are_named_in_the_log_line() {
        assert_eq!(own_budget_note(&[]), "");
        let own = [
            ("db", Duration::from_secs(30)),
            ("api", Duration::from_secs(2)),
        ];
        assert_eq!(own_budget_note(&own), " (`db` 30s, `api` 2s)");
        let many: Vec<(&str, Duration)> = (0..12).map(|_| ("x", Duration::from_secs(1))).collect();
        assert!(own_budget_note(&many).ends_with(", and 2 more)"));
    }
}
