//! The configuration in force, shared by the daemon, its subsystems and its handles: always
//! complete and valid, swapped whole by a reload, with the reloads counted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use crate::Config;
use crate::config::ConfigOrigin;

/// The configuration in force and where it is read from again.
#[derive(Debug)]
pub(crate) struct LiveConfig {
    current: watch::Sender<Arc<Config>>,
    origin: Mutex<ConfigOrigin>,
    /// Serialises reloads (SIGHUP, file changes and the API may race).
    reloading: Mutex<()>,
    applied: AtomicU64,
    failed: AtomicU64,
    /// How long the last reload took, in nanoseconds.
    last_duration_ns: AtomicU64,
}

/// How many reloads succeeded and failed, and how long the last one took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadCounts {
    /// Reloads that replaced the configuration.
    pub applied: u64,
    /// Reloads that failed and kept the previous configuration.
    pub failed: u64,
    /// How long the last reload (applied or failed) took to read, check and swap in the
    /// configuration; zero before the first.
    pub last_duration: Duration,
}

impl LiveConfig {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            current: watch::Sender::new(Arc::new(config)),
            origin: Mutex::new(ConfigOrigin::default()),
            reloading: Mutex::new(()),
            applied: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_duration_ns: AtomicU64::new(0),
        }
    }

    /// The configuration in force: always complete and valid.
    pub(crate) fn get(&self) -> Arc<Config> {
        self.current.borrow().clone()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Arc<Config>> {
        self.current.subscribe()
    }

    /// Where the configuration is read from on reload.
    pub(crate) fn origin(&self) -> ConfigOrigin {
        crate::lock::mutex(&self.origin).clone()
    }

    pub(crate) fn change_origin(&self, change: impl FnOnce(&mut ConfigOrigin)) {
        change(&mut crate::lock::mutex(&self.origin));
    }

    /// Held for the whole of one reload, so reloads never interleave.
    pub(crate) fn reload_lock(&self) -> MutexGuard<'_, ()> {
        crate::lock::mutex(&self.reloading)
    }

    /// Makes `fresh` the configuration in force; subscribers see it.
    pub(crate) fn replace(&self, fresh: Arc<Config>) {
        self.current.send_replace(fresh);
    }

    /// Counts one reload and how long it took.
    pub(crate) fn count_reload(&self, applied: bool, took: Duration) {
        let counter = if applied { &self.applied } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        self.last_duration_ns.store(
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn counts(&self) -> ReloadCounts {
        ReloadCounts {
            applied: self.applied.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            last_duration: Duration::from_nanos(self.last_duration_ns.load(Ordering::Relaxed)),
        }
    }
}
