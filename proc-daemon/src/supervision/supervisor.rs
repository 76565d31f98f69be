//! Supervision of one subsystem: run it, apply its restart policy and restart limit, and
//! record every transition.
//!
//! Each subsystem is one tokio task running [`supervise`]. Nothing here polls or locks while a
//! subsystem runs normally: the task is parked inside the subsystem's own future, and the
//! restart bookkeeping is only allocated on the first restart.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::lifecycle::{record_config_failure, record_failure, subsystem_started};
use super::log_budget::LogBudget;
use super::order::{Waited, restart_dependents};
use super::singleton::{lost_leadership, run, wait_to_start};
use crate::process::systemd;
use crate::state::{Shared, SubsystemEntry};
use crate::subsystem::restart::{Backoff, RestartWindow};
use crate::{RestartPolicy, SubsystemState};

/// The supervising task's hold on the daemon and its own entry; marks the entry exited however
/// the task ends, including by abort. Holding the index rather than a reference keeps the
/// task's future small.
struct Supervised {
    shared: Arc<Shared>,
    index: usize,
}

impl Supervised {
    fn entry(&self) -> &SubsystemEntry {
        &self.shared.entries()[self.index]
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.entry().mark_exited();
        // The ordered stop, or a removal, may be waiting for this one to end.
        self.shared.order_changed();
        self.shared.exits.supervisor_ended();
    }
}

/// Restart bookkeeping, allocated on the first restart only.
struct RestartState {
    window: RestartWindow,
    backoff: Option<Backoff>,
    run_started: Instant,
    log: LogBudget,
}

/// What follows a run.
enum Next {
    Restart(Duration),
    /// Restart because a dependency restarts: once it is ready, without a delay.
    Rejoin,
    End,
}

/// Runs `entry`'s subsystem until it ends for good or shutdown stops it.
///
/// Kept small on purpose: this future is the per-subsystem cost of an idle daemon, so all
/// decisions live in the synchronous [`after_run`] and only the run itself is awaited here.
pub(crate) async fn supervise(shared: Arc<Shared>, index: usize) {
    let this = Supervised { shared, index };
    let mut restart: Option<Box<RestartState>> = None;
    let holds_readiness = this.entry().subsystem.holds_readiness();
    loop {
        let entry = this.entry();
        let waited = if this.shared.is_stopping() || entry.is_removing() {
            Waited::ShuttingDown
        } else if this.shared.dependencies().is_some() || entry.subsystem.singleton() {
            wait_to_start(&this.shared, this.index).await
        } else {
            Waited::Ready
        };
        // Fetched again, and `waited` moved into the call: either held across the run below
        // would enlarge every idle supervisor's future.
        let entry = this.entry();
        if ends_before_running(entry, &this.shared, waited) {
            return;
        }
        if holds_readiness {
            // Not ready until this run says so through its context; cleared before the run
            // shows as running, so that nothing waiting for it sees the last run's readiness.
            entry.hold_readiness();
        }
        entry.transition(SubsystemState::Running, None, &this.shared.events);
        if !holds_readiness {
            let first = entry.mark_ready();
            this.shared.order_changed();
            if first {
                subsystem_started(&this.shared);
            }
        }
        if let Some(state) = restart.as_deref_mut() {
            state.run_started = Instant::now();
        }
        let outcome = run(&this.shared, this.index).await;
        if this.entry().count_started() {
            subsystem_started(&this.shared);
        }
        match after_run(this.index, &this.shared, &mut restart, outcome) {
            Next::End => return,
            Next::Rejoin => {}
            Next::Restart(delay) => {
                restart_dependents(&this.shared, this.index);
                if !delay.is_zero() && !wait_or_stop(delay, this.entry()).await {
                    if let Some(state) = restart.as_deref_mut() {
                        state.log.report(this.entry().name());
                    }
                    this.entry()
                        .transition(SubsystemState::Stopped, None, &this.shared.events);
                    return;
                }
            }
        }
    }
}

/// Ends the subsystem instead of running it when its stop began (the daemon's, or its
/// removal) or a dependency failed; `true` if it ended.
fn ends_before_running(entry: &SubsystemEntry, shared: &Arc<Shared>, waited: Waited) -> bool {
    match waited {
        Waited::Ready => return false,
        Waited::ShuttingDown => entry.transition(SubsystemState::Stopped, None, &shared.events),
        Waited::DependencyFailed(dependency) => {
            let error: Arc<str> = format!("`{dependency}`, which it runs after, failed").into();
            end_failed(entry, shared, &error, "a dependency failed");
        }
    }
    if entry.count_started() {
        subsystem_started(shared);
    }
    true
}

/// Applies the restart policy and the restart limit to the outcome of a run.
fn after_run(
    index: usize,
    shared: &Arc<Shared>,
    restart: &mut Option<Box<RestartState>>,
    outcome: Result<(), Arc<str>>,
) -> Next {
    let entry = &shared.entries()[index];
    let name = entry.name();
    if shared.is_stopping() || entry.is_removing() {
        if let Some(state) = restart.as_deref_mut() {
            state.log.report(name);
        }
        match outcome {
            Ok(()) => entry.transition(SubsystemState::Stopped, None, &shared.events),
            Err(error) => {
                tracing::error!(
                    subsystem = name,
                    "subsystem `{name}` failed while stopping: {error}"
                );
                entry.transition(SubsystemState::Failed, Some(&error), &shared.events);
                if entry.subsystem.critical() {
                    record_failure(shared, name, &error);
                }
            }
        }
        return Next::End;
    }

    if entry.subsystem.singleton() && lost_leadership(shared, entry, &outcome) {
        return Next::Rejoin;
    }

    if let Some(dependency) = shared
        .dependencies()
        .and_then(|order| order.restarting_for(index))
    {
        // Stopped because what it runs after restarts: not its failure, and not held against
        // its restart limit.
        let restarts = entry.count_restart();
        tracing::info!(
            subsystem = name,
            restarts,
            "restarting subsystem `{name}` (restart {restarts}) because `{dependency}`, which it runs after, restarts"
        );
        entry.transition(SubsystemState::Restarting, None, &shared.events);
        return Next::Rejoin;
    }

    if let Err(error) = &outcome
        && entry.take_config_error()
    {
        if let Some(state) = restart.as_deref_mut() {
            state.log.report(name);
        }
        log_failure(name, error);
        tracing::error!(
            subsystem = name,
            "subsystem `{name}` failed with a configuration error; a restart cannot mend the configuration, so the daemon stops (exit 78)"
        );
        entry.transition(SubsystemState::Failed, Some(error), &shared.events);
        record_config_failure(shared, name, error);
        return Next::End;
    }

    let policy = entry.subsystem.restart_policy();
    let wants_restart = match &outcome {
        Ok(()) => policy.restarts_after_success(),
        Err(_) => policy.restarts_after_failure(),
    };
    if !wants_restart {
        if let Err(error) = &outcome {
            log_failure(name, error);
        }
        if let Some(state) = restart.as_deref_mut() {
            state.log.report(name);
        }
        match outcome {
            Ok(()) => {
                tracing::info!(subsystem = name, "subsystem `{name}` finished");
                entry.transition(SubsystemState::Stopped, None, &shared.events);
            }
            Err(error) => end_failed(entry, shared, &error, "restart policy is `never`"),
        }
        return Next::End;
    }

    let now = Instant::now();
    let state = restart.get_or_insert_with(|| {
        Box::new(RestartState {
            window: RestartWindow::new(entry.subsystem.restart_limit()),
            backoff: match policy {
                RestartPolicy::ExponentialBackoff {
                    initial_delay,
                    max_delay,
                } => Some(Backoff::new(initial_delay, max_delay)),
                _ => None,
            },
            // The first run's length does not matter: the backoff has not grown yet.
            run_started: now,
            log: LogBudget::new(now),
        })
    });
    let loud = state.log.admit(now, name);
    let error = outcome.err();
    if loud && let Some(error) = &error {
        log_failure(name, error);
    }
    if !state.window.admit(now) {
        state.log.report(name);
        let limit = entry.subsystem.restart_limit();
        let why = format!(
            "restarted more than {} times within {:?}; giving up",
            limit.max_restarts, limit.within
        );
        let error = error.map_or_else(
            || Arc::from(why.as_str()),
            |e| format!("{why} (last error: {e})").into(),
        );
        end_failed(entry, shared, &error, "restart limit reached");
        return Next::End;
    }
    let restarts = entry.count_restart();
    entry.transition(SubsystemState::Restarting, error.as_ref(), &shared.events);

    let delay = match (&mut state.backoff, &error) {
        (Some(backoff), Some(_)) => {
            backoff.observe_run(now - state.run_started);
            backoff.next_delay()
        }
        _ => Duration::ZERO,
    };
    if loud {
        let shown = Duration::from_millis(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        tracing::warn!(
            subsystem = name,
            restarts,
            "restarting subsystem `{name}` (restart {restarts}, after {shown:?})"
        );
        #[cfg(feature = "console")]
        crate::observe::console::restarting(name, restarts, shown);
    }
    Next::Restart(delay)
}

/// A failed run, in the log, systemd's status line and the console.
fn log_failure(name: &str, error: &Arc<str>) {
    tracing::error!(subsystem = name, "subsystem `{name}` failed: {error}");
    systemd::status(&format!("subsystem `{name}` failed: {error}"));
    #[cfg(feature = "console")]
    crate::observe::console::failed(name, error);
}

fn end_failed(entry: &SubsystemEntry, shared: &Arc<Shared>, error: &Arc<str>, why: &str) {
    let name = entry.name();
    let critical = entry.subsystem.critical();
    tracing::error!(
        subsystem = name,
        critical,
        "subsystem `{name}` failed and will not be restarted ({why})"
    );
    entry.transition(SubsystemState::Failed, Some(error), &shared.events);
    if critical {
        record_failure(shared, name, error);
    }
}

/// Waits `delay`; `false` if the subsystem's stop (the daemon's, or its removal) began first.
/// Boxed so the sleep's state is only allocated when a backoff actually happens, not carried by
/// every idle supervisor.
fn wait_or_stop(
    delay: Duration,
    entry: &SubsystemEntry,
) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
    Box::pin(async move {
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            () = entry.token().cancelled() => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::subsystem::RunFuture;
    use crate::{Config, Daemon, Error, RestartLimit, Subsystem, SubsystemFn};

    /// Records when each run starts; run `n` (1-based) does what `script(n)` says.
    fn scripted(
        name: &'static str,
        starts: Arc<Mutex<Vec<Instant>>>,
        script: fn(usize) -> (Duration, bool),
    ) -> SubsystemFn<impl Fn(crate::ShutdownHandle) -> RunFuture + Send + Sync + 'static> {
        SubsystemFn::new(name, move |shutdown: crate::ShutdownHandle| {
            let run = {
                let mut starts = starts.lock().unwrap();
                starts.push(Instant::now());
                starts.len()
            };
            let (lasts, fails) = script(run);
            Box::pin(async move {
                if lasts == Duration::MAX {
                    shutdown.cancelled().await;
                    return Ok(());
                }
                tokio::time::sleep(lasts).await;
                if fails {
                    Err(Error::other(format!("run {run} failed")))
                } else {
                    Ok(())
                }
            }) as RunFuture
        })
    }

    /// Runs a daemon with `sub` until it has started `runs` runs, then shuts it down cleanly.
    async fn run_until_started(sub: impl Subsystem, runs: usize) -> crate::DaemonHandle {
        let builder = Daemon::builder(Config::default()).with_subsystem(sub);
        let handle = builder.handle();
        let mut events = handle.subscribe();
        let daemon = tokio::spawn(builder.run());
        let mut running = 0;
        while running < runs {
            if events.recv().await.unwrap().state == SubsystemState::Running {
                running += 1;
            }
        }
        handle.request_shutdown();
        daemon.await.unwrap().unwrap();
        handle
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_delays_double_and_reset_after_a_long_run() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        // Runs 1-4 fail at once, run 5 fails after 2 s (longer than max_delay), run 6 fails at
        // once, run 7 waits for shutdown.
        let sub = scripted("backoff", starts.clone(), |run| match run {
            5 => (Duration::from_secs(2), true),
            7 => (Duration::MAX, false),
            _ => (Duration::ZERO, true),
        })
        .restart_policy(RestartPolicy::ExponentialBackoff {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        })
        .restart_limit(RestartLimit::new(100, Duration::from_secs(60)));
        let handle = run_until_started(sub, 7).await;

        let starts = starts.lock().unwrap();
        let gap = |i: usize| starts[i] - starts[i - 1];
        let within = |d: Duration, ceiling_ms: u64| {
            let ceiling = Duration::from_millis(ceiling_ms);
            d >= ceiling / 2 && d <= ceiling
        };
        assert!(within(gap(1), 100), "{:?}", gap(1));
        assert!(within(gap(2), 200), "{:?}", gap(2));
        assert!(within(gap(3), 400), "{:?}", gap(3));
        assert!(within(gap(4), 800), "{:?}", gap(4));
        // Run 5 lasted 2 s > max_delay: the delay starts over.
        assert!(within(gap(5) - Duration::from_secs(2), 100), "{:?}", gap(5));
        assert!(within(gap(6), 200), "{:?}", gap(6));
        assert_eq!(handle.subsystems()[0].restarts, 6);
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_delays_are_capped_at_max_delay() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let sub = scripted("capped", starts.clone(), |run| {
            if run == 9 {
                (Duration::MAX, false)
            } else {
                (Duration::ZERO, true)
            }
        })
        .restart_policy(RestartPolicy::ExponentialBackoff {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        })
        .restart_limit(RestartLimit::new(100, Duration::from_secs(60)));
        run_until_started(sub, 9).await;
        let starts = starts.lock().unwrap();
        for i in 3..9 {
            let gap = starts[i] - starts[i - 1];
            assert!(
                gap >= Duration::from_millis(150) && gap <= Duration::from_millis(300),
                "{gap:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_transition_is_an_event_in_order() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let sub = scripted("evented", starts, |run| {
            if run == 1 {
                (Duration::ZERO, true)
            } else {
                (Duration::MAX, false)
            }
        });
        let builder = Daemon::builder(Config::default()).with_subsystem(sub);
        let handle = builder.handle();
        let mut events = handle.subscribe();
        let daemon = tokio::spawn(builder.run());
        let mut seen = Vec::new();
        loop {
            let event = events.recv().await.unwrap();
            assert_eq!(&*event.subsystem, "evented");
            seen.push((event.state, event.error.map(|e| e.to_string())));
            if seen.len() == 3 {
                handle.request_shutdown();
            }
            if event.state.is_terminal() {
                break;
            }
        }
        daemon.await.unwrap().unwrap();
        use SubsystemState::*;
        assert_eq!(
            seen,
            vec![
                (Running, None),
                (Restarting, Some("run 1 failed".to_owned())),
                (Running, None),
                (Stopping, None),
                (Stopped, None),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_restart_waiting_for_backoff_is_cut_short_by_shutdown() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let sub = scripted("waiting", starts.clone(), |_| (Duration::ZERO, true)).restart_policy(
            RestartPolicy::ExponentialBackoff {
                initial_delay: Duration::from_secs(3600),
                max_delay: Duration::from_secs(3600),
            },
        );
        let builder = Daemon::builder(Config::default()).with_subsystem(sub);
        let handle = builder.handle();
        let mut events = handle.subscribe();
        let daemon = tokio::spawn(builder.run());
        while events.recv().await.unwrap().state != SubsystemState::Restarting {}
        handle.request_shutdown();
        daemon.await.unwrap().unwrap();
        assert_eq!(starts.lock().unwrap().len(), 1);
        assert_eq!(handle.subsystems()[0].state, SubsystemState::Stopped);
    }
}
#[cfg(test)]
mod footprint {
    /// The supervisor's future is carried by every subsystem for its whole life; this pins its
    /// size so a change that bloats it (an inline timer, a health-check state) is noticed.
    #[test]
    fn the_idle_supervisor_future_stays_small() {
        let builder = crate::Daemon::builder(crate::Config::default())
            .with_subsystem_fn("x", |_shutdown| async { Ok(()) });
        let shared = builder.shared_for_probe();
        let supervise = super::supervise(shared.clone(), 0);
        let size = std::mem::size_of_val(&supervise);
        assert!(size <= 96, "supervise future is {size} bytes");
        let run = crate::supervision::run::run_once(
            &shared,
            0,
            crate::supervision::order::run_handle(&shared, 0),
        );
        let size = std::mem::size_of_val(&run);
        assert!(size <= 40, "run_once future is {size} bytes");
        // 40, and the subsystem's own cancellation token (a pointer; its node, 136 bytes, is
        // what stopping one subsystem alone costs).
        assert!(std::mem::size_of::<crate::state::SubsystemEntry>() <= 48);
    }
}
