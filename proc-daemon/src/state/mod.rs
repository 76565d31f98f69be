//! The ground floor: the state of one daemon, shared by its builder, supervisors, handles,
//! signal thread and servers. Plain data and the questions it answers (is the daemon ready,
//! which subsystems are unfinished, why is it stopping); what *happens* on a change lives in the
//! layers above, so this module imports none of them.

mod dependencies;
mod entries;
mod entry;
mod events;
mod exit_watch;
mod handover;
mod leadership;
mod live_config;
mod snapshot;

use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub(crate) use dependencies::Dependencies;
pub(crate) use entries::Entries;
pub(crate) use entry::SubsystemEntry;
pub(crate) use events::EventBus;
pub use events::SubsystemEvent;
pub(crate) use exit_watch::ExitWatch;
pub(crate) use handover::{Handover, LockedFile};
pub use leadership::ClusterStanding;
pub(crate) use leadership::Leadership;
pub(crate) use live_config::LiveConfig;
pub use live_config::ReloadCounts;
pub use snapshot::SubsystemStatus;

use crate::subsystem::StateMap;
use crate::{Config, Error, ShutdownHandle, SubsystemState};

/// Why a daemon is shutting down.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownReason {
    /// A signal (SIGTERM, SIGINT or SIGQUIT) was received; the number.
    Signal(i32),
    /// [`DaemonHandle::request_shutdown`](crate::DaemonHandle::request_shutdown) was called.
    Requested,
    /// A critical subsystem ended as failed.
    SubsystemFailed(String),
    /// A subsystem returned a configuration error (`Error::Config`), which no restart mends.
    ConfigError(String),
    /// Every subsystem stopped on its own.
    AllStopped,
    /// An upgrade's new process (this pid) is ready and serves in this one's place.
    Upgraded(u32),
}

impl fmt::Display for ShutdownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Signal(signal) => write!(f, "received {}", signal_name(*signal)),
            Self::Requested => f.write_str("shutdown requested"),
            Self::SubsystemFailed(name) => write!(f, "critical subsystem `{name}` failed"),
            Self::ConfigError(name) => {
                write!(f, "subsystem `{name}` returned a configuration error")
            }
            Self::AllStopped => f.write_str("every subsystem has stopped"),
            Self::Upgraded(pid) => write!(f, "upgraded: pid {pid} serves in this process's place"),
        }
    }
}

/// The conventional name of a signal, for logs.
///
/// ```
/// assert_eq!(proc_daemon::signal::signal_name(libc::SIGTERM), "SIGTERM");
/// ```
#[must_use]
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGHUP => "SIGHUP",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        _ => "signal",
    }
}

/// How the daemon's run ends: why it stopped, and the failure that decides its exit code.
#[derive(Debug, Default)]
struct Outcome {
    reason: Option<ShutdownReason>,
    failure: Option<Error>,
}

/// Whether `run` is in progress, and the ticket of the watchdog armed for its shutdown.
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    pub(crate) running: bool,
    pub(crate) watchdog: Option<u64>,
    /// Runs inside a test (`testing`): no watchdog thread, whose deadlines end the process.
    pub(crate) in_process: bool,
}

/// The state of one daemon.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Arc<LiveConfig>,
    pub(crate) shutdown: ShutdownHandle,
    pub(crate) events: EventBus,
    /// The `SignalConfig` in force, as bits (read by the signal thread).
    pub(crate) signal_bits: AtomicU8,
    /// Subsystems added so far, until `run` freezes them into `entries`.
    registering: Mutex<Vec<SubsystemEntry>>,
    /// The subsystems of a running daemon; supervisors refer to theirs by position.
    entries: Entries,
    /// Where supervisors run, once `run` has started its subsystems: what a subsystem added at
    /// run time is spawned on.
    runtime: OnceLock<(tokio::runtime::Handle, tokio_util::task::TaskTracker)>,
    /// Each supervisor's abort handle, by position (`None`: never started).
    aborts: Mutex<Vec<Option<tokio::task::AbortHandle>>>,
    /// Notified when a supervisor ends while someone waits for one to (see [`ExitWatch`]).
    pub(crate) exits: ExitWatch,
    outcome: Mutex<Outcome>,
    lifecycle: Mutex<Lifecycle>,
    #[cfg(feature = "metrics")]
    pub(crate) metrics: crate::metrics::MetricsCollector,
    #[cfg(feature = "metrics")]
    pub(crate) resources: Mutex<Option<crate::resources::ResourceTracker>>,
    /// Subsystems whose first run has not started yet (1 before `run` starts them).
    unstarted: AtomicUsize,
    started_at: OnceLock<Instant>,
    /// When shutdown began.
    stopping_since: OnceLock<Instant>,
    /// What the set-up provided, fixed when `run` starts.
    provided: OnceLock<Arc<StateMap>>,
    /// The start order, when some subsystem runs after another; fixed when `run` starts.
    dependencies: OnceLock<Dependencies>,
    /// What an upgrade hands from this process to the next.
    pub(crate) handover: Handover,
    /// This replica's standing in the cluster's election (`[cluster]`).
    pub(crate) leadership: Leadership,
    /// Control-socket answers being written: the run waits (briefly) for them after the
    /// subsystems stop, so the answer to `stop` or `upgrade` reaches its client.
    pub(crate) answers: tokio_util::task::TaskTracker,
}

impl Shared {
    pub(crate) fn new(config: Config, signal_bits: u8) -> Self {
        Self {
            config: Arc::new(LiveConfig::new(config)),
            shutdown: ShutdownHandle::new(),
            events: EventBus::default(),
            signal_bits: AtomicU8::new(signal_bits),
            registering: Mutex::new(Vec::new()),
            entries: Entries::default(),
            runtime: OnceLock::new(),
            aborts: Mutex::new(Vec::new()),
            exits: ExitWatch::default(),
            outcome: Mutex::new(Outcome::default()),
            lifecycle: Mutex::new(Lifecycle::default()),
            #[cfg(feature = "metrics")]
            metrics: crate::metrics::MetricsCollector::new(),
            #[cfg(feature = "metrics")]
            resources: Mutex::new(None),
            unstarted: AtomicUsize::new(1),
            started_at: OnceLock::new(),
            stopping_since: OnceLock::new(),
            provided: OnceLock::new(),
            dependencies: OnceLock::new(),
            answers: tokio_util::task::TaskTracker::new(),
            handover: Handover::default(),
            leadership: Leadership::default(),
        }
    }

    /// Fixes the start order (once, when `run` starts).
    pub(crate) fn set_dependencies(&self, dependencies: Dependencies) {
        let _ = self.dependencies.set(dependencies);
    }

    /// The start order, if any subsystem runs after another.
    pub(crate) fn dependencies(&self) -> Option<&Dependencies> {
        self.dependencies.get()
    }

    /// Wakes whatever waits on the start order (a dependent waiting for readiness, the ordered
    /// stop waiting for an exit); nothing without one.
    pub(crate) fn order_changed(&self) {
        if let Some(dependencies) = self.dependencies() {
            dependencies.changed.notify_waiters();
        }
    }

    /// Fixes what the set-up provided (once, when `run` starts).
    pub(crate) fn set_provided(&self, provided: StateMap) {
        let _ = self.provided.set(Arc::new(provided));
    }

    /// What the set-up provided (nothing before `run`).
    pub(crate) fn provided(&self) -> Arc<StateMap> {
        self.provided.get().cloned().unwrap_or_default()
    }

    /// Adds a subsystem before `run`.
    pub(crate) fn register(&self, subsystem: Box<dyn crate::Subsystem>) {
        let entry = SubsystemEntry::new(subsystem, &self.shutdown);
        crate::lock::mutex(&self.registering).push(entry);
    }

    /// The running daemon's subsystems by position (none before `run`).
    pub(crate) fn entries(&self) -> &Entries {
        &self.entries
    }

    /// Calls `f` with the subsystems `run` starts with, before or after it froze them.
    pub(crate) fn with_entries<R>(&self, f: impl FnOnce(&[SubsystemEntry]) -> R) -> R {
        if self.entries.is_frozen() {
            f(self.entries.initial())
        } else {
            f(&crate::lock::mutex(&self.registering))
        }
    }

    /// Every present subsystem now, in the order they were added (removed ones left out).
    pub(crate) fn statuses(&self) -> Vec<SubsystemStatus> {
        let status = |index: usize, entry: &SubsystemEntry| {
            let mut status = entry.status();
            status.waiting_for = self
                .dependencies()
                .and_then(|d| d.waiting_for(index))
                .map(|name| name.to_string());
            if entry.subsystem.singleton()
                && status.state == SubsystemState::Stopped
                && !self.shutdown.is_shutdown()
                && self.config.get().cluster.is_some()
                && !self.leadership.now().leading
            {
                status.waiting_for = Some("leadership".to_owned());
            }
            status
        };
        if !self.entries.is_frozen() {
            return self.with_entries(|entries| {
                entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| status(i, e))
                    .collect()
            });
        }
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| !entry.is_removed())
            .map(|(index, entry)| status(index, entry))
            .collect()
    }

    /// Fixes the set of subsystems for `run`; `start` more are expected to count towards
    /// start-up from now on.
    pub(crate) fn freeze_entries(&self) -> &[SubsystemEntry] {
        let registered = std::mem::take(&mut *crate::lock::mutex(&self.registering));
        self.entries.freeze(registered)
    }

    /// Notes where supervisors run (once, as `run` starts its subsystems): from then on,
    /// subsystems may be added.
    pub(crate) fn set_runtime(&self, tracker: tokio_util::task::TaskTracker) {
        let _ = self
            .runtime
            .set((tokio::runtime::Handle::current(), tracker));
    }

    /// Notes the abort handles of the starting set's supervisors (`None`: never started).
    pub(crate) fn set_initial_aborts(&self, initial: Vec<Option<tokio::task::AbortHandle>>) {
        let mut aborts = crate::lock::mutex(&self.aborts);
        // Usually nothing was added yet: the vector moves in whole, never copied.
        let added = std::mem::replace(&mut *aborts, initial);
        for (index, abort) in added.into_iter().enumerate() {
            if abort.is_some() {
                if aborts.len() <= index {
                    aborts.resize(index + 1, None);
                }
                aborts[index] = abort;
            }
        }
    }

    /// Where supervisors run, once `run` has started its subsystems.
    pub(crate) fn runtime(
        &self,
    ) -> Option<&(tokio::runtime::Handle, tokio_util::task::TaskTracker)> {
        self.runtime.get()
    }

    /// Notes the abort handle of the supervisor at `index` (a subsystem added at run time).
    pub(crate) fn set_abort(&self, index: usize, abort: tokio::task::AbortHandle) {
        let mut aborts = crate::lock::mutex(&self.aborts);
        if aborts.len() <= index {
            aborts.resize(index + 1, None);
        }
        aborts[index] = Some(abort);
    }

    /// Drops the abort handle of the removed subsystem at `index`: it kept the ended task's
    /// memory, which a daemon that adds and removes subsystems for days must not accumulate.
    pub(crate) fn release_abort(&self, index: usize) {
        let released = crate::lock::mutex(&self.aborts)
            .get_mut(index)
            .and_then(Option::take);
        drop(released);
    }

    /// Drops every abort handle once all supervisors have ended: each handle keeps its ended
    /// task's memory allocated, which is then free for what the end of the run allocates.
    pub(crate) fn release_aborts(&self) {
        *crate::lock::mutex(&self.aborts) = Vec::new();
    }

    /// The abort handle of the supervisor at `index`, if it was started.
    pub(crate) fn abort_handle(&self, index: usize) -> Option<tokio::task::AbortHandle> {
        crate::lock::mutex(&self.aborts)
            .get(index)
            .cloned()
            .flatten()
    }

    pub(crate) fn lifecycle(&self) -> MutexGuard<'_, Lifecycle> {
        crate::lock::mutex(&self.lifecycle)
    }

    /// Why shutdown started, once it has.
    pub(crate) fn shutdown_reason(&self) -> Option<ShutdownReason> {
        crate::lock::mutex(&self.outcome).reason.clone()
    }

    /// Records why shutdown starts; `true` the first time (later reasons are ignored).
    pub(crate) fn set_reason(&self, reason: ShutdownReason) -> bool {
        let mut outcome = crate::lock::mutex(&self.outcome);
        let first = outcome.reason.is_none();
        outcome.reason.get_or_insert(reason);
        first
    }

    /// Records the first failure that decides the exit code (a critical subsystem's, or a
    /// configuration error) and `reason`, why shutdown starts because of it; `true` if this is
    /// the first reason to stop.
    pub(crate) fn set_failure(&self, error: Error, reason: ShutdownReason) -> bool {
        let mut outcome = crate::lock::mutex(&self.outcome);
        outcome.failure.get_or_insert(error);
        let first = outcome.reason.is_none();
        outcome.reason.get_or_insert(reason);
        first
    }

    /// The failure that ends the run, taken once.
    pub(crate) fn take_failure(&self) -> Option<Error> {
        crate::lock::mutex(&self.outcome).failure.take()
    }

    /// Notes the instant shutdown began (the first call wins).
    pub(crate) fn mark_stopping_now(&self) {
        let _ = self.stopping_since.set(Instant::now());
    }

    /// Whether shutdown has been requested: set before the handles are cancelled (which may
    /// happen a moment later, on a runtime worker), and cheaper to read than the token.
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping_since.get().is_some()
    }

    /// How long ago shutdown began (zero if it has not).
    pub(crate) fn time_stopping(&self) -> Duration {
        self.stopping_since
            .get()
            .map_or(Duration::ZERO, Instant::elapsed)
    }

    /// Notes the instant `run` began.
    pub(crate) fn mark_started_now(&self) {
        let _ = self.started_at.set(Instant::now());
    }

    /// Time since `run` began.
    pub(crate) fn uptime(&self) -> Duration {
        self.started_at
            .get()
            .map_or(Duration::ZERO, Instant::elapsed)
    }

    /// Start-up waits for `count` more subsystems (and the one placeholder taken in `new`,
    /// released by [`count_started`](Self::count_started) once every subsystem is spawned).
    pub(crate) fn expect_starts(&self, count: usize) {
        self.unstarted.store(count + 1, Ordering::Release);
    }

    /// One more subsystem has started; `true` when it was the last, completing start-up.
    pub(crate) fn count_started(&self) -> bool {
        self.unstarted.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Ready: every subsystem has started, no critical one is down, and the daemon is not
    /// stopping. Otherwise, why not.
    /// The longest stop budget among singleton subsystems: how long before its lease could
    /// expire a leader must give leadership up. Zero without singletons.
    #[cfg(feature = "cluster")]
    pub(crate) fn singleton_stop_budget(&self) -> Duration {
        let default = self.config.get().shutdown.timeout();
        self.entries()
            .iter()
            .filter(|entry| entry.subsystem.singleton())
            .map(|entry| entry.subsystem.shutdown_timeout().unwrap_or(default))
            .max()
            .unwrap_or(Duration::ZERO)
    }

    pub(crate) fn readiness(&self) -> Result<(), String> {
        if self.shutdown.is_shutdown() {
            return Err("shutting down".to_owned());
        }
        for (index, entry) in self.entries().iter().enumerate() {
            if entry.is_removed() {
                continue;
            }
            if let Some(dependency) = self.dependencies().and_then(|d| d.waiting_for(index)) {
                return Err(format!(
                    "subsystem `{}` is waiting for `{dependency}`",
                    entry.name()
                ));
            }
            let state = entry.state();
            let down = matches!(
                state,
                SubsystemState::Starting | SubsystemState::Restarting | SubsystemState::Failed
            );
            if down && entry.subsystem.critical() {
                return Err(format!("critical subsystem `{}` is {state}", entry.name()));
            }
            if state == SubsystemState::Running && !entry.is_ready() {
                return Err(format!("subsystem `{}` is not ready yet", entry.name()));
            }
        }
        if self.unstarted.load(Ordering::Acquire) > 0 {
            return Err("starting".to_owned());
        }
        Ok(())
    }

    /// The names of subsystems whose task has not ended, for the force-exit log line.
    pub(crate) fn unfinished_subsystems(&self) -> String {
        let names: Vec<String> = self
            .entries()
            .iter()
            .filter(|e| !e.has_exited())
            .map(|e| format!("`{}`", e.name()))
            .collect();
        names.join(", ")
    }

    /// The latest resource sample, while tracking.
    #[cfg(feature = "metrics")]
    pub(crate) fn resource_usage(&self) -> Option<crate::resources::ResourceUsage> {
        crate::lock::mutex(&self.resources)
            .as_ref()
            .map(crate::resources::ResourceTracker::current_usage)
    }
}
