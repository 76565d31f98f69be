//! What a subsystem can reach besides its shutdown handle: the daemon's configuration.

use std::sync::Arc;

use tokio::sync::watch;

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
#[derive(Clone, Debug)]
pub struct Context {
    shutdown: ShutdownHandle,
    config: watch::Receiver<Arc<Config>>,
    #[cfg(feature = "metrics")]
    metrics: crate::metrics::MetricsCollector,
    /// Who to tell that this run is ready, and this subsystem's place there (none in tests).
    owner: Option<(Arc<dyn Readiness>, usize)>,
}

/// Where [`Context::ready`] reports: the running daemon, seen only through this one method so
/// that a subsystem's context knows nothing else of it.
pub(crate) trait Readiness: Send + Sync + std::fmt::Debug {
    /// The current run of the subsystem at `index` is ready.
    fn mark_ready(&self, index: usize);
}

impl Context {
    /// A context with `shutdown` and a fixed `config` (for tests of a subsystem; the daemon
    /// gives each run a context that follows reloads).
    #[must_use]
    pub fn new(shutdown: ShutdownHandle, config: Arc<Config>) -> Self {
        // The sender may go: a receiver keeps the last value.
        Self {
            shutdown,
            config: watch::Sender::new(config).subscribe(),
            #[cfg(feature = "metrics")]
            metrics: crate::metrics::MetricsCollector::new(),
            owner: None,
        }
    }

    /// The context of one run of the subsystem at `index`: its configuration follows reloads
    /// and [`ready`](Self::ready) reaches `owner`.
    pub(crate) fn live(
        shutdown: ShutdownHandle,
        config: watch::Receiver<Arc<Config>>,
        #[cfg(feature = "metrics")] metrics: crate::metrics::MetricsCollector,
        owner: Arc<dyn Readiness>,
        index: usize,
    ) -> Self {
        Self {
            shutdown,
            config,
            #[cfg(feature = "metrics")]
            metrics,
            owner: Some((owner, index)),
        }
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

    /// The configuration in force (after a reload, the new one).
    #[must_use]
    pub fn config(&self) -> Arc<Config> {
        self.config.borrow().clone()
    }

    /// Completes when a reload has changed the configuration; then [`config`](Self::config)
    /// returns the new one. Pending forever if the daemon is gone.
    pub async fn config_changed(&mut self) {
        if self.config.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// The `[app]` table as the application's own type.
    ///
    /// # Errors
    /// [`crate::Error::Config`] naming the key that does not fit `T`.
    pub fn app<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        self.config().app()
    }
}
