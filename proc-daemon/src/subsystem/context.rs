//! What a subsystem can reach besides its shutdown handle: the daemon's configuration.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::provided::{State, StateMap};
use crate::{Config, Result, ShutdownHandle};

/// Given to each run of a subsystem that asks for it (`#[subsystem]` functions take it as a
/// parameter of type `Context`; hand-written subsystems override
/// [`Subsystem::run_with_context`](crate::Subsystem::run_with_context)).
///
/// ```
/// use proc_daemon::{Config, Context, ShutdownHandle};
///
/// #[derive(serde::Deserialize)]
/// struct App { port: u16 }
///
/// let mut config = Config::default();
/// config.app.insert("port".into(), 8080.into());
/// let context = Context::new(ShutdownHandle::new(), config.into());
/// assert_eq!(context.app::<App>().unwrap().port, 8080);
/// assert!(!context.shutdown().is_shutdown());
/// ```
#[derive(Debug)]
pub struct Context {
    shutdown: ShutdownHandle,
    /// Behind a lock so [`config_changed`](Self::config_changed) takes `&self` and can be
    /// awaited in one `select!` with `shutdown().cancelled()`.
    config: Mutex<watch::Receiver<Arc<Config>>>,
    #[cfg(feature = "metrics")]
    metrics: crate::metrics::MetricsCollector,
    /// Who to tell that this run is ready, and this subsystem's place there (none in tests).
    owner: Option<(Arc<dyn Readiness>, usize)>,
    /// What the set-up provided.
    provided: Arc<StateMap>,
}

impl Clone for Context {
    fn clone(&self) -> Self {
        Self {
            shutdown: self.shutdown.clone(),
            config: Mutex::new(crate::lock::mutex(&self.config).clone()),
            #[cfg(feature = "metrics")]
            metrics: self.metrics.clone(),
            owner: self.owner.clone(),
            provided: self.provided.clone(),
        }
    }
}

/// What a subsystem's context may ask of the running daemon, and nothing else of it.
pub(crate) trait Readiness: Send + Sync + std::fmt::Debug {
    /// The current run of the subsystem at `index` is ready.
    fn mark_ready(&self, index: usize);

    /// How much of the subsystem's stop budget is left, once shutdown has begun.
    fn stop_time_left(&self, index: usize) -> Option<Duration>;

    /// The fencing token of the term this replica leads, if it leads (`[cluster]`).
    fn fencing_token(&self) -> Option<u64>;

    /// This replica's standing in the cluster's election, from now on.
    fn leadership(&self) -> watch::Receiver<crate::ClusterStanding>;
}

impl Context {
    /// A context with `shutdown` and a fixed `config` (for tests of a subsystem; the daemon
    /// gives each run a context that follows reloads).
    #[must_use]
    pub fn new(shutdown: ShutdownHandle, config: Arc<Config>) -> Self {
        // The sender may go: a receiver keeps the last value.
        Self {
            shutdown,
            config: Mutex::new(watch::Sender::new(config).subscribe()),
            #[cfg(feature = "metrics")]
            metrics: crate::metrics::MetricsCollector::new(),
            owner: None,
            provided: Arc::default(),
        }
    }

    /// Provides `value` to this context (for a test of a subsystem that takes a `State<T>`;
    /// the daemon gives each run what its set-up provided).
    ///
    /// ```
    /// use proc_daemon::{Config, Context, ShutdownHandle};
    ///
    /// let context = Context::new(ShutdownHandle::new(), Config::default().into())
    ///     .with_state(String::from("db://test"));
    /// assert_eq!(&*context.state::<String>().unwrap(), "db://test");
    /// ```
    #[must_use]
    pub fn with_state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        Arc::make_mut(&mut self.provided).insert(value);
        self
    }

    /// The `T` the set-up provided ([`provide`](crate::provide),
    /// [`DaemonBuilder::with_state`](crate::DaemonBuilder::with_state)), if it did.
    #[must_use]
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<State<T>> {
        self.provided.get()
    }

    /// The context of one run of the subsystem at `index`: its configuration follows reloads
    /// and [`ready`](Self::ready) reaches `owner`.
    pub(crate) fn live(
        shutdown: ShutdownHandle,
        config: watch::Receiver<Arc<Config>>,
        #[cfg(feature = "metrics")] metrics: crate::metrics::MetricsCollector,
        owner: Arc<dyn Readiness>,
        index: usize,
        provided: Arc<StateMap>,
    ) -> Self {
        Self {
            shutdown,
            config: Mutex::new(config),
            #[cfg(feature = "metrics")]
            metrics,
            owner: Some((owner, index)),
            provided,
        }
    }

    /// This run's own handle on the `[listen]` socket `name` (a duplicate: the daemon keeps
    /// the socket, so a restarted subsystem listens again on it and connections queued
    /// meanwhile wait for it). Bound before set-up, or taken from systemd's socket activation.
    ///
    /// ```no_run
    /// # async fn serve(context: proc_daemon::Context) -> proc_daemon::Result<()> {
    /// let listener = context.tcp_listener("http")?;
    /// loop {
    ///     tokio::select! {
    ///         () = context.shutdown().cancelled() => return Ok(()),
    ///         accepted = listener.accept() => { let (_stream, _peer) = accepted?; }
    ///     }
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    /// No listener of that name (the error lists the configured ones), it is a Unix socket, or
    /// the socket cannot be duplicated.
    pub fn tcp_listener(&self, name: &str) -> Result<tokio::net::TcpListener> {
        let listeners = self.listeners(name)?;
        Ok(tokio::net::TcpListener::from_std(listeners.tcp(name)?)?)
    }

    /// This run's own handle on the `[listen]` socket `name` (`"unix:/path"`); see
    /// [`tcp_listener`](Self::tcp_listener).
    ///
    /// # Errors
    /// No listener of that name, it is a TCP socket, or it cannot be duplicated.
    pub fn unix_listener(&self, name: &str) -> Result<tokio::net::UnixListener> {
        let listeners = self.listeners(name)?;
        Ok(tokio::net::UnixListener::from_std(listeners.unix(name)?)?)
    }

    fn listeners(&self, name: &str) -> Result<State<crate::process::listeners::Listeners>> {
        self.provided.get().ok_or_else(|| {
            crate::Error::config(format!(
                "no listener named `{name}`: this daemon has no [listen] section (or this context was made by hand)"
            ))
        })
    }

    /// Declares this run ready, for a subsystem that holds its readiness
    /// ([`Subsystem::holds_readiness`](crate::Subsystem::holds_readiness)) until its set-up is
    /// done — a socket bound, a cache loaded. Until then `/readyz` is 503 and systemd has not
    /// been sent `READY=1`. Calling it again, or for a subsystem that does not hold its
    /// readiness, changes nothing.
    pub fn ready(&self) {
        if let Some((owner, index)) = &self.owner {
            owner.mark_ready(*index);
        }
    }

    /// The daemon's application metrics (served on `/metrics` when `[admin]` is on).
    #[cfg(feature = "metrics")]
    #[must_use]
    pub fn metrics(&self) -> &crate::metrics::MetricsCollector {
        &self.metrics
    }

    /// The run's shutdown handle.
    #[must_use]
    pub const fn shutdown(&self) -> &ShutdownHandle {
        &self.shutdown
    }

    /// The run's shutdown handle, without the rest (moved, not cloned: a clone of the token
    /// takes its lock).
    pub(crate) fn into_shutdown(self) -> ShutdownHandle {
        self.shutdown
    }

    /// The configuration in force (after a reload, the new one).
    #[must_use]
    pub fn config(&self) -> Arc<Config> {
        crate::lock::mutex(&self.config).borrow().clone()
    }

    /// Completes when a reload has changed the configuration; then [`config`](Self::config)
    /// returns the new one. Pending forever if the daemon is gone. Takes `&self`, so it sits in
    /// one `select!` with the shutdown:
    ///
    /// ```
    /// # async fn serve(context: proc_daemon::Context) {
    /// loop {
    ///     tokio::select! {
    ///         () = context.shutdown().cancelled() => break,
    ///         () = context.config_changed() => println!("now {:?}", context.config().logging.level),
    ///     }
    /// }
    /// # }
    /// ```
    pub async fn config_changed(&self) {
        // A copy waits, so no lock is held across the await; it is kept only once the change
        // is seen, so a wait cut short by `select!` loses nothing.
        let mut receiver = crate::lock::mutex(&self.config).clone();
        if receiver.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        *crate::lock::mutex(&self.config) = receiver;
    }

    /// How much of this subsystem's stop budget (its `shutdown_timeout`, else
    /// `shutdown.timeout_ms`) is left: `None` until shutdown begins, then counting down to
    /// zero. Drain code sizes its work by it instead of hard-coding the budget.
    #[must_use]
    pub fn stop_time_left(&self) -> Option<Duration> {
        let (owner, index) = self.owner.as_ref()?;
        owner.stop_time_left(*index)
    }

    /// The fencing token of the cluster's current term (`[cluster]`), while this replica leads:
    /// etcd's creation revision of the election key, which grows with every new leader. A
    /// singleton tags its writes with it so that storage can refuse a deposed leader's late
    /// writes. `None` on a follower, without `[cluster]`, and outside a daemon.
    #[must_use]
    pub fn fencing_token(&self) -> Option<u64> {
        let (owner, _) = self.owner.as_ref()?;
        owner.fencing_token()
    }

    /// This replica's standing in the cluster's election (`[cluster]`), and every change of
    /// it from now on: becoming or ceasing to be the leader, a new leader observed, etcd lost
    /// or found again. A tokio `watch::Receiver` whose first `changed()` yields the standing
    /// now; then each change: `changed().await` composes with `select!` and always yields the
    /// latest standing. Any subsystem may watch it (a singleton need
    /// not: it only runs while this replica leads). Outside a daemon, and without `[cluster]`,
    /// it stays at the default (not leading).
    ///
    /// ```
    /// # async fn follow(context: proc_daemon::Context) {
    /// let mut leadership = context.leadership();
    /// while leadership.changed().await.is_ok() {
    ///     let standing = leadership.borrow_and_update().clone();
    ///     println!("leading: {} (leader {:?})", standing.leading, standing.leader);
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn leadership(&self) -> watch::Receiver<crate::ClusterStanding> {
        match &self.owner {
            Some((owner, _)) => owner.leadership(),
            // The sender may go: the receiver keeps the default, and `changed` ends at once.
            None => watch::Sender::new(crate::ClusterStanding::default()).subscribe(),
        }
    }

    /// The `[app]` table as the application's own type.
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming the key that does not fit `T`.
    pub fn app<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        self.config().app()
    }

    /// The `[app]` table as the daemon's declared settings type (`#[daemon(app = T)]`),
    /// shared and following reloads: the value parsed when the configuration in force was
    /// loaded, so a call costs a lock and a reference count, not a parse. For a type the
    /// daemon does not declare, parsed now (see [`Config::settings`]).
    ///
    /// ```
    /// # async fn serve(context: proc_daemon::Context) -> proc_daemon::Result<()> {
    /// #[derive(serde::Deserialize)]
    /// struct App { greeting: String }
    ///
    /// loop {
    ///     let app = context.settings::<App>()?; // the new value after each reload
    ///     println!("{}", app.greeting);
    ///     tokio::select! {
    ///         () = context.shutdown().cancelled() => return Ok(()),
    ///         () = context.config_changed() => {}
    ///     }
    /// }
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`app`](Self::app), for an undeclared type that does not fit.
    pub fn settings<T>(&self) -> Result<Arc<T>>
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        self.config().settings()
    }
}
