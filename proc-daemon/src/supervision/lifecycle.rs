//! The daemon's lifecycle transitions and what each sets off: start-up complete (log, console,
//! systemd `READY=1`), shutdown begun (systemd `STOPPING=1`, console, every handle cancelled, the
//! watchdog armed), a critical failure. Everything that starts a shutdown — a signal, the API,
//! the control socket, a failed subsystem, the end of the last subsystem — comes through
//! [`request_shutdown`] or [`record_failure`].

use std::sync::Arc;

use crate::Error;
use crate::process::{systemd, watchdog};
use crate::state::{Shared, ShutdownReason};
use crate::subsystem::context::Readiness;

/// Starts a graceful shutdown for `reason` (the first reason is the one kept and reported).
pub(crate) fn request_shutdown(shared: &Arc<Shared>, reason: ShutdownReason) {
    let first = shared.set_reason(reason);
    begin_shutdown(shared, first);
}

/// A critical subsystem ended as failed: it decides the exit code, and the daemon stops.
pub(crate) fn record_failure(shared: &Arc<Shared>, name: &str, error: &str) {
    let first = shared.set_failure(
        Error::subsystem(name.to_owned(), error.to_owned()),
        ShutdownReason::SubsystemFailed(name.to_owned()),
    );
    begin_shutdown(shared, first);
}

/// A subsystem returned a configuration error: no restart can mend the configuration, so the
/// daemon stops and exits 78 (`EX_CONFIG`, which `RestartPreventExitStatus=78` keeps systemd
/// from restarting), whether the subsystem is critical or not.
pub(crate) fn record_config_failure(shared: &Arc<Shared>, name: &str, error: &str) {
    // The run's message is the error's display, "invalid configuration: ...": said once.
    let message = error
        .strip_prefix("invalid configuration: ")
        .unwrap_or(error);
    let first = shared.set_failure(
        Error::config(format!("subsystem `{name}`: {message}")),
        ShutdownReason::ConfigError(name.to_owned()),
    );
    begin_shutdown(shared, first);
}

/// The first time, tells systemd and the console; then cancels every handle and arms the
/// watchdog here and now, so the deadlines hold even if the task running the daemon is wedged.
fn begin_shutdown(shared: &Arc<Shared>, first: bool) {
    // Whoever gets here first, and before any handle is cancelled: a supervisor whose run ends
    // by the cancellation must already see that the daemon stops (`Shared::is_stopping`), or
    // it would restart the run.
    shared.mark_stopping_now();
    if first {
        // Before the cancellation: once handles are cancelled the daemon may finish and exit
        // before this thread gets to send anything.
        let reason = shared
            .shutdown_reason()
            .map_or_else(|| "shutdown requested".to_owned(), |r| r.to_string());
        let config = shared.config.get();
        // After an upgrade the new process is the service's main process: systemd is not told
        // that the service stops.
        if !shared.handover.handed_off() {
            systemd::stopping(
                &format!("stopping: {reason}"),
                config.shutdown.kill_timeout(),
            );
        }
        // The admin endpoint and the control socket refuse new connections from now on.
        shared.handover.close_servers();
        #[cfg(feature = "console")]
        crate::observe::console::stopping(&config.name, &reason);
        // Before the cancellation too, so that `Stopping` comes before what a run does once
        // it sees it; in dependency order, each subsystem's stop begins later, on its own.
        if shared.dependencies().is_none() {
            for entry in shared.entries().iter() {
                entry.mark_stopping(&shared.events);
            }
        }
    }
    cancel_handles(shared);
    arm_watchdog(shared);
}

/// Cancels every handle. Asked from outside the daemon's runtime (the signal thread), the
/// cancellation is handed to a worker: the wake-ups of all subsystems then go to that worker's
/// own queue, instead of one at a time through the runtime's shared injection queue (SIGTERM to
/// exit at 100 000 subsystems: 1.04x to 0.85–0.94x of a hand-written daemon's,
/// docs/PERFORMANCE.md). The cancellation is the task's drop, so a runtime that drops the task
/// unrun still cancels.
fn cancel_handles(shared: &Arc<Shared>) {
    struct CancelOnDrop(crate::ShutdownHandle);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            self.0.trigger();
        }
    }

    if tokio::runtime::Handle::try_current().is_err()
        && let Some((runtime, _)) = shared.runtime()
    {
        let cancel = CancelOnDrop(shared.shutdown.clone());
        runtime.spawn(async move { drop(cancel) });
        return;
    }
    shared.shutdown.trigger();
}

/// Arms the force and kill deadlines once a running daemon is shutting down.
fn arm_watchdog(shared: &Arc<Shared>) {
    let mut lifecycle = shared.lifecycle();
    if lifecycle.running
        && !lifecycle.in_process
        && lifecycle.watchdog.is_none()
        && shared.is_stopping()
    {
        let config = shared.config.get();
        let deadlines = &config.shutdown;
        lifecycle.watchdog = Some(watchdog::arm(
            shared.clone(),
            deadlines.force_timeout(),
            deadlines.kill_timeout(),
        ));
    }
}

impl watchdog::Unfinished for Shared {
    fn unfinished(&self) -> String {
        self.unfinished_subsystems()
    }
}

/// Marks the daemon running for as long as it lives; dropping it (when `run` returns or its
/// future is dropped) disarms the watchdog.
pub(crate) struct Running(Arc<Shared>);

impl Running {
    pub(crate) fn start(shared: &Arc<Shared>) -> Self {
        shared.lifecycle().running = true;
        // A shutdown requested before `run` (a signal during start-up) gets its deadlines now.
        arm_watchdog(shared);
        Self(shared.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut lifecycle = self.0.lifecycle();
        lifecycle.running = false;
        if let Some(ticket) = lifecycle.watchdog.take() {
            watchdog::disarm(ticket);
        }
    }
}

/// One subsystem has started (its first run is ready, or ended before it was); when it is the
/// last, start-up is complete.
pub(crate) fn subsystem_started(shared: &Shared) {
    if shared.count_started() && !shared.shutdown.is_shutdown() {
        let count = shared.entries().len();
        tracing::info!("all {count} subsystem(s) are running");
        #[cfg(feature = "console")]
        crate::observe::console::running(&shared.config.get().name, count);
        // An upgrade's new process tells the old one first: systemd hears from the main process.
        shared.handover.now_serving();
        systemd::ready(&format!("running {count} subsystem(s)"));
    }
}

impl Readiness for Shared {
    fn mark_ready(&self, index: usize) {
        let first = self.entries()[index].mark_ready();
        self.order_changed();
        if first {
            subsystem_started(self);
        }
    }

    fn fencing_token(&self) -> Option<u64> {
        let standing = self.leadership.now();
        standing.leading.then_some(standing.fencing_token).flatten()
    }

    fn leadership(&self) -> tokio::sync::watch::Receiver<crate::ClusterStanding> {
        self.leadership.announce()
    }

    fn stop_time_left(&self, index: usize) -> Option<std::time::Duration> {
        // In dependency order, a subsystem's stop begins when what runs after it has stopped.
        // Subsystems added at run time are outside the order: they stop from the first instant.
        let stopping_for = match self.dependencies() {
            Some(order) if order.covers(index) => order.stopping_since(index)?.elapsed(),
            _ if self.shutdown.is_shutdown() => self.time_stopping(),
            _ => return None,
        };
        let budget = self.entries()[index]
            .subsystem
            .shutdown_timeout()
            .unwrap_or_else(|| self.config.get().shutdown.timeout());
        Some(budget.saturating_sub(stopping_for))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use crate::subsystem::RunFuture;
    use crate::{Config, Context, Daemon, ShutdownHandle, Subsystem, SubsystemState};

    /// Records what its context says of the stop budget, before and after shutdown begins.
    struct Drainer(std::sync::Arc<Mutex<Vec<Option<Duration>>>>);

    impl Subsystem for Drainer {
        fn name(&self) -> &str {
            "drainer"
        }
        fn run(&self, _: ShutdownHandle) -> RunFuture {
            unreachable!("the daemon calls run_with_context")
        }
        fn run_with_context(&self, context: Context) -> RunFuture {
            let seen = self.0.clone();
            Box::pin(async move {
                seen.lock().unwrap().push(context.stop_time_left());
                context.shutdown().cancelled().await;
                seen.lock().unwrap().push(context.stop_time_left());
                Ok(())
            })
        }
        fn shutdown_timeout(&self) -> Option<Duration> {
            Some(Duration::from_secs(3))
        }
    }

    #[tokio::test]
    async fn a_subsystem_sees_its_own_stop_budget_count_down() {
        let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
        let builder = Daemon::builder(Config::default()).with_subsystem(Drainer(seen.clone()));
        let handle = builder.handle();
        let mut events = handle.subscribe();
        let running = tokio::spawn(builder.run());
        while events.recv().await.unwrap().state != SubsystemState::Running {}
        handle.request_shutdown();
        running.await.unwrap().unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], None, "no budget runs before shutdown");
        let left = seen[1].unwrap();
        assert!(
            left <= Duration::from_secs(3) && left > Duration::from_secs(1),
            "{left:?}"
        );
    }

    fn shared_on(runtime: &tokio::runtime::Runtime) -> std::sync::Arc<crate::state::Shared> {
        let shared = std::sync::Arc::new(crate::state::Shared::new(Config::default(), 0));
        runtime.block_on(async { shared.set_runtime(tokio_util::task::TaskTracker::new()) });
        shared
    }

    #[test]
    fn a_shutdown_asked_from_another_thread_is_cancelled_by_a_worker() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .unwrap();
        let shared = shared_on(&runtime);
        let asked = shared.clone();
        std::thread::spawn(move || {
            super::request_shutdown(&asked, crate::ShutdownReason::Requested);
        })
        .join()
        .unwrap();
        assert!(shared.is_stopping());
        let cancelled = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), shared.shutdown.cancelled()).await
        });
        assert!(cancelled.is_ok(), "the worker never cancelled the handles");
    }

    #[test]
    fn a_shutdown_asked_after_the_runtime_is_gone_still_cancels() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let shared = shared_on(&runtime);
        drop(runtime);
        super::request_shutdown(&shared, crate::ShutdownReason::Requested);
        assert!(shared.shutdown.is_shutdown());
    }
}
