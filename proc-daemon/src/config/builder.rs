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

    /// Sets `shutdown.timeout_ms`, raising the later deadlines if they would fall before it.
    #[inline]
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let shutdown = &mut self.config.shutdown;
        shutdown.timeout_ms = ms;
        shutdown.force_timeout_ms = shutdown.force_timeout_ms.max(ms);
        shutdown.kill_timeout_ms = shutdown.kill_timeout_ms.max(shutdown.force_timeout_ms);
        self
    }

    /// Sets `shutdown.force_timeout_ms`.
    #[inline]
    #[must_use]
    pub fn force_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown.force_timeout_ms =
            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Sets `shutdown.kill_timeout_ms`.
    #[inline]
    #[must_use]
    pub fn kill_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown.kill_timeout_ms =
            u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
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
    pub fn build(self) -> Result<Config> {
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
        assert_eq!(config.shutdown.timeout_ms, 20_000);
        assert_eq!(config.shutdown.force_timeout_ms, 20_000);
        assert_eq!(config.shutdown.kill_timeout_ms, 20_000);
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
