//! The configuration in force, and reloading it: read and validate completely, then swap
//! atomically; on any error the previous configuration stays and the failure is logged and
//! counted.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::{Config, Error, Result, logging, systemd};

/// Where the configuration came from, so it can be read again.
#[derive(Clone, Debug)]
struct Origin {
    path: Option<PathBuf>,
    env_prefix: String,
    /// The name the program gave, used when neither the file nor the environment sets one.
    default_name: Option<String>,
}

/// The configuration in force, shared by the daemon, its subsystems and its handles.
#[derive(Debug)]
pub(crate) struct LiveConfig {
    current: watch::Sender<Arc<Config>>,
    origin: Mutex<Origin>,
    /// Serialises reloads (SIGHUP, file changes and the API may race).
    reloading: Mutex<()>,
    applied: AtomicU64,
    failed: AtomicU64,
    /// How long the last reload took, in nanoseconds, read from [`crate::timing`].
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
    pub last_duration: std::time::Duration,
}

impl LiveConfig {
    pub(crate) fn new(config: Config) -> Self {
        Self {
            current: watch::Sender::new(Arc::new(config)),
            origin: Mutex::new(Origin {
                path: None,
                env_prefix: "DAEMON".to_owned(),
                default_name: None,
            }),
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

    fn origin(&self) -> std::sync::MutexGuard<'_, Origin> {
        self.origin
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn set_path(&self, path: PathBuf) {
        self.origin().path = Some(path);
    }

    pub(crate) fn set_env_prefix(&self, prefix: String) {
        self.origin().env_prefix = prefix;
    }

    pub(crate) fn set_default_name(&self, name: String) {
        self.origin().default_name = Some(name);
    }

    pub(crate) fn path(&self) -> Option<PathBuf> {
        self.origin().path.clone()
    }

    pub(crate) fn counts(&self) -> ReloadCounts {
        ReloadCounts {
            applied: self.applied.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            last_duration: std::time::Duration::from_nanos(
                self.last_duration_ns.load(Ordering::Relaxed),
            ),
        }
    }

    /// Reads the configuration again (defaults < file < environment), validates it and, if it
    /// is good, makes it the one in force. `trigger` names the cause in the log.
    pub(crate) fn reload(&self, trigger: &str) -> Result<()> {
        let _serial = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        systemd::reloading();
        let started = crate::timing::now();
        let outcome = self.reload_now(trigger);
        let took = started.elapsed();
        self.last_duration_ns.store(
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        tracing::debug!("configuration reload ({trigger}) took {took:?}");
        // READY=1 either way: after a failed reload the daemon carries on with its old
        // configuration, and systemd must not wait for a reload that will not come.
        match &outcome {
            Ok(()) => systemd::ready("running; configuration reloaded"),
            Err(err) => systemd::ready(&format!(
                "running; configuration reload failed: {}",
                reason(err)
            )),
        }
        outcome
    }

    fn reload_now(&self, trigger: &str) -> Result<()> {
        let origin = self.origin().clone();
        if let Some(path) = &origin.path
            && std::fs::metadata(path).is_ok_and(|m| m.len() == 0)
        {
            // Valid TOML (all defaults), but on a running daemon almost surely a file caught
            // between truncation and writing.
            self.failed.fetch_add(1, Ordering::Relaxed);
            let err = Error::config(format!(
                "{}: the file is empty (still being written?)",
                path.display()
            ));
            tracing::error!(
                "configuration reload ({trigger}) failed; keeping the previous configuration: {}",
                reason(&err)
            );
            return Err(err);
        }
        let from = origin.path.as_ref().map_or_else(
            || "defaults and environment".to_owned(),
            |p| p.display().to_string(),
        );
        let mut fresh = match Config::load_with_prefix(origin.path.as_deref(), &origin.env_prefix) {
            Ok((mut config, source)) => {
                if let Some(name) = origin.default_name.filter(|_| !Config::sets_name(&source)) {
                    config.name = name.into();
                }
                config
            }
            Err(err) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    "configuration reload ({trigger}) failed; keeping the previous configuration: {}",
                    reason(&err)
                );
                return Err(err);
            }
        };
        let current = self.get();
        keep_restart_only_settings(&current, &mut fresh);
        let changed = *current != fresh;
        let fresh = Arc::new(fresh);
        logging::apply(&fresh);
        self.current.send_replace(fresh);
        self.applied.fetch_add(1, Ordering::Relaxed);
        if changed {
            tracing::info!("configuration reloaded from {from} ({trigger})");
        } else {
            tracing::info!("configuration reloaded from {from} ({trigger}): nothing changed");
        }
        Ok(())
    }
}

pub(crate) fn reason(err: &Error) -> String {
    match err {
        Error::Config { message } => message.to_string(),
        other => other.to_string(),
    }
}

/// Settings the running process cannot change keep their current value; each change is logged
/// so the operator knows a restart is needed.
fn keep_restart_only_settings(current: &Config, fresh: &mut Config) {
    fn keep<T: PartialEq + Clone + std::fmt::Debug>(key: &str, current: &T, fresh: &mut T) {
        if current != fresh {
            tracing::warn!(
                "{key} changed from {current:?} to {fresh:?}; it takes effect after a restart"
            );
            fresh.clone_from(current);
        }
    }
    macro_rules! keep {
        ($($($field:ident).+),+ $(,)?) => {$(
            keep(stringify!($($field).+), &current.$($field).+, &mut fresh.$($field).+);
        )+};
    }
    keep!(
        name,
        pid_file,
        hot_reload,
        admin,
        ipc,
        performance,
        monitoring.track_resources,
        monitoring.metrics_interval_ms,
        logging.json,
        logging.color,
        logging.file,
        logging.max_file_size,
        logging.max_files,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_config(name: &str, text: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("proc-daemon-reload-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("daemon.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_good_file_is_swapped_in_and_subscribers_see_it() {
        let path = temp_config("good", "[shutdown]\ntimeout_ms = 1000\n");
        let live = LiveConfig::new(Config::default());
        live.set_path(path.clone());
        let mut watcher = live.subscribe();
        live.reload("test").unwrap();
        assert!(watcher.has_changed().unwrap());
        assert_eq!(watcher.borrow_and_update().shutdown.timeout_ms, 1000);
        let counts = live.counts();
        assert_eq!((counts.applied, counts.failed), (1, 0));
        // Reading and parsing a file takes more than nothing on any clock.
        assert!(counts.last_duration > std::time::Duration::ZERO);
    }

    #[test]
    fn a_bad_file_keeps_the_previous_configuration() {
        let path = temp_config("bad", "[shutdown]\ntimeout_ms = \"soon\"\n");
        let live = LiveConfig::new(Config::default());
        live.set_path(path);
        let err = live.reload("test").unwrap_err().to_string();
        assert!(
            err.contains("daemon.toml:2:14: shutdown.timeout_ms"),
            "{err}"
        );
        assert_eq!(live.get().shutdown.timeout_ms, 5000);
        let counts = live.counts();
        assert_eq!((counts.applied, counts.failed), (0, 1));
    }

    #[test]
    fn an_empty_file_is_not_applied_on_reload() {
        let path = temp_config("empty", "");
        let live = LiveConfig::new(
            Config::builder()
                .shutdown_timeout(std::time::Duration::from_secs(1))
                .build()
                .unwrap(),
        );
        live.set_path(path);
        let err = live.reload("test").unwrap_err().to_string();
        assert!(
            err.contains("the file is empty (still being written?)"),
            "{err}"
        );
        assert_eq!(live.get().shutdown.timeout_ms, 1000);
    }

    #[test]
    fn restart_only_settings_keep_their_value() {
        let path = temp_config(
            "restart-only",
            "name = \"other\"\n[performance]\nworker_threads = 7\n[logging]\nmax_files = 9\n[shutdown]\ntimeout_ms = 2000\n",
        );
        let live = LiveConfig::new(Config::default());
        live.set_path(path);
        live.reload("test").unwrap();
        let config = live.get();
        assert_eq!(config.name, "daemon");
        assert_eq!(config.performance.worker_threads, 0);
        assert_eq!(config.logging.max_files, 5);
        assert_eq!(config.shutdown.timeout_ms, 2000, "live settings do change");
    }
}
