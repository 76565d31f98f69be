//! Dependency order at run time (`after = [...]`): a subsystem's run waits until what it runs
//! after is ready; a restart of a dependency restarts what runs after it, once it is ready
//! again. (The stop, which goes the other way, is `stop::stop_in_order`.)

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::state::{Shared, SubsystemEntry};
use crate::{ShutdownHandle, SubsystemState};

/// The handle of `index`'s next run: in a start order, the one the order cancels; otherwise
/// the subsystem's own, a child of the daemon's.
pub(crate) fn run_handle(shared: &Shared, index: usize) -> ShutdownHandle {
    match shared.dependencies() {
        Some(order) if order.covers(index) => ShutdownHandle::from_token(order.token(index)),
        _ => ShutdownHandle::from_token(shared.entries()[index].token().clone()),
    }
}

/// What a subsystem that runs after `entry` may do about it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dependency {
    /// Its current run is ready, or it finished cleanly (a one-shot step such as a migration):
    /// go ahead.
    Satisfied,
    /// Starting, restarting or not ready yet: wait.
    Pending,
    /// It ended as failed and will not run again: nothing after it can start.
    Failed,
}

fn dependency(entry: &SubsystemEntry) -> Dependency {
    match entry.state() {
        SubsystemState::Running if entry.is_ready() => Dependency::Satisfied,
        SubsystemState::Stopped => Dependency::Satisfied,
        SubsystemState::Failed => Dependency::Failed,
        _ => Dependency::Pending,
    }
}

/// How waiting for a subsystem's dependencies ended.
#[derive(Debug)]
pub(crate) enum Waited {
    /// Every dependency is satisfied: start the run.
    Ready,
    /// Shutdown began first.
    ShuttingDown,
    /// This dependency failed for good: the subsystem cannot start.
    DependencyFailed(Arc<str>),
}

/// Waits until everything `index` runs after is ready (or finished cleanly). Boxed, so that a
/// supervisor without dependencies carries none of its state.
pub(crate) fn wait_for_dependencies(
    shared: &Shared,
    index: usize,
) -> Pin<Box<dyn Future<Output = Waited> + Send + '_>> {
    Box::pin(async move {
        let Some(order) = shared.dependencies() else {
            return Waited::Ready;
        };
        if order.after(index).is_empty() {
            if order.covers(index) {
                order.renew_token(index);
            }
            return Waited::Ready;
        }
        let entries = shared.entries();
        let mut announced = None;
        loop {
            let changed = order.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let unsatisfied = order.after(index).iter().copied().find_map(|dependency| {
                match self::dependency(&entries[dependency]) {
                    Dependency::Satisfied => None,
                    other => Some((dependency, other)),
                }
            });
            let waiting_for = match unsatisfied {
                None => {
                    order.set_waiting_for(index, None);
                    order.renew_token(index);
                    return Waited::Ready;
                }
                Some((failed, Dependency::Failed)) => {
                    order.set_waiting_for(index, None);
                    return Waited::DependencyFailed(entries[failed].name().into());
                }
                Some((pending, _)) => pending,
            };
            if announced != Some(waiting_for) {
                let name: Arc<str> = entries[waiting_for].name().into();
                order.set_waiting_for(index, Some(name.clone()));
                entries[index].announce_waiting(&name, &shared.events);
                announced = Some(waiting_for);
            }
            tokio::select! {
                () = changed => {}
                // The daemon's shutdown, or this subsystem's removal.
                () = entries[index].token().cancelled() => {
                    order.set_waiting_for(index, None);
                    return Waited::ShuttingDown;
                }
            }
        }
    })
}

/// `index` is about to restart: every subsystem that runs after it (directly, or through one
/// that restarts too) and restarts with its dependencies has its run stopped; each starts again
/// once `index` is ready.
pub(crate) fn restart_dependents(shared: &Shared, index: usize) {
    let Some(order) = shared.dependencies() else {
        return;
    };
    let entries = shared.entries();
    let name: Arc<str> = entries[index].name().into();
    let mut restarted = Vec::new();
    let mut next = vec![index];
    while let Some(current) = next.pop() {
        for &dependent in order.before(current) {
            if restarted.contains(&dependent)
                || !entries[dependent].subsystem.restarts_with_dependencies()
            {
                continue;
            }
            order.restart_for(dependent, &name);
            restarted.push(dependent);
            next.push(dependent);
        }
    }
    if !restarted.is_empty() {
        let names = restarted
            .iter()
            .map(|&dependent| format!("`{}`", entries[dependent].name()));
        tracing::info!(
            subsystem = &*name,
            "subsystem `{name}` restarts, and with it what runs after it: {}",
            super::stop::first_ten(names, restarted.len())
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use crate::subsystem::RunFuture;
    use crate::{Config, Context, Daemon, Error, Subsystem, SubsystemFn};

    type Log = Arc<Mutex<Vec<(Instant, String)>>>;

    fn note(log: &Log, what: impl Into<String>) {
        log.lock().unwrap().push((Instant::now(), what.into()));
    }

    fn when(log: &Log, what: &str) -> Instant {
        log.lock()
            .unwrap()
            .iter()
            .find(|(_, w)| w == what)
            .unwrap_or_else(|| panic!("never saw {what:?} in {:?}", log.lock().unwrap()))
            .0
    }

    /// Ready one second into each run; notes its runs and when its handle is cancelled.
    struct SlowStart {
        log: Log,
        runs: Arc<Mutex<u32>>,
        fail_first_run_after: Option<Duration>,
    }

    impl Subsystem for SlowStart {
        fn name(&self) -> &str {
            "db"
        }
        fn run(&self, _: crate::ShutdownHandle) -> RunFuture {
            unreachable!("the daemon calls run_with_context")
        }
        fn run_with_context(&self, context: Context) -> RunFuture {
            let (log, runs) = (self.log.clone(), self.runs.clone());
            let fail_after = self.fail_first_run_after;
            Box::pin(async move {
                let run = {
                    let mut runs = runs.lock().unwrap();
                    *runs += 1;
                    *runs
                };
                note(&log, format!("db run {run} starts"));
                tokio::time::sleep(Duration::from_secs(1)).await;
                context.ready();
                note(&log, format!("db run {run} ready"));
                if let (1, Some(after)) = (run, fail_after) {
                    tokio::time::sleep(after).await;
                    note(&log, "db run 1 fails");
                    return Err(Error::other("db lost its disk"));
                }
                context.shutdown().cancelled().await;
                note(&log, "db cancelled");
                Ok(())
            })
        }
        fn holds_readiness(&self) -> bool {
            true
        }
    }

    fn slow_start(log: &Log, fail_first_run_after: Option<Duration>) -> SlowStart {
        SlowStart {
            log: log.clone(),
            runs: Arc::default(),
            fail_first_run_after,
        }
    }

    /// Runs after `db` (restarting with it when `rejoins`); takes 500 ms to clean up once
    /// cancelled.
    fn api(log: &Log, rejoins: bool) -> impl Subsystem {
        let log = log.clone();
        let runs = Arc::new(Mutex::new(0u32));
        SubsystemFn::new("api", move |shutdown: crate::ShutdownHandle| {
            let log = log.clone();
            let run = {
                let mut runs = runs.lock().unwrap();
                *runs += 1;
                *runs
            };
            async move {
                note(&log, format!("api run {run} starts"));
                shutdown.cancelled().await;
                note(&log, format!("api run {run} cancelled"));
                tokio::time::sleep(Duration::from_millis(500)).await;
                note(&log, format!("api run {run} cleaned up"));
                Ok(())
            }
        })
        .after("db")
        .restarts_with_dependencies(rejoins)
    }

    async fn until(handle: &crate::DaemonHandle, log: &Log, what: &str) {
        let mut events = handle.subscribe();
        while !log.lock().unwrap().iter().any(|(_, w)| w == what) {
            let _ = tokio::time::timeout(Duration::from_millis(50), events.recv()).await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_dependent_starts_once_its_dependency_is_ready_and_stops_before_it() {
        let log: Log = Arc::default();
        let db = slow_start(&log, None);
        // Listed first, so that order comes from `after`, not from the list.
        let builder = Daemon::builder(Config::default())
            .with_subsystem(api(&log, true))
            .with_subsystem(db);
        let handle = builder.handle();
        let mut events = handle.subscribe();
        let daemon = tokio::spawn(builder.run());
        let waiting = loop {
            let event = events.recv().await.unwrap();
            if event.waiting_for.is_some() {
                break event;
            }
        };
        assert_eq!(
            (&*waiting.subsystem, waiting.waiting_for.as_deref()),
            ("api", Some("db"))
        );
        assert_eq!(handle.subsystems()[0].waiting_for.as_deref(), Some("db"));
        until(&handle, &log, "api run 1 starts").await;
        assert!(when(&log, "db run 1 ready") <= when(&log, "api run 1 starts"));
        assert_eq!(handle.subsystems()[0].waiting_for, None);

        handle.request_shutdown();
        daemon.await.unwrap().unwrap();
        assert!(
            when(&log, "api run 1 cleaned up") <= when(&log, "db cancelled"),
            "{:?}",
            log.lock().unwrap()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_dependency_restart_restarts_its_dependents_after_it_is_ready() {
        let log: Log = Arc::default();
        let db = slow_start(&log, Some(Duration::from_secs(5)));
        let builder = Daemon::builder(Config::default())
            .with_subsystem(db)
            .with_subsystem(api(&log, true));
        let handle = builder.handle();
        let daemon = tokio::spawn(builder.run());
        until(&handle, &log, "api run 2 starts").await;
        assert!(when(&log, "db run 1 fails") <= when(&log, "api run 1 cancelled"));
        assert!(when(&log, "db run 2 ready") <= when(&log, "api run 2 starts"));
        let api = &handle.subsystems()[1];
        assert_eq!((api.restarts, api.last_error.as_deref()), (1, None));
        handle.request_shutdown();
        daemon.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_dependent_that_keeps_running_is_left_alone() {
        let log: Log = Arc::default();
        let db = slow_start(&log, Some(Duration::from_secs(5)));
        let builder = Daemon::builder(Config::default())
            .with_subsystem(db)
            .with_subsystem(api(&log, false));
        let handle = builder.handle();
        let daemon = tokio::spawn(builder.run());
        until(&handle, &log, "db run 2 ready").await;
        assert!(when(&log, "db run 1 fails") > when(&log, "api run 1 starts"));
        assert_eq!(handle.subsystems()[1].restarts, 0);
        handle.request_shutdown();
        daemon.await.unwrap().unwrap();
        assert!(
            !log.lock()
                .unwrap()
                .iter()
                .any(|(_, w)| w == "api run 2 starts"),
            "{:?}",
            log.lock().unwrap()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_dependent_past_its_budget_is_aborted_before_the_dependency_stops() {
        let log: Log = Arc::default();
        let db = slow_start(&log, None);
        let stuck = {
            let log = log.clone();
            SubsystemFn::new("stuck", move |_shutdown| {
                let log = log.clone();
                async move {
                    note(&log, "stuck starts");
                    std::future::pending::<()>().await;
                    Ok(())
                }
            })
            .after("db")
            .shutdown_timeout(Duration::from_secs(2))
        };
        let builder = Daemon::builder(Config::default())
            .with_subsystem(db)
            .with_subsystem(stuck);
        let handle = builder.handle();
        let daemon = tokio::spawn(builder.run());
        until(&handle, &log, "stuck starts").await;
        let stop = Instant::now();
        handle.request_shutdown();
        let error = daemon.await.unwrap().unwrap_err();
        assert!(error.to_string().contains("`stuck`"), "{error}");
        let cancelled = when(&log, "db cancelled") - stop;
        assert!(
            cancelled >= Duration::from_secs(2) && cancelled < Duration::from_secs(3),
            "{cancelled:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_dependency_that_finished_cleanly_lets_its_dependents_start_and_a_failed_one_does_not()
     {
        let migrate = SubsystemFn::new("migrate", |_shutdown| async { Ok(()) })
            .restart_policy(crate::RestartPolicy::Never);
        let broken = SubsystemFn::new("broken", |_shutdown| async {
            Err(Error::other("schema is newer than this binary"))
        })
        .restart_policy(crate::RestartPolicy::Never)
        .critical(false);
        let after = |name: &'static str, dependency: &'static str| {
            SubsystemFn::new(name, |shutdown: crate::ShutdownHandle| async move {
                shutdown.cancelled().await;
                Ok(())
            })
            .after(dependency)
            .critical(false)
        };
        let builder = Daemon::builder(Config::default())
            .with_subsystem(migrate)
            .with_subsystem(broken)
            .with_subsystem(after("serve", "migrate"))
            .with_subsystem(after("report", "broken"))
            .with_subsystem(after("export", "report"));
        let handle = builder.handle();
        let mut events = handle.subscribe();
        let daemon = tokio::spawn(builder.run());
        let mut ended = Vec::new();
        while ended.len() < 3 {
            let event = events.recv().await.unwrap();
            if event.state == SubsystemState::Failed {
                ended.push((
                    event.subsystem.to_string(),
                    event.error.unwrap().to_string(),
                ));
            }
        }
        assert_eq!(
            ended,
            [
                (
                    "broken".to_owned(),
                    "schema is newer than this binary".to_owned()
                ),
                (
                    "report".to_owned(),
                    "`broken`, which it runs after, failed".to_owned()
                ),
                (
                    "export".to_owned(),
                    "`report`, which it runs after, failed".to_owned()
                ),
            ]
        );
        let states: Vec<_> = handle.subsystems().iter().map(|s| s.state).collect();
        assert_eq!(
            states,
            [
                SubsystemState::Stopped,
                SubsystemState::Failed,
                SubsystemState::Running,
                SubsystemState::Failed,
                SubsystemState::Failed,
            ]
        );
        handle.request_shutdown();
        daemon.await.unwrap().unwrap();
    }
}
