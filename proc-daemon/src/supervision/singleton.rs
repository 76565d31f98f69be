//! Singleton subsystems (`#[subsystem(singleton)]`): with `[cluster]`, a singleton runs only
//! while this replica leads. Until then it stands by — shown as stopped, waiting for
//! `leadership`, and holding neither start-up nor readiness back (followers are ready). When
//! the replica stops leading, the run is cancelled and must end within its stop budget, which
//! the election leaves it before the lease could let another replica start it; then it stands
//! by again. Without `[cluster]` the daemon is its own leader and a singleton runs as any
//! subsystem does.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::lifecycle::subsystem_started;
use super::order::{Waited, run_handle, wait_for_dependencies};
use super::run::{RunOnce, run_once};
use crate::state::{Shared, SubsystemEntry};
use crate::{ShutdownHandle, SubsystemState};

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

fn clustered(shared: &Shared) -> bool {
    shared.config.get().cluster.is_some()
}

/// Waits until what `index` runs after is ready and, for a singleton, until this replica leads.
/// Boxed: only subsystems with dependencies or singletons carry its state.
pub(crate) fn wait_to_start(shared: &Arc<Shared>, index: usize) -> Boxed<'_, Waited> {
    Box::pin(async move {
        let waited = if shared.dependencies().is_some() {
            wait_for_dependencies(shared, index).await
        } else {
            Waited::Ready
        };
        if matches!(waited, Waited::Ready) && shared.entries()[index].subsystem.singleton() {
            wait_to_lead(shared, index).await
        } else {
            waited
        }
    })
}

/// One run: a singleton's while this replica leads, any other's as it is.
pub(crate) fn run(shared: &Arc<Shared>, index: usize) -> RunOnce<'_> {
    if shared.entries()[index].subsystem.singleton() {
        RunOnce::Checked(run_while_leading(shared, index))
    } else {
        run_once(shared, index, run_handle(shared, index))
    }
}

/// Waits until this replica leads (at once without `[cluster]`).
fn wait_to_lead(shared: &Arc<Shared>, index: usize) -> Boxed<'_, Waited> {
    Box::pin(async move {
        let entry = &shared.entries()[index];
        let mut standing = shared.leadership.watch();
        if !clustered(shared) || standing.borrow_and_update().leading {
            return Waited::Ready;
        }
        let name = entry.name();
        if entry.state() != SubsystemState::Stopped {
            entry.transition(SubsystemState::Stopped, None, &shared.events);
        }
        tracing::info!(
            subsystem = name,
            "subsystem `{name}` is a singleton: it waits until this replica leads"
        );
        if entry.count_started() {
            subsystem_started(shared);
        }
        loop {
            tokio::select! {
                () = entry.token().cancelled() => return Waited::ShuttingDown,
                changed = standing.changed() => if changed.is_err() {
                    return Waited::ShuttingDown;
                },
            }
            if standing.borrow_and_update().leading {
                tracing::info!(
                    subsystem = name,
                    "subsystem `{name}` starts: this replica leads"
                );
                return Waited::Ready;
            }
        }
    })
}

/// One run of a singleton, cancelled when this replica stops leading and then given its stop
/// budget (aborted after it).
fn run_while_leading(shared: &Arc<Shared>, index: usize) -> Boxed<'_, Result<(), Arc<str>>> {
    Box::pin(async move {
        let entry = &shared.entries()[index];
        let term = run_handle(shared, index).token().child_token();
        let run = run_once(shared, index, ShutdownHandle::from_token(term.clone()));
        tokio::pin!(run);
        let mut standing = shared.leadership.watch();
        let watching = clustered(shared);
        tokio::select! {
            outcome = &mut run => return outcome,
            () = async {
                while standing.borrow_and_update().leading {
                    if standing.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }, if watching => {}
        }
        term.cancel();
        let budget = entry
            .subsystem
            .shutdown_timeout()
            .unwrap_or_else(|| shared.config.get().shutdown.timeout());
        let name = entry.name();
        tracing::warn!(
            subsystem = name,
            "subsystem `{name}`: this replica no longer leads; stopping it within {budget:?}"
        );
        match tokio::time::timeout(budget, run).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!(
                "did not stop within {budget:?} after this replica stopped leading, and was aborted"
            )
            .into()),
        }
    })
}

/// Whether a singleton's run ended because this replica stopped leading; if so it is recorded
/// as stopped (its error, if any, logged) and stands by again.
pub(crate) fn lost_leadership(
    shared: &Shared,
    entry: &SubsystemEntry,
    outcome: &Result<(), Arc<str>>,
) -> bool {
    if !clustered(shared) || shared.leadership.now().leading {
        return false;
    }
    let name = entry.name();
    match outcome {
        Ok(()) => tracing::info!(
            subsystem = name,
            "subsystem `{name}` stopped: this replica no longer leads"
        ),
        Err(error) => tracing::error!(
            subsystem = name,
            "subsystem `{name}` failed while stopping after this replica stopped leading: {error}"
        ),
    }
    entry.transition(SubsystemState::Stopped, None, &shared.events);
    true
}
