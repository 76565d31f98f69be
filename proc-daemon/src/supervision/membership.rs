//! Subsystems added and removed while the daemon runs (`DaemonHandle::add_subsystem`,
//! `remove_subsystem`, `ctl stop-subsystem`). An added subsystem gets a supervisor like the
//! others (policy, restart limit, health checks, status, metrics, events); a removed one is
//! stopped within its own budget and then leaves status, readiness and metrics.

use std::sync::Arc;

use tokio::time::Instant;

use super::supervisor::supervise;
use crate::state::{Shared, SubsystemStatus};
use crate::{Error, Result, Subsystem};

/// Adds `subsystem` to the running daemon and starts its supervisor.
pub(crate) fn add(shared: &Arc<Shared>, subsystem: Box<dyn Subsystem>) -> Result<()> {
    let refuse = |why: &str| Err(refusal(subsystem.name(), why));
    let Some((runtime, tracker)) = shared.runtime() else {
        return refuse(
            "cannot be added: the daemon is not running yet (add it to the builder instead)",
        );
    };
    if !subsystem.dependencies().is_empty() {
        return refuse(
            "cannot be added at run time with `after = [...]`: the dependency order is fixed when the daemon starts",
        );
    }
    if let Some(need) = subsystem
        .required_state()
        .into_iter()
        .find(|need| !shared.provided().has(need))
    {
        return Err(crate::subsystem::provided::missing(
            subsystem.name(),
            need.type_name(),
        ));
    }
    shared.entries().change(|names| {
        let refuse = |why: &str| Err(refusal(subsystem.name(), why));
        if shared.is_stopping() {
            return refuse("cannot be added: the daemon is shutting down");
        }
        let entry = crate::state::SubsystemEntry::new(subsystem, &shared.shutdown);
        // Start-up is over: an added subsystem does not count towards it.
        let _ = entry.count_started();
        let index = match names.push_unique(entry) {
            Ok(index) => index,
            Err(refused) => {
                return Err(refusal(
                    refused.name(),
                    "cannot be added: a subsystem of that name is already running",
                ));
            }
        };
        let task = tracker.spawn_on(supervise(shared.clone(), index), runtime);
        shared.set_abort(index, task.abort_handle());
        let name = shared.entries()[index].name();
        tracing::info!(subsystem = name, "added subsystem `{name}`");
        Ok(())
    })
}

fn refusal(name: &str, why: &str) -> Error {
    Error::other(format!("subsystem `{name}` {why}"))
}

/// Stops the present subsystem `name` within its budget and removes it; how it ended.
pub(crate) async fn remove(shared: &Shared, name: &str) -> Result<SubsystemStatus> {
    let refuse = |why: String| Error::other(format!("subsystem `{name}` {why}"));
    if shared.runtime().is_none() {
        return Err(refuse(
            "cannot be removed: the daemon is not running".to_owned(),
        ));
    }
    let entries = shared.entries();
    let index = entries.change(|names| {
        let Some(index) = names.position(name) else {
            return Err(refuse(
                "cannot be removed: no subsystem of that name is running".to_owned(),
            ));
        };
        if shared.shutdown.is_shutdown() {
            return Err(refuse(
                "cannot be removed: the daemon is shutting down".to_owned(),
            ));
        }
        let order = shared.dependencies();
        if let Some(dependent) = order.into_iter().flat_map(|o| o.before(index)).find(|&&d| {
            let entry = &entries[d];
            !entry.is_removed() && !entry.has_exited()
        }) {
            return Err(refuse(format!(
                "cannot be removed while `{}`, which runs after it, is running; remove that first",
                entries[*dependent].name()
            )));
        }
        if !entries[index].begin_removal() {
            return Err(refuse("is already being removed".to_owned()));
        }
        if let Some(order) = order.filter(|order| order.covers(index)) {
            order.begin_stop(index);
        }
        Ok(index)
    })?;
    let entry = &entries[index];
    let budget = entry
        .subsystem
        .shutdown_timeout()
        .unwrap_or_else(|| shared.config.get().shutdown.timeout());
    tracing::info!(
        subsystem = name,
        "removing subsystem `{name}`; it has {budget:?} to stop"
    );
    entry.mark_stopping(&shared.events);
    let deadline = Instant::now() + budget;
    tokio::select! {
        () = shared.exits.wait_until(|| entry.has_exited()) => {}
        () = tokio::time::sleep_until(deadline) => {
            super::stop::abort_overdue(shared, index, budget);
            // An abort cannot interrupt blocking code: do not wait for the task to end.
        }
    }
    let status = entry.status();
    entry.mark_removed();
    shared.release_abort(index);
    entries.change(|names| names.forget(name));
    tracing::info!(
        subsystem = name,
        "removed subsystem `{name}` ({}{})",
        status.state,
        status
            .last_error
            .as_deref()
            .map(|error| format!(": {error}"))
            .unwrap_or_default()
    );
    Ok(status)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::daemon::testing::TestDaemon;
    use crate::{Config, Daemon, SubsystemFn, SubsystemState};

    fn idle(name: &'static str) -> impl crate::Subsystem {
        SubsystemFn::new(name, |shutdown: crate::ShutdownHandle| async move {
            shutdown.cancelled().await;
            Ok(())
        })
    }

    #[tokio::test(start_paused = true)]
    async fn added_subsystems_run_supervised_and_removed_ones_leave() {
        let error = Daemon::builder(Config::default())
            .handle()
            .add_subsystem(idle("early"))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "subsystem `early` cannot be added: the daemon is not running yet (add it to the builder instead)"
        );
        let mut daemon = TestDaemon::builder("")
            .unwrap()
            .with_subsystem(idle("main"))
            .start();
        daemon.ready().await.unwrap();
        let handle = daemon.handle().clone();

        handle.add_subsystem(idle("tenant-1")).unwrap();
        let error = handle.add_subsystem(idle("main")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "subsystem `main` cannot be added: a subsystem of that name is already running"
        );
        let error = handle
            .add_subsystem(SubsystemFn::new("ordered", |_s| async { Ok(()) }).after("main"))
            .unwrap_err();
        assert!(
            error.to_string().contains("dependency order is fixed"),
            "{error}"
        );
        daemon.wait_for("tenant-1", SubsystemState::Running).await;
        assert_eq!(handle.readiness(), Ok(()));

        let ended = handle.remove_subsystem("tenant-1").await.unwrap();
        assert_eq!(
            (ended.name.as_str(), ended.state),
            ("tenant-1", SubsystemState::Stopped)
        );
        let names: Vec<String> = daemon.subsystems().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["main"]);
        // Its ended task is not kept alive by its abort handle until the daemon stops.
        assert!(handle.shared_for_probe().abort_handle(1).is_none());
        assert!(handle.shared_for_probe().abort_handle(0).is_some());
        let error = handle.remove_subsystem("tenant-1").await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "subsystem `tenant-1` cannot be removed: no subsystem of that name is running"
        );
        // The name is free again.
        handle.add_subsystem(idle("tenant-1")).unwrap();
        daemon.wait_for("tenant-1", SubsystemState::Running).await;

        daemon.stop();
        assert_eq!(daemon.exit_code().await, 0);
        let error = handle.add_subsystem(idle("late")).unwrap_err();
        assert!(
            error.to_string().ends_with("the daemon is shutting down"),
            "{error}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_removed_subsystem_that_ignores_its_handle_is_aborted_at_its_own_budget() {
        let mut daemon = TestDaemon::builder("")
            .unwrap()
            .with_subsystem(idle("main"))
            .start();
        daemon.ready().await.unwrap();
        let stuck = SubsystemFn::new("stuck", |_shutdown| async {
            std::future::pending::<()>().await;
            Ok(())
        })
        .shutdown_timeout(Duration::from_secs(2));
        daemon.handle().add_subsystem(stuck).unwrap();
        daemon.wait_for("stuck", SubsystemState::Running).await;
        let start = tokio::time::Instant::now();
        let ended = daemon.handle().remove_subsystem("stuck").await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        assert_eq!(ended.state, SubsystemState::Failed);
        assert_eq!(
            ended.last_error.as_deref(),
            Some("did not stop within its shutdown timeout of 2s; aborted")
        );
        // The daemon carries on, and stops cleanly: the aborted run is not its overrun.
        assert_eq!(daemon.subsystems().len(), 1);
        daemon.stop();
        assert_eq!(daemon.exit_code().await, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_subsystem_others_run_after_is_removed_only_after_them() {
        let api = SubsystemFn::new("api", |shutdown: crate::ShutdownHandle| async move {
            shutdown.cancelled().await;
            Ok(())
        })
        .after("db");
        let mut daemon = TestDaemon::builder("")
            .unwrap()
            .with_subsystem(idle("db"))
            .with_subsystem(api)
            .start();
        daemon.ready().await.unwrap();
        let handle = daemon.handle().clone();
        let error = handle.remove_subsystem("db").await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "subsystem `db` cannot be removed while `api`, which runs after it, is running; remove that first"
        );
        assert_eq!(
            handle.remove_subsystem("api").await.unwrap().state,
            SubsystemState::Stopped
        );
        assert_eq!(
            handle.remove_subsystem("db").await.unwrap().state,
            SubsystemState::Stopped
        );
        // Nothing is left: the daemon stops on its own.
        assert_eq!(daemon.exit_code().await, 0);
    }
}
