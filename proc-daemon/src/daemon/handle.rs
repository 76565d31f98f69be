//! `DaemonHandle`: what code outside the daemon can see and do while it runs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::process::reload::reload;
use crate::state::{ReloadCounts, Shared, ShutdownReason, SubsystemEvent, SubsystemStatus};
use crate::supervision::lifecycle::request_shutdown;
use crate::supervision::membership;
use crate::{Config, Result, ShutdownHandle, Subsystem};

/// A handle on a daemon, from [`DaemonBuilder::handle`](crate::DaemonBuilder::handle): request shutdown, read subsystem
/// states, subscribe to lifecycle events. Cheap to clone.
///
/// ```
/// use proc_daemon::{Config, Daemon, SubsystemState};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let builder = Daemon::builder(Config::default()).with_task("idle", |shutdown| async move {
///     shutdown.cancelled().await;
///     Ok(())
/// });
/// let handle = builder.handle();
/// let mut events = handle.subscribe();
/// let running = tokio::spawn(builder.run());
/// while events.recv().await.unwrap().state != SubsystemState::Running {}
/// handle.request_shutdown();
/// running.await.unwrap().unwrap();
/// assert_eq!(handle.subsystems()[0].state, SubsystemState::Stopped);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct DaemonHandle {
    pub(super) shared: Arc<Shared>,
}

impl DaemonHandle {
    pub(crate) const fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Starts a graceful shutdown (a no-op if one has started).
    pub fn request_shutdown(&self) {
        request_shutdown(&self.shared, ShutdownReason::Requested);
    }

    /// Whether shutdown has started.
    #[must_use]
    pub fn is_shutting_down(&self) -> bool {
        self.shared.shutdown.is_shutdown()
    }

    /// `Ok` when the daemon is ready — every subsystem has started, no critical subsystem is
    /// starting, restarting or failed, and it is not shutting down — otherwise the reason.
    /// This is what `/readyz` answers.
    ///
    /// # Errors
    /// Why the daemon is not ready, e.g. ``critical subsystem `db` is restarting``.
    pub fn readiness(&self) -> std::result::Result<(), String> {
        self.shared.readiness()
    }

    /// Time since the daemon started running.
    #[must_use]
    pub fn uptime(&self) -> Duration {
        self.shared.uptime()
    }

    /// The latest sample of the process's resource use, when `monitoring.track_resources` is on
    /// and the daemon is running.
    #[cfg(feature = "metrics")]
    #[must_use]
    pub fn resource_usage(&self) -> Option<crate::resources::ResourceUsage> {
        self.shared.resource_usage()
    }

    /// The daemon's application metrics, served on `/metrics` with the built-in ones.
    #[cfg(feature = "metrics")]
    #[must_use]
    pub fn metrics(&self) -> crate::metrics::MetricsCollector {
        self.shared.metrics.clone()
    }

    /// Why shutdown started, once it has.
    #[must_use]
    pub fn shutdown_reason(&self) -> Option<ShutdownReason> {
        self.shared.shutdown_reason()
    }

    /// A shutdown handle, cancelled when the daemon starts shutting down.
    #[must_use]
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shared.shutdown.clone()
    }

    /// Every subsystem's current state, in registration order (subsystems added at run time
    /// after those it started with; removed ones left out).
    #[must_use]
    pub fn subsystems(&self) -> Vec<SubsystemStatus> {
        self.shared.statuses()
    }

    /// Adds a subsystem to the running daemon and starts it under the same supervision as the
    /// others: restart policy and limit, health checks, status, metrics, events. It does not
    /// count towards start-up, and the dependency order is fixed when the daemon starts, so it
    /// may not declare `after = [...]`.
    ///
    /// ```
    /// use proc_daemon::{Config, Daemon, SubsystemFn, SubsystemState};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let builder = Daemon::builder(Config::default()).with_task("main", |shutdown| async move {
    ///     shutdown.cancelled().await;
    ///     Ok(())
    /// });
    /// let handle = builder.handle();
    /// let mut events = handle.subscribe();
    /// let running = tokio::spawn(builder.run());
    /// while events.recv().await.unwrap().state != SubsystemState::Running {}
    ///
    /// let tenant = SubsystemFn::new("tenant-42", |shutdown| async move {
    ///     shutdown.cancelled().await;
    ///     Ok(())
    /// });
    /// handle.add_subsystem(tenant).unwrap();
    /// while events.recv().await.unwrap().state != SubsystemState::Running {}
    /// let ended = handle.remove_subsystem("tenant-42").await.unwrap();
    /// assert_eq!(ended.state, SubsystemState::Stopped);
    /// assert_eq!(handle.subsystems().len(), 1);
    ///
    /// handle.request_shutdown();
    /// running.await.unwrap().unwrap();
    /// # });
    /// ```
    ///
    /// # Errors
    /// The daemon is not running (yet) or is shutting down; a present subsystem has the same
    /// name; the subsystem declares dependencies; it takes a `State<T>` the set-up did not
    /// provide.
    pub fn add_subsystem(&self, subsystem: impl Subsystem) -> Result<()> {
        membership::add(&self.shared, Box::new(subsystem))
    }

    /// Stops the subsystem `name` of the running daemon — its handle is cancelled, and it is
    /// aborted if it has not stopped within its `shutdown_timeout` (else `shutdown.timeout_ms`)
    /// — then removes it: it leaves `subsystems()`, `/status`, `/readyz` and its series leave
    /// `/metrics`. Returns how it ended (`Stopped`, or `Failed` with the error or the abort).
    /// Its name may then be added again. What `ctl stop-subsystem NAME` does.
    ///
    /// # Errors
    /// No present subsystem has that name; the daemon is not running or is shutting down;
    /// another subsystem that runs after it is still running; it is already being removed.
    pub async fn remove_subsystem(&self, name: &str) -> Result<SubsystemStatus> {
        membership::remove(&self.shared, name).await
    }

    /// Starts queueing lifecycle events for [`try_next_event`](Self::try_next_event) (feature
    /// `lockfree-coordination`): from now on every state transition is pushed onto a lock-free
    /// queue. Call it before `run` to see every event from the first `Starting`.
    #[cfg(feature = "lockfree-coordination")]
    pub fn enable_events(&self) {
        self.shared.events.queue.enable();
    }

    /// The oldest queued lifecycle event, without waiting; `None` when the queue is empty or
    /// [`enable_events`](Self::enable_events) was not called. Events of one subsystem come in
    /// the order its states changed.
    #[cfg(feature = "lockfree-coordination")]
    #[must_use]
    pub fn try_next_event(&self) -> Option<SubsystemEvent> {
        self.shared.events.queue.try_next()
    }

    /// Lifecycle events from now on: one per state transition of every subsystem. A tokio
    /// `broadcast::Receiver` (a public dependency type): it tells a subscriber that fell behind
    /// how many events it missed (`RecvError::Lagged`), and it composes with `select!`.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<SubsystemEvent> {
        self.shared.events.subscribe()
    }

    /// The configuration in force: always complete and valid (a failed reload keeps the
    /// previous one).
    #[must_use]
    pub fn config_snapshot(&self) -> Arc<Config> {
        self.shared.config.get()
    }

    /// Every configuration from now on: the receiver sees each successful reload. A tokio
    /// `watch::Receiver` (a public dependency type): `changed().await` composes with `select!`
    /// and always yields the latest configuration, never a backlog.
    #[must_use]
    pub fn subscribe_config(&self) -> tokio::sync::watch::Receiver<Arc<Config>> {
        self.shared.config.subscribe()
    }

    /// This replica's standing in the cluster's election (`[cluster]`): the first `changed()`
    /// yields the standing now, then every change of leader, of this replica's role, of etcd's
    /// reachability. Without `[cluster]` it never changes (not leading). See
    /// [`Context::leadership`](crate::Context::leadership).
    #[must_use]
    pub fn subscribe_leadership(&self) -> tokio::sync::watch::Receiver<crate::ClusterStanding> {
        self.shared.leadership.announce()
    }

    /// Reads the configuration file and environment again, validates them and, if they are
    /// good, makes them the configuration in force (what SIGHUP does). Settings that need a
    /// restart (`name`, `performance.worker_threads`, `pid_file`, `hot_reload`, `logging.json`,
    /// `logging.color`) keep their value, with a warning.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) with the problem; the previous configuration stays in force.
    pub fn reload(&self) -> Result<()> {
        reload(&self.shared.config, "requested")
    }

    /// How many reloads were applied and how many failed.
    #[must_use]
    pub fn reload_counts(&self) -> ReloadCounts {
        self.shared.config.counts()
    }
}
