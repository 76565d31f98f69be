//! One registered subsystem and what the daemon knows about it: its state, readiness, restart
//! count and failures. Updated by its supervisor, read by status, metrics and readiness.

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use super::events::{EventBus, SubsystemEvent};
use crate::{ShutdownHandle, Subsystem, SubsystemState};

/// `READY` while the current run is ready; `COUNTED` once it counted towards start-up.
const READY: u8 = 1;
const COUNTED: u8 = 2;

/// Its supervising task has ended.
const EXITED: u8 = 1;
/// Its stop has been asked for on its own (`remove_subsystem`, `ctl stop-subsystem`).
const REMOVING: u8 = 2;
/// It has been removed: gone from status, readiness and metrics; its position stays.
const REMOVED: u8 = 4;

/// One registered subsystem and what the daemon knows about it.
pub(crate) struct SubsystemEntry {
    pub(crate) subsystem: Box<dyn Subsystem>,
    state: AtomicU8,
    readiness: AtomicU8,
    restarts: AtomicU32,
    /// Allocated at the first failure: an idle subsystem carries only the pointer.
    failures: Mutex<Option<Box<Failures>>>,
    /// `EXITED`, `REMOVING`, `REMOVED`.
    flags: AtomicU8,
    /// Cancelled when the daemon stops or this subsystem is removed: its runs' handles (a child
    /// of the daemon's, so that one subsystem can be stopped alone).
    token: CancellationToken,
}

/// What has gone wrong with a subsystem so far.
#[derive(Clone, Debug, Default)]
pub(crate) struct Failures {
    /// `Arc<String>` rather than `Arc<str>`: a thin pointer keeps `Failures` smaller.
    pub(crate) last_error: Option<Arc<String>>,
    pub(crate) panics: u32,
    pub(crate) health_failures: u32,
    /// The last run failed with `Error::Config`; cleared when read.
    pub(crate) config_error: bool,
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
    /// A subsystem of the daemon whose shutdown handle is `daemon`.
    pub(crate) fn new(subsystem: Box<dyn Subsystem>, daemon: &ShutdownHandle) -> Self {
        Self {
            token: daemon.token().child_token(),
            subsystem,
            state: AtomicU8::new(SubsystemState::Starting as u8),
            readiness: AtomicU8::new(0),
            restarts: AtomicU32::new(0),
            failures: Mutex::new(None),
            flags: AtomicU8::new(0),
        }
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

    /// Counts one more restart; returns the new count.
    pub(crate) fn count_restart(&self) -> u32 {
        self.restarts.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Whether the current run has declared itself ready (at once, unless the subsystem holds
    /// its readiness).
    pub(crate) fn is_ready(&self) -> bool {
        self.readiness.load(Ordering::Acquire) & READY != 0
    }

    /// A new run that holds its readiness starts not ready.
    pub(crate) fn hold_readiness(&self) {
        self.readiness.fetch_and(!READY, Ordering::AcqRel);
    }

    /// The current run is ready. Returns `true` the first time, when it counts towards
    /// start-up.
    #[must_use]
    pub(crate) fn mark_ready(&self) -> bool {
        self.readiness.fetch_or(READY | COUNTED, Ordering::AcqRel) & COUNTED == 0
    }

    /// Counts the subsystem towards start-up even though it never became ready (its first run
    /// ended first). Returns `true` if it had not counted yet.
    #[must_use]
    pub(crate) fn count_started(&self) -> bool {
        self.readiness.fetch_or(COUNTED, Ordering::AcqRel) & COUNTED == 0
    }

    /// Whether its supervising task has ended (returned or was dropped after an abort).
    pub(crate) fn has_exited(&self) -> bool {
        self.flags.load(Ordering::Acquire) & EXITED != 0
    }

    pub(crate) fn mark_exited(&self) {
        self.flags.fetch_or(EXITED, Ordering::Release);
    }

    /// Cancelled when the daemon stops or this subsystem is removed.
    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Starts its removal: its handle is cancelled. `false` if a removal already started.
    pub(crate) fn begin_removal(&self) -> bool {
        if self.flags.fetch_or(REMOVING, Ordering::AcqRel) & REMOVING != 0 {
            return false;
        }
        self.token.cancel();
        true
    }

    /// Whether its removal has begun: the end of its current run is its last.
    pub(crate) fn is_removing(&self) -> bool {
        self.flags.load(Ordering::Acquire) & REMOVING != 0
    }

    /// Its removal is complete: status, readiness and metrics leave it out from now on.
    pub(crate) fn mark_removed(&self) {
        self.flags.fetch_or(REMOVED, Ordering::Release);
    }

    /// Whether it has been removed.
    pub(crate) fn is_removed(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & REMOVED != 0
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, Option<Box<Failures>>> {
        crate::lock::mutex(&self.failures)
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

    /// The run that just ended returned a configuration error.
    pub(crate) fn note_config_error(&self) {
        self.note(|f| f.config_error = true);
    }

    /// Whether the run that just ended returned a configuration error (and forgets it).
    pub(crate) fn take_config_error(&self) -> bool {
        self.failures()
            .as_deref_mut()
            .is_some_and(|f| std::mem::take(&mut f.config_error))
    }

    pub(crate) fn note_health_failure(&self) {
        self.note(|f| f.health_failures += 1);
    }

    pub(crate) fn transition(
        &self,
        to: SubsystemState,
        error: Option<&Arc<str>>,
        events: &EventBus,
    ) {
        if let Some(error) = error {
            self.note(|f| f.last_error = Some(Arc::new(error.to_string())));
        }
        self.state.store(to as u8, Ordering::Release);
        self.announce(to, error, events);
    }

    fn announce(&self, to: SubsystemState, error: Option<&Arc<str>>, events: &EventBus) {
        tracing::debug!(
            subsystem = self.name(),
            state = to.as_str(),
            "subsystem state changed"
        );
        events.emit(|| SubsystemEvent {
            subsystem: Arc::from(self.name()),
            state: to,
            error: error.cloned(),
            at: std::time::Instant::now(),
            waiting_for: None,
        });
    }

    /// Its next run waits for `dependency` to be ready: logged, and an event in its current
    /// state.
    pub(crate) fn announce_waiting(&self, dependency: &Arc<str>, events: &EventBus) {
        tracing::info!(
            subsystem = self.name(),
            "subsystem `{}` waits for `{dependency}` to be ready",
            self.name()
        );
        events.emit(|| SubsystemEvent {
            subsystem: Arc::from(self.name()),
            state: self.state(),
            error: None,
            at: std::time::Instant::now(),
            waiting_for: Some(dependency.clone()),
        });
    }

    /// `Running → Stopping`, when shutdown starts; other states are left alone because their
    /// own supervisor is about to move them to a terminal state.
    pub(crate) fn mark_stopping(&self, events: &EventBus) {
        let running = SubsystemState::Running as u8;
        let stopping = SubsystemState::Stopping as u8;
        if self
            .state
            .compare_exchange(running, stopping, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.announce(SubsystemState::Stopping, None, events);
        }
    }

    /// Aborts the run after its shutdown budget ran out. Returns `false` if it had already
    /// ended.
    pub(crate) fn abort_overdue(
        &self,
        budget: Duration,
        abort: Option<&AbortHandle>,
        events: &EventBus,
    ) -> bool {
        if self.state().is_terminal() {
            return false;
        }
        let reason: Arc<str> =
            format!("did not stop within its shutdown timeout of {budget:?}; aborted").into();
        self.transition(SubsystemState::Failed, Some(&reason), events);
        if let Some(abort) = abort {
            abort.abort();
        }
        true
    }
}
