//! Building a configuration in code.

use std::path::PathBuf;
use std::time::Duration;

use super::{Config, LogLevel};
use crate::Result;

/// Builds a [`Config`] from the defaults; [`build`](ConfigBuilder::build) validates it.
///
/// ```
/// use proc_daemon::Config;
///
/// let config = Config::builder().worker_threads(2).pid_file("/tmp/example.pid").build().unwrap();
/// assert_eq!(config.performance.worker_threads, 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ConfigBuilder {
    config: Config,
    /// The shutdown deadlines set here, by key; the others follow them at `build`.
    deadlines_set: Vec<&'static str>,
}

impl ConfigBuilder {
    /// Sets the daemon's name.
    #[inline]
    #[must_use]
    pub fn name(mut self, name: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        self.config.name = name.into();
        self
    }

    /// Sets the log level.
    #[inline]
    #[must_use]
    pub fn log_level(mut self, level: LogLevel) -> Self {
        self.config.logging.level = level.into();
        self
    }

    /// Chooses JSON log lines (needs the `json-logs` feature).
    #[inline]
    #[must_use]
    pub fn json_logging(mut self, json: bool) -> Self {
        self.config.logging.json = json;
        self
    }

    /// Sets `shutdown.timeout_ms`; the later deadlines, unless set too, follow it (1.5x each,
    /// never below their defaults), as they do in a file.
    #[inline]
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.deadlines_set.push("shutdown.timeout_ms");
        self
    }

    /// Sets `shutdown.force_timeout_ms`.
    #[inline]
    #[must_use]
    pub fn force_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown.force_timeout_ms =
            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.deadlines_set.push("shutdown.force_timeout_ms");
        self
    }

    /// Sets `shutdown.kill_timeout_ms`.
    #[inline]
    #[must_use]
    pub fn kill_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown.kill_timeout_ms =
            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.deadlines_set.push("shutdown.kill_timeout_ms");
        self
    }

    /// Sets the number of tokio worker threads (0 = one per core).
    #[inline]
    #[must_use]
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.config.performance.worker_threads = threads;
        self
    }

    /// Turns reloading on file change on or off.
    #[inline]
    #[must_use]
    pub fn hot_reload(mut self, enabled: bool) -> Self {
        self.config.hot_reload = enabled;
        self
    }

    /// Turns `/metrics` (and recording of the `metrics` crate's macros) on or off.
    #[inline]
    #[must_use]
    pub fn enable_metrics(mut self, enabled: bool) -> Self {
        self.config.monitoring.enable_metrics = enabled;
        self
    }

    /// Sets the PID file.
    #[inline]
    #[must_use]
    pub fn pid_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.pid_file = Some(path.into());
        self
    }

    /// Validates and returns the configuration.
    ///
    /// # Errors
    /// [`crate::Error::Config`] when a rule of [`Config::validate`] is broken.
    #[inline]
    pub fn build(mut self) -> Result<Config> {
        let set = self.deadlines_set;
        super::deadlines::derive_unset(&mut self.config, |key| set.contains(&key));
        self.config.validate()?;
        Ok(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shutdown_timeout_keeps_deadlines_ordered() {
        let config = Config::builder()
            .shutdown_timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        // The rule of files and the environment: 1.5x each, never below the defaults.
        assert_eq!(config.shutdown.timeout_ms, 20_000);
        assert_eq!(config.shutdown.force_timeout_ms, 30_000);
        assert_eq!(config.shutdown.kill_timeout_ms, 45_000);
        let short = Config::builder()
            .shutdown_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        assert_eq!(
            short.shutdown,
            crate::ShutdownConfig {
                timeout_ms: 1_000,
                ..Default::default()
            }
        );
    }

    #[test]
    fn build_rejects_contradictions() {
        let err = Config::builder()
            .kill_timeout(Duration::from_millis(1))
            .build()
            .unwrap_err();
        assert_eq!(err.exit_code(), 78);
    }
}
