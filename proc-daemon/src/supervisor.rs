//! Supervision of one subsystem: run it, catch its panics, apply its restart policy.
//!
//! Each subsystem is one tokio task running [`supervise`]. Nothing here polls or locks while a
//! subsystem runs normally: the task is parked inside the subsystem's own future, and the
//! restart bookkeeping is only allocated on the first restart.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::daemon::Shared;
use crate::events::SubsystemEvent;
use crate::restart::{Backoff, RestartWindow};
use crate::subsystem::RunFuture;
use crate::{Context, RestartPolicy, ShutdownHandle, Subsystem, SubsystemState, health, systemd};

/// One registered subsystem and what the daemon knows about it.
pub(crate) struct SubsystemEntry {
    pub(crate) subsystem: Box<dyn Subsystem>,
    state: AtomicU8,
    /// `READY` while the current run is ready; `COUNTED` once it counted towards start-up.
    readiness: AtomicU8,
    restarts: AtomicU32,
    /// `Arc<String>` rather than `Arc<str>`: a thin pointer keeps every entry 8 bytes smaller.
    /// Allocated at the first failure: an idle subsystem carries only the pointer.
    failures: Mutex<Option<Box<Failures>>>,
    exited: AtomicBool,
}

impl std::fmt::Debug for SubsystemEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubsystemEntry")
            .field("name", &self.name())
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

impl SubsystemEntry {
    pub(crate) fn new(subsystem: Box<dyn Subsystem>) -> Self {
        Self {
            subsystem,
            state: AtomicU8::new(SubsystemState::Starting as u8),
            readiness: AtomicU8::new(0),
            restarts: AtomicU32::new(0),
            failures: Mutex::new(None),
            exited: AtomicBool::new(false),
        }
    }

    /// Whether the current run has declared itself ready (at once, unless the subsystem holds
    /// its readiness).
    pub(crate) fn is_ready(&self) -> bool {
        self.readiness.load(Ordering::Acquire) & READY != 0
    }

    /// The current run is ready; the first time, start-up counts it as started.
    pub(crate) fn mark_ready(&self, shared: &Shared) {
        let before = self.readiness.fetch_or(READY | COUNTED, Ordering::AcqRel);
        if before & COUNTED == 0 {
            shared.subsystem_started();
        }
    }

    /// Counts the subsystem towards start-up even though it never became ready (its first run
    /// ended first), so start-up completes.
    fn count_started(&self, shared: &Shared) {
        if self.readiness.fetch_or(COUNTED, Ordering::AcqRel) & COUNTED == 0 {
            shared.subsystem_started();
        }
    }

    /// Whether its supervising task has ended (returned or was dropped after an abort).
    pub(crate) fn has_exited(&self) -> bool {
        self.exited.load(Ordering::Acquire)
    }

    pub(crate) fn mark_exited(&self) {
        self.exited.store(true, Ordering::Release);
    }

    pub(crate) fn name(&self) -> &str {
        self.subsystem.name()
    }

    pub(crate) fn state(&self) -> SubsystemState {
        SubsystemState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub(crate) fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Relaxed)
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, Option<Box<Failures>>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The failure counts and last error, for status and metrics.
    pub(crate) fn failure_record(&self) -> Failures {
        self.failures().as_deref().cloned().unwrap_or_default()
    }

    fn note(&self, record: impl FnOnce(&mut Failures)) {
        record(self.failures().get_or_insert_with(Box::default));
    }

    pub(crate) fn note_panic(&self) {
        self.note(|f| f.panics += 1);
    }

    pub(crate) fn note_health_failure(&self) {
        self.note(|f| f.health_failures += 1);
    }

    pub(crate) fn transition(&self, to: SubsystemState, error: Option<&Arc<str>>, shared: &Shared) {
        if let Some(error) = error {
            self.note(|f| f.last_error = Some(Arc::new(error.to_string())));
        }
        self.state.store(to as u8, Ordering::Release);
        self.announce(to, error, shared);
    }

    fn announce(&self, to: SubsystemState, error: Option<&Arc<str>>, shared: &Shared) {
        tracing::debug!(
            subsystem = self.name(),
            state = to.as_str(),
            "subsystem state changed"
        );
        shared.events.emit(|| SubsystemEvent {
            subsystem: Arc::from(self.name()),
            state: to,
            error: error.cloned(),
        });
    }

    /// `Running → Stopping`, when shutdown starts; other states are left alone because their
    /// own supervisor is about to move them to a terminal state.
    pub(crate) fn mark_stopping(&self, shared: &Shared) {
        let running = SubsystemState::Running as u8;
        let stopping = SubsystemState::Stopping as u8;
        if self
            .state
            .compare_exchange(running, stopping, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.announce(SubsystemState::Stopping, None, shared);
        }
    }

    /// Aborts the run after its shutdown budget ran out. Returns `false` if it had already
    /// ended.
    pub(crate) fn abort_overdue(
        &self,
        budget: Duration,
        abort: Option<&AbortHandle>,
        shared: &Shared,
    ) -> bool {
        if self.state().is_terminal() {
            return false;
        }
        let reason: Arc<str> =
            format!("did not stop within its shutdown timeout of {budget:?}; aborted").into();
        self.transition(SubsystemState::Failed, Some(&reason), shared);
        if let Some(abort) = abort {
            abort.abort();
        }
        true
    }
}

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
    }
}

const READY: u8 = 1;
const COUNTED: u8 = 2;

/// What has gone wrong with a subsystem so far.
#[derive(Clone, Debug, Default)]
pub(crate) struct Failures {
    pub(crate) last_error: Option<Arc<String>>,
    pub(crate) panics: u32,
    pub(crate) health_failures: u32,
}

/// Restart bookkeeping, allocated on the first restart only.
struct RestartState {
    window: RestartWindow,
    backoff: Option<Backoff>,
    run_started: Instant,
}

/// What follows a run.
enum Next {
    Restart(Duration),
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
        if this.shared.shutdown.is_shutdown() {
            entry.transition(SubsystemState::Stopped, None, &this.shared);
            entry.count_started(&this.shared);
            return;
        }
        entry.transition(SubsystemState::Running, None, &this.shared);
        if holds_readiness {
            // Not ready until this run says so through its context.
            entry.readiness.fetch_and(!READY, Ordering::AcqRel);
        } else {
            entry.mark_ready(&this.shared);
        }
        if let Some(state) = restart.as_deref_mut() {
            state.run_started = Instant::now();
        }
        let outcome = run_once(&this.shared, this.index).await;
        this.entry().count_started(&this.shared);
        match after_run(this.entry(), &this.shared, &mut restart, outcome) {
            Next::End => return,
            Next::Restart(delay) => {
                if !delay.is_zero() && !wait_or_shutdown(delay, &this.shared).await {
                    this.entry()
                        .transition(SubsystemState::Stopped, None, &this.shared);
                    return;
                }
            }
        }
    }
}

/// Applies the restart policy and the restart limit to the outcome of a run.
fn after_run(
    entry: &SubsystemEntry,
    shared: &Arc<Shared>,
    restart: &mut Option<Box<RestartState>>,
    outcome: Result<(), Arc<str>>,
) -> Next {
    let name = entry.name();
    if shared.shutdown.is_shutdown() {
        match outcome {
            Ok(()) => entry.transition(SubsystemState::Stopped, None, shared),
            Err(error) => {
                tracing::error!(
                    subsystem = name,
                    "subsystem `{name}` failed while stopping: {error}"
                );
                entry.transition(SubsystemState::Failed, Some(&error), shared);
                if entry.subsystem.critical() {
                    shared.record_failure(name, &error);
                }
            }
        }
        return Next::End;
    }

    let policy = entry.subsystem.restart_policy();
    let wants_restart = match &outcome {
        Ok(()) => policy.restarts_after_success(),
        Err(_) => policy.restarts_after_failure(),
    };
    if let Err(error) = &outcome {
        tracing::error!(subsystem = name, "subsystem `{name}` failed: {error}");
        systemd::status(&format!("subsystem `{name}` failed: {error}"));
        #[cfg(feature = "console")]
        crate::console::failed(name, error);
    }
    if !wants_restart {
        match outcome {
            Ok(()) => {
                tracing::info!(subsystem = name, "subsystem `{name}` finished");
                entry.transition(SubsystemState::Stopped, None, shared);
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
        })
    });
    let error = outcome.err();
    if !state.window.admit(now) {
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
    let restarts = entry.restarts.fetch_add(1, Ordering::Relaxed) + 1;
    entry.transition(SubsystemState::Restarting, error.as_ref(), shared);

    let delay = match (&mut state.backoff, &error) {
        (Some(backoff), Some(_)) => {
            backoff.observe_run(now - state.run_started);
            backoff.next_delay()
        }
        _ => Duration::ZERO,
    };
    let shown = Duration::from_millis(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
    tracing::warn!(
        subsystem = name,
        restarts,
        "restarting subsystem `{name}` (restart {restarts}, after {shown:?})"
    );
    #[cfg(feature = "console")]
    crate::console::restarting(name, restarts, shown);
    Next::Restart(delay)
}

fn end_failed(entry: &SubsystemEntry, shared: &Arc<Shared>, error: &Arc<str>, why: &str) {
    let name = entry.name();
    let critical = entry.subsystem.critical();
    tracing::error!(
        subsystem = name,
        critical,
        "subsystem `{name}` failed and will not be restarted ({why})"
    );
    entry.transition(SubsystemState::Failed, Some(error), shared);
    if critical {
        shared.record_failure(name, error);
    }
}

/// One run, under its health check if it has one (and health checks are on).
fn run_once(shared: &Arc<Shared>, index: usize) -> RunOnce<'_> {
    let entry = &shared.entries()[index];
    let subsystem = &*entry.subsystem;
    let check = if shared.config.get().monitoring.health_checks {
        subsystem.health_check()
    } else {
        None
    };
    match check {
        None => match start_run(shared, index, shared.shutdown.clone()) {
            Ok(run) => RunOnce::Plain(run),
            Err(panic) => RunOnce::Panicked(Some(panic)),
        },
        // Boxed: the health machinery's state (an interval, a join handle) would otherwise be
        // carried by every supervisor, checked or not.
        Some(check) => RunOnce::Checked(Box::pin(run_checked(shared, index, check.into()))),
    }
}

/// The future of [`run_once`]: as small as its largest variant, a boxed future.
enum RunOnce<'a> {
    Plain(CatchUnwind<'a>),
    Checked(Pin<Box<dyn Future<Output = Result<(), Arc<str>>> + Send + 'a>>),
    Panicked(Option<Arc<str>>),
}

impl Future for RunOnce<'_> {
    type Output = Result<(), Arc<str>>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Self::Plain(run) => Pin::new(run).poll(cx),
            Self::Checked(run) => run.as_mut().poll(cx),
            Self::Panicked(panic) => {
                Poll::Ready(Err(panic.take().expect("polled after completion")))
            }
        }
    }
}

async fn run_checked(
    shared: &Arc<Shared>,
    index: usize,
    check: health::SharedCheck,
) -> Result<(), Arc<str>> {
    let entry = &shared.entries()[index];
    let subsystem = &*entry.subsystem;
    // This run gets its own handle, so an unhealthy run can be stopped without stopping the
    // daemon; it is still cancelled by the daemon's shutdown.
    let token = shared.shutdown.token().child_token();
    let run = match start_run(shared, index, ShutdownHandle::from_token(token.clone())) {
        Ok(run) => run,
        Err(panic) => return Err(panic),
    };
    tokio::pin!(run);
    let own_interval = subsystem.health_check_interval();
    let settings = || {
        let monitoring = shared.config.get().monitoring.clone();
        (
            own_interval.unwrap_or_else(|| monitoring.health_check_interval()),
            monitoring.health_check_failures,
        )
    };
    let name = subsystem.name();
    let unhealthy = health::watch(check, settings, || entry.note_health_failure(), name);
    tokio::select! {
        outcome = &mut run => outcome,
        reason = unhealthy => {
            let budget = subsystem
                .shutdown_timeout()
                .unwrap_or_else(|| shared.config.get().shutdown.timeout());
            tracing::warn!(subsystem = name, "subsystem `{name}` is {reason}; stopping this run (it has {budget:?})");
            token.cancel();
            if tokio::time::timeout(budget, run).await.is_err() {
                tracing::error!(subsystem = name, "subsystem `{name}` did not stop within {budget:?} after failing its health check; its run was dropped");
            }
            Err(reason)
        }
    }
}

/// Starts one run; a panic while creating its future is its failure.
fn start_run(
    shared: &Arc<Shared>,
    index: usize,
    handle: ShutdownHandle,
) -> Result<CatchUnwind<'_>, Arc<str>> {
    let entry = &shared.entries()[index];
    let context = Context::live(handle, shared, index);
    catch_unwind(AssertUnwindSafe(|| {
        entry.subsystem.run_with_context(context)
    }))
    .map(|future| CatchUnwind { future, entry })
    .map_err(|payload| {
        entry.note_panic();
        panic_message(payload.as_ref())
    })
}

/// Waits `delay`; `false` if shutdown began first. Boxed so the sleep's state is only allocated
/// when a backoff actually happens, not carried by every idle supervisor.
fn wait_or_shutdown(
    delay: Duration,
    shared: &Shared,
) -> Pin<Box<dyn Future<Output = bool> + Send + '_>> {
    Box::pin(async move {
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            () = shared.shutdown.cancelled() => false,
        }
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> Arc<str> {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)");
    format!("panicked: {text}").into()
}

/// Polls a run future; its error, or a panic (counted on the entry), becomes the run's failure
/// message.
struct CatchUnwind<'a> {
    future: RunFuture,
    entry: &'a SubsystemEntry,
}

impl Future for CatchUnwind<'_> {
    type Output = Result<(), Arc<str>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let future = &mut self.future;
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(()))) => Poll::Ready(Ok(())),
            Ok(Poll::Ready(Err(error))) => Poll::Ready(Err(error.to_string().into())),
            Err(payload) => {
                self.entry.note_panic();
                Poll::Ready(Err(panic_message(payload.as_ref())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Daemon, Error, RestartLimit, SubsystemFn};

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

    #[test]
    fn panic_messages_are_extracted() {
        let payload = catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
        assert_eq!(&*panic_message(payload.as_ref()), "panicked: boom 1");
        let payload = catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(
            &*panic_message(payload.as_ref()),
            "panicked: (non-string panic payload)"
        );
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
        let run = super::run_once(&shared, 0);
        let size = std::mem::size_of_val(&run);
        assert!(size <= 40, "run_once future is {size} bytes");
        assert!(std::mem::size_of::<super::SubsystemEntry>() <= 40);
    }
}
