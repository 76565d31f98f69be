//! The daemon: registers subsystems, runs them under supervision, and shuts them down within
//! the configured deadlines.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::events::EventBus;
use crate::handle::DaemonHandle;
use crate::pidfile::PidFile;
use crate::reload::LiveConfig;
use crate::signal::{self, SignalConfig, signal_name};
use crate::supervisor::{SubsystemEntry, supervise};
use crate::{
    Config, Error, Result, ShutdownHandle, Subsystem, SubsystemFn, SubsystemState, logging,
    systemd, watchdog, watcher,
};

/// Why a daemon is shutting down.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownReason {
    /// A signal (SIGTERM, SIGINT or SIGQUIT) was received.
    Signal(i32),
    /// [`DaemonHandle::request_shutdown`] was called.
    Requested,
    /// A critical subsystem ended as failed.
    SubsystemFailed(String),
    /// Every subsystem stopped on its own.
    AllStopped,
}

impl fmt::Display for ShutdownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Signal(signal) => write!(f, "received {}", signal_name(*signal)),
            Self::Requested => f.write_str("shutdown requested"),
            Self::SubsystemFailed(name) => write!(f, "critical subsystem `{name}` failed"),
            Self::AllStopped => f.write_str("every subsystem has stopped"),
        }
    }
}

#[derive(Debug, Default)]
struct Outcome {
    reason: Option<ShutdownReason>,
    failure: Option<Error>,
}

/// State shared by the daemon, its supervisors, its handles and the signal thread.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: LiveConfig,
    pub(crate) shutdown: ShutdownHandle,
    pub(crate) events: EventBus,
    pub(crate) signal_bits: AtomicU8,
    /// Subsystems added so far, until `run` freezes them into `entries`.
    registering: Mutex<Vec<SubsystemEntry>>,
    /// The subsystems of a running daemon, in one contiguous allocation; supervisors refer to
    /// theirs by index.
    entries: OnceLock<Box<[SubsystemEntry]>>,
    outcome: Mutex<Outcome>,
    lifecycle: Mutex<Lifecycle>,
    #[cfg(feature = "metrics")]
    pub(crate) metrics: crate::metrics::MetricsCollector,
    #[cfg(feature = "metrics")]
    resources: Mutex<Option<crate::resources::ResourceTracker>>,
    /// Subsystems whose first run has not started yet (1 before `run` starts them).
    unstarted: AtomicUsize,
    started_at: OnceLock<std::time::Instant>,
    /// When shutdown began.
    stopping_since: OnceLock<std::time::Instant>,
}

/// Whether `run` is in progress, and the watchdog of its shutdown once that has started.
#[derive(Default)]
struct Lifecycle {
    running: bool,
    watchdog: Option<watchdog::Watchdog>,
}

impl fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifecycle")
            .field("running", &self.running)
            .field("watchdog_armed", &self.watchdog.is_some())
            .finish()
    }
}

/// Marks the daemon running for as long as it lives; dropping it (when `run` returns or its
/// future is dropped) disarms the watchdog.
struct Running(Arc<Shared>);

impl Running {
    fn start(shared: &Arc<Shared>) -> Self {
        shared.lifecycle().running = true;
        // A shutdown requested before `run` (a signal during start-up) gets its deadlines now.
        shared.arm_watchdog();
        Self(shared.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut lifecycle = self.0.lifecycle();
        lifecycle.running = false;
        lifecycle.watchdog = None;
    }
}

impl Shared {
    /// Why shutdown started, once it has.
    pub(crate) fn shutdown_reason(&self) -> Option<ShutdownReason> {
        self.outcome().reason.clone()
    }

    fn outcome(&self) -> std::sync::MutexGuard<'_, Outcome> {
        self.outcome
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The running daemon's subsystems (empty before `run`).
    pub(crate) fn entries(&self) -> &[SubsystemEntry] {
        self.entries.get().map_or(&[], |entries| entries)
    }

    fn registering(&self) -> std::sync::MutexGuard<'_, Vec<SubsystemEntry>> {
        self.registering
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Calls `f` with every subsystem, before or after `run` froze them.
    pub(crate) fn with_entries<R>(&self, f: impl FnOnce(&[SubsystemEntry]) -> R) -> R {
        match self.entries.get() {
            Some(entries) => f(entries),
            None => f(&self.registering()),
        }
    }

    fn freeze_entries(&self) -> &[SubsystemEntry] {
        let registered = std::mem::take(&mut *self.registering());
        self.entries.get_or_init(|| registered.into_boxed_slice())
    }

    fn lifecycle(&self) -> std::sync::MutexGuard<'_, Lifecycle> {
        self.lifecycle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts shutdown: cancels every handle and, if the daemon is running, arms the watchdog
    /// here and now, so the deadlines hold even if the task running the daemon is wedged.
    /// Accepts connections with `accept` and hands each to its own `serve` task, until
    /// shutdown starts: from that instant new connections are refused (the listener is dropped
    /// with this future). `what` names the server in the log.
    #[cfg(any(feature = "admin", feature = "ipc"))]
    pub(crate) async fn accept_until_shutdown<S, Accepting, Serving>(
        self: Arc<Self>,
        what: &str,
        mut accept: impl FnMut() -> Accepting,
        serve: fn(S, Arc<Self>) -> Serving,
    ) where
        Accepting: Future<Output = std::io::Result<S>>,
        Serving: Future<Output = ()> + Send + 'static,
    {
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                accepted = accept() => match accepted {
                    Ok(stream) => {
                        tokio::spawn(serve(stream, self.clone()));
                    }
                    Err(err) => tracing::debug!("{what}: accept failed: {err}"),
                },
            }
        }
    }

    /// How long ago shutdown began (zero if it has not).
    pub(crate) fn time_stopping(&self) -> Duration {
        self.stopping_since
            .get()
            .map_or(Duration::ZERO, std::time::Instant::elapsed)
    }

    pub(crate) fn request_shutdown(self: &Arc<Self>, reason: ShutdownReason) {
        let first = {
            let mut outcome = self.outcome();
            let first = outcome.reason.is_none();
            outcome.reason.get_or_insert(reason);
            first
        };
        self.begin_shutdown(first);
    }

    /// The first time, tells systemd; then cancels every handle and arms the watchdog.
    fn begin_shutdown(self: &Arc<Self>, first: bool) {
        if first {
            let _ = self.stopping_since.set(std::time::Instant::now());
            // Before the cancellation: once handles are cancelled the daemon may finish and
            // exit before this thread gets to send anything.
            let reason = self
                .outcome()
                .reason
                .clone()
                .map_or_else(|| "shutdown requested".to_owned(), |r| r.to_string());
            systemd::stopping(
                &format!("stopping: {reason}"),
                self.config.get().shutdown.kill_timeout(),
            );
            #[cfg(feature = "console")]
            crate::console::stopping(&self.config.get().name, &reason);
        }
        self.shutdown.trigger();
        self.arm_watchdog();
    }

    /// Starts sampling resources if `monitoring.track_resources` asks for it.
    #[cfg(feature = "metrics")]
    async fn start_resource_tracking(&self) {
        let monitoring = self.config.get().monitoring.clone();
        if !monitoring.track_resources {
            return;
        }
        let mut tracker = crate::resources::ResourceTracker::new(Duration::from_millis(
            monitoring.metrics_interval_ms,
        ));
        match tracker.start().await {
            Ok(()) => {
                *self
                    .resources
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tracker)
            }
            Err(err) => tracing::warn!("monitoring.track_resources: {err}"),
        }
    }

    /// The latest resource sample, while tracking.
    #[cfg(feature = "metrics")]
    pub(crate) fn resource_usage(&self) -> Option<crate::resources::ResourceUsage> {
        self.resources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .and_then(crate::resources::ResourceTracker::current_usage)
    }

    /// Time since `run` began.
    pub(crate) fn uptime(&self) -> Duration {
        self.started_at
            .get()
            .map_or(Duration::ZERO, std::time::Instant::elapsed)
    }

    /// Ready: every subsystem has started, no critical one is down, and the daemon is not
    /// stopping. Otherwise, why not.
    pub(crate) fn readiness(&self) -> std::result::Result<(), String> {
        if self.shutdown.is_shutdown() {
            return Err("shutting down".to_owned());
        }
        for entry in self.entries() {
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

    /// Called once per subsystem when its first run has started (or it ended without one);
    /// when the last one has, start-up is complete.
    pub(crate) fn subsystem_started(&self) {
        if self.unstarted.fetch_sub(1, Ordering::AcqRel) == 1 && !self.shutdown.is_shutdown() {
            let count = self.entries().len();
            tracing::info!("all {count} subsystem(s) are running");
            #[cfg(feature = "console")]
            crate::console::running(&self.config.get().name, count);
            systemd::ready(&format!("running {count} subsystem(s)"));
        }
    }

    fn arm_watchdog(self: &Arc<Self>) {
        let mut lifecycle = self.lifecycle();
        if lifecycle.running && lifecycle.watchdog.is_none() && self.shutdown.is_shutdown() {
            let config = self.config.get();
            let deadlines = &config.shutdown;
            lifecycle.watchdog = Some(watchdog::arm(
                self.clone(),
                deadlines.force_timeout(),
                deadlines.kill_timeout(),
            ));
        }
    }

    pub(crate) fn record_failure(self: &Arc<Self>, name: &str, error: &str) {
        let first = {
            let mut outcome = self.outcome();
            outcome
                .failure
                .get_or_insert_with(|| Error::subsystem(name.to_owned(), error.to_owned()));
            let first = outcome.reason.is_none();
            outcome
                .reason
                .get_or_insert_with(|| ShutdownReason::SubsystemFailed(name.to_owned()));
            first
        };
        self.begin_shutdown(first);
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
}

/// A daemon about to run. Created with [`Daemon::builder`].
#[derive(Debug)]
pub struct Daemon;

impl Daemon {
    /// Starts building a daemon with `config`.
    ///
    /// ```
    /// use proc_daemon::{Config, Daemon};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let daemon = Daemon::builder(Config::default())
    ///     .with_task("once", |_shutdown| async { Ok(()) });
    /// // Every subsystem stops on its own, so the daemon stops cleanly.
    /// daemon.run().await.unwrap();
    /// # });
    /// ```
    #[must_use]
    pub fn builder(config: Config) -> DaemonBuilder {
        DaemonBuilder::new(config)
    }
}

/// Registers subsystems and options, then [`run`](DaemonBuilder::run)s the daemon.
#[derive(Debug)]
pub struct DaemonBuilder {
    shared: Arc<Shared>,
    pid_file: Option<PathBuf>,
}

impl DaemonBuilder {
    fn new(config: Config) -> Self {
        let pid_file = config.pid_file.clone();
        Self {
            shared: Arc::new(Shared {
                config: LiveConfig::new(config),
                shutdown: ShutdownHandle::new(),
                events: EventBus::default(),
                signal_bits: signal::default_bits(),
                registering: Mutex::new(Vec::new()),
                entries: OnceLock::new(),
                outcome: Mutex::new(Outcome::default()),
                lifecycle: Mutex::new(Lifecycle::default()),
                #[cfg(feature = "metrics")]
                metrics: crate::metrics::MetricsCollector::new(),
                #[cfg(feature = "metrics")]
                resources: Mutex::new(None),
                unstarted: AtomicUsize::new(1),
                started_at: OnceLock::new(),
                stopping_since: OnceLock::new(),
            }),
            pid_file,
        }
    }

    /// Adds a subsystem. Subsystems start in the order they were added.
    #[must_use]
    pub fn with_subsystem(self, subsystem: impl Subsystem) -> Self {
        self.with_boxed_subsystem(Box::new(subsystem))
    }

    /// Adds a boxed subsystem.
    #[must_use]
    pub fn with_boxed_subsystem(self, subsystem: Box<dyn Subsystem>) -> Self {
        self.shared
            .registering()
            .push(SubsystemEntry::new(subsystem));
        self
    }

    /// Adds a subsystem made from a closure, with the default options (restart on failure,
    /// critical). Use [`SubsystemFn`] with [`with_subsystem`](Self::with_subsystem) to set them.
    #[must_use]
    pub fn with_subsystem_fn<F, Fut>(self, name: &str, run: F) -> Self
    where
        F: Fn(ShutdownHandle) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.with_subsystem(SubsystemFn::new(name.to_owned(), run))
    }

    /// The same as [`with_subsystem_fn`](Self::with_subsystem_fn); the name the published
    /// `proc-daemon` API uses.
    #[must_use]
    pub fn with_task<F, Fut>(self, name: &str, run: F) -> Self
    where
        F: Fn(ShutdownHandle) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.with_subsystem_fn(name, run)
    }

    /// Chooses which signals the daemon acts on.
    #[must_use]
    pub fn with_signal_config(self, config: SignalConfig) -> Self {
        self.shared
            .signal_bits
            .store(config.to_bits(), Ordering::Release);
        self
    }

    /// The file the configuration was read from, read again on reload (SIGHUP,
    /// [`DaemonHandle::reload`], or a change of the file when `hot_reload` is on).
    #[must_use]
    pub fn with_config_path(self, path: impl Into<PathBuf>) -> Self {
        self.shared.config.set_path(path.into());
        self
    }

    /// The prefix of environment overrides applied on reload (default `DAEMON`).
    #[must_use]
    pub fn with_env_prefix(self, prefix: impl Into<String>) -> Self {
        self.shared.config.set_env_prefix(prefix.into());
        self
    }

    /// Sends signals to this daemon before `run` (which attaches again, harmlessly).
    pub(crate) fn attach_signals(&self) -> signal::Attachment {
        signal::attach(&self.shared)
    }

    pub(crate) fn set_default_name(&self, name: String) {
        self.shared.config.set_default_name(name);
    }

    /// Uses a PID file (overriding `pid_file` from the config).
    #[must_use]
    pub fn with_pid_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pid_file = Some(path.into());
        self
    }

    /// A handle to the daemon, usable before and while it runs.
    #[must_use]
    pub fn handle(&self) -> DaemonHandle {
        DaemonHandle::new(self.shared.clone())
    }

    /// Runs the daemon until it has shut down.
    ///
    /// Signal handlers are installed first. Then the PID file is locked and the subsystems are
    /// started in order. Shutdown starts on SIGTERM/SIGINT/SIGQUIT, on
    /// [`DaemonHandle::request_shutdown`], when a critical subsystem fails, or when every
    /// subsystem has stopped on its own; it then follows the deadlines of `[shutdown]`.
    ///
    /// # Errors
    /// [`Error::Subsystem`] (exit code 1) when a critical subsystem failed;
    /// [`Error::Shutdown`] (exit code 70) when subsystems had to be aborted at their deadline;
    /// [`Error::AlreadyRunning`] or [`Error::PidFile`] when the PID file cannot be taken;
    /// [`Error::Io`] when signal handlers cannot be installed.
    pub async fn run(self) -> Result<()> {
        #[cfg(feature = "console")]
        let shared = self.shared.clone();
        let outcome = self.run_to_end().await;
        #[cfg(feature = "console")]
        crate::console::stopped(&shared.config.get().name, &outcome, shared.time_stopping());
        outcome
    }

    async fn run_to_end(self) -> Result<()> {
        signal::install()?;
        let shared = self.shared;
        let _running = Running::start(&shared);
        let _signals = signal::attach(&shared);
        logging::init(&shared.config.get());
        #[cfg(feature = "console")]
        crate::console::init(&shared.config.get());
        #[cfg(feature = "scheduler-hints")]
        crate::scheduler::apply_process_hints(&shared.config.get());
        let _pid_file = self.pid_file.map(PidFile::acquire).transpose()?;
        let _ = shared.started_at.set(std::time::Instant::now());
        #[cfg(feature = "metrics")]
        {
            if shared.config.get().monitoring.enable_metrics
                && crate::metrics::install_as_global_recorder(&shared.metrics)
            {
                tracing::debug!("`metrics` crate macros now record into the daemon's /metrics");
            }
            shared.start_resource_tracking().await;
        }
        #[cfg(feature = "admin")]
        let _admin = match shared.config.get().admin.clone() {
            Some(admin) => Some(crate::admin::start(admin.bind, shared.clone()).await?),
            None => None,
        };
        #[cfg(feature = "ipc")]
        let _ipc = {
            let config = shared.config.get();
            config
                .ipc
                .enabled
                .then(|| crate::ipc::start(config.ipc.socket_path(&config.name), shared.clone()))
                .transpose()?
        };
        let _watcher = match shared.config.path() {
            Some(path) if shared.config.get().hot_reload => watcher::watch(&path, &shared),
            _ => None,
        };

        let tracker = TaskTracker::new();
        let aborts = start_subsystems(&shared, &tracker);
        tracker.close();
        let started = aborts.iter().flatten().count();
        tracing::info!(
            "daemon `{}` started {started} subsystem(s) (pid {})",
            shared.config.get().name,
            std::process::id()
        );

        // Pings stop when this task stops being polled: a wedged runtime gets restarted.
        let watchdog_pings = systemd::watchdog_interval()
            .map(|interval| tokio::spawn(systemd::keep_watchdog_fed(interval)));
        tokio::select! {
            () = tracker.wait() => shared.request_shutdown(ShutdownReason::AllStopped),
            () = shared.shutdown.cancelled() => {}
        }
        let overrun = shut_down(&shared, &tracker, &aborts).await;
        if let Some(pings) = watchdog_pings {
            pings.abort();
        }

        let failure = shared.outcome().failure.take();
        if let Some(failure) = failure {
            return Err(failure);
        }
        if !overrun.is_empty() {
            return Err(Error::shutdown(format!(
                "{} did not stop within the shutdown timeout and had to be aborted",
                overrun.join(", ")
            )));
        }
        tracing::info!(
            "daemon `{}` stopped cleanly in {:?}",
            shared.config.get().name,
            shared.time_stopping()
        );
        Ok(())
    }
}

/// Spawns one supervisor per subsystem; returns their abort handles (`None` for subsystems
/// not started because shutdown began during start-up).
fn start_subsystems(shared: &Arc<Shared>, tracker: &TaskTracker) -> Vec<Option<AbortHandle>> {
    let entries = shared.freeze_entries();
    // One more than the subsystems, released below, so that start-up is complete only once
    // every subsystem has been spawned (and at once when there are none).
    shared.unstarted.store(entries.len() + 1, Ordering::Release);
    let mut aborts = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        if shared.shutdown.is_shutdown() {
            // A signal arrived during start-up: what has started is stopped, the rest never runs.
            entry.transition(SubsystemState::Stopped, None, shared);
            entry.mark_exited();
            aborts.push(None);
            continue;
        }
        let task = tracker.spawn(supervise(shared.clone(), index));
        aborts.push(Some(task.abort_handle()));
    }
    shared.subsystem_started();
    aborts
}

/// Cancels every handle, then aborts subsystems that overrun their budget. Returns the names of
/// the aborted ones. The force and kill deadlines are the watchdog's.
async fn shut_down(
    shared: &Arc<Shared>,
    tracker: &TaskTracker,
    aborts: &[Option<AbortHandle>],
) -> Vec<String> {
    let t0 = Instant::now();
    let config = shared.config.get();
    let deadlines = &config.shutdown;
    // Normally a no-op: whoever requested the shutdown has armed the watchdog already.
    shared.request_shutdown(ShutdownReason::Requested);
    let reason = shared
        .outcome()
        .reason
        .clone()
        .unwrap_or(ShutdownReason::Requested);
    tracing::info!(
        "shutting down ({reason}); subsystems have {:?} to stop",
        deadlines.timeout()
    );

    let global = deadlines.timeout();
    let budget_of = |entry: &SubsystemEntry| entry.subsystem.shutdown_timeout().unwrap_or(global);
    let mut budgets: Vec<Duration> = Vec::new();
    for entry in shared.entries().iter() {
        entry.mark_stopping(shared);
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
            if budget_of(entry) <= budget && entry.abort_overdue(budget, abort.as_ref(), shared) {
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

#[cfg(test)]
impl DaemonBuilder {
    pub(crate) fn shared_for_probe(&self) -> Arc<Shared> {
        self.shared.freeze_entries();
        self.shared.clone()
    }
}
