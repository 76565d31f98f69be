//! The rules a configuration must keep beyond its types: deadlines in order, sizes and counts
//! in range, files the daemon will create in writable directories, feature-gated keys only
//! with their feature.

use super::{Config, PerformanceConfig};
use crate::{Error, Result};

/// The most worker threads a daemon may ask for; more is almost certainly a typo.
const MAX_WORKER_THREADS: usize = 1024;

/// The longest deadline or interval a configuration may set: one year, in milliseconds. Longer
/// is a typo or an attempt to disable a deadline, which would let a stuck subsystem keep the
/// daemon alive until a second signal.
pub const MAX_DURATION_MS: u64 = 365 * 24 * 60 * 60 * 1000;

impl Config {
    /// Checks the rules that relate keys to each other.
    ///
    /// # Errors
    /// [`Error::Config`] naming the keys and the rule.
    pub fn validate(&self) -> Result<()> {
        let s = &self.shutdown;
        for (key, value) in [
            ("shutdown.timeout_ms", s.timeout_ms),
            ("shutdown.force_timeout_ms", s.force_timeout_ms),
            ("shutdown.kill_timeout_ms", s.kill_timeout_ms),
            (
                "monitoring.health_check_interval_ms",
                self.monitoring.health_check_interval_ms,
            ),
            (
                "monitoring.metrics_interval_ms",
                self.monitoring.metrics_interval_ms,
            ),
            (
                "process.upgrade_timeout_ms",
                self.process.upgrade_timeout_ms,
            ),
        ] {
            if value > MAX_DURATION_MS {
                return Err(Error::config(format!(
                    "{key} ({value}) must be at most {MAX_DURATION_MS} (one year)"
                )));
            }
        }
        if s.timeout_ms == 0 {
            return Err(Error::config(
                "shutdown.timeout_ms must be greater than 0 (subsystems need time to stop)",
            ));
        }
        if let Some(cluster) = &self.cluster {
            cluster.validate()?;
        }
        if self.process.upgrade_timeout_ms == 0 {
            return Err(Error::config(
                "process.upgrade_timeout_ms must be greater than 0 (an upgrade's new process needs time to start)",
            ));
        }
        if s.force_timeout_ms < s.timeout_ms {
            return Err(Error::config(format!(
                "shutdown.force_timeout_ms ({}) must be >= shutdown.timeout_ms ({})",
                s.force_timeout_ms, s.timeout_ms
            )));
        }
        if s.kill_timeout_ms < s.force_timeout_ms {
            return Err(Error::config(format!(
                "shutdown.kill_timeout_ms ({}) must be >= shutdown.force_timeout_ms ({})",
                s.kill_timeout_ms, s.force_timeout_ms
            )));
        }
        self.performance.validate()?;
        if self.performance.worker_threads > MAX_WORKER_THREADS {
            return Err(Error::config(format!(
                "performance.worker_threads ({}) must be at most {MAX_WORKER_THREADS} (0 = one per core)",
                self.performance.worker_threads
            )));
        }
        if self.monitoring.health_check_interval_ms == 0 {
            return Err(Error::config(
                "monitoring.health_check_interval_ms must be greater than 0",
            ));
        }
        if self.monitoring.metrics_interval_ms == 0 {
            return Err(Error::config(
                "monitoring.metrics_interval_ms must be greater than 0",
            ));
        }
        if self.hot_reload && !cfg!(feature = "config-watch") {
            return Err(Error::config(
                "hot_reload = true needs proc-daemon's `config-watch` feature",
            ));
        }
        if self.monitoring.track_resources && !cfg!(feature = "metrics") {
            return Err(Error::config(
                "monitoring.track_resources = true needs proc-daemon's `metrics` feature",
            ));
        }
        if self.monitoring.health_check_failures == 0 {
            return Err(Error::config(
                "monitoring.health_check_failures must be at least 1",
            ));
        }
        if self.name.trim().is_empty() {
            return Err(Error::config("name must not be empty"));
        }
        if self.logging.json && !cfg!(feature = "json-logs") {
            return Err(Error::config(
                "logging.json = true needs proc-daemon's `json-logs` feature",
            ));
        }
        if let Some(pid_file) = &self.pid_file {
            check_writable_location("pid_file", pid_file)?;
        }
        if self.admin.is_some() && !cfg!(feature = "admin") {
            return Err(Error::config("[admin] needs proc-daemon's `admin` feature"));
        }
        if let Some(file) = &self.logging.file {
            check_writable_location("logging.file", file)?;
        }
        // The socket's directory is not checked here: `ctl`, often run by another user,
        // reads the same configuration. Binding reports it when the daemon starts.
        if self.ipc.enabled && !cfg!(feature = "ipc") {
            return Err(Error::config(
                "ipc.enabled = true needs proc-daemon's `ipc` feature",
            ));
        }
        if self.logging.max_file_size == 0 {
            return Err(Error::config(
                "logging.max_file_size must be greater than 0",
            ));
        }
        if self.logging.max_files == 0 {
            return Err(Error::config("logging.max_files must be at least 1"));
        }
        if let Some(limit) = self.process.max_open_files
            && !(1..=MAX_OPEN_FILES).contains(&limit)
        {
            return Err(Error::config(format!(
                "process.max_open_files ({limit}) must be between 1 and {MAX_OPEN_FILES}"
            )));
        }
        for (name, address) in &self.listen {
            crate::process::listeners::Address::parse(name, address)?;
        }
        if let Some(umask) = &self.process.umask {
            crate::process::privileges::parse_umask(umask)?;
        }
        for (key, name) in [("user", &self.process.user), ("group", &self.process.group)] {
            if name.as_deref().is_some_and(|name| name.trim().is_empty()) {
                return Err(Error::config(format!("process.{key} must not be empty")));
            }
        }
        Ok(())
    }
}

impl PerformanceConfig {
    fn validate(&self) -> Result<()> {
        if let Some(nice) = self.nice
            && !(-20..=19).contains(&nice)
        {
            return Err(Error::config(format!(
                "performance.nice ({nice}) must be between -20 and 19"
            )));
        }
        if self.memory_pool_size > MAX_MEMORY_POOL {
            return Err(Error::config(format!(
                "performance.memory_pool_size ({}) must be at most {MAX_MEMORY_POOL} (1 TiB)",
                self.memory_pool_size
            )));
        }
        if let Some(cpu) = self.cpu_affinity.iter().find(|&&cpu| cpu >= MAX_CPUS) {
            return Err(Error::config(format!(
                "performance.cpu_affinity: CPU {cpu} is out of range (at most {})",
                MAX_CPUS - 1
            )));
        }
        let hinted = self.nice.is_some() || !self.cpu_affinity.is_empty() || self.thread_pinning;
        if hinted && !cfg!(feature = "scheduler-hints") {
            return Err(Error::config(
                "performance.nice, cpu_affinity and thread_pinning need proc-daemon's `scheduler-hints` feature",
            ));
        }
        Ok(())
    }
}

/// The largest `process.max_open_files`: Linux's own ceiling (`fs.nr_open` cannot exceed it).
pub const MAX_OPEN_FILES: u64 = 1 << 30;

/// The largest `performance.memory_pool_size`: 1 TiB.
const MAX_MEMORY_POOL: u64 = 1 << 40;

/// The size of the kernel's CPU set (`CPU_SETSIZE`).
pub(super) const MAX_CPUS: usize = 1024;

/// A file the daemon will create must have an existing, writable directory, and if it exists
/// already it must be a regular file, not a symbolic link (which a local user could point at a
/// file of root's) nor a directory or device (where log lines would vanish).
fn check_writable_location(key: &str, path: &std::path::Path) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(Error::config(format!("{key} must not be empty")));
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        let shown = path.display().to_string();
        if meta.file_type().is_symlink() {
            return Err(Error::config(format!(
                "{key} = {shown:?}: is a symbolic link; the daemon does not follow links for the files it writes"
            )));
        }
        if !meta.is_file() {
            return Err(Error::config(format!(
                "{key} = {shown:?}: is not a regular file"
            )));
        }
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::config(format!(
            "{key} = {:?}: directory {} does not exist",
            path.display().to_string(),
            dir.display()
        )));
    }
    let Ok(dir_c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return Err(Error::config(format!(
            "{key}: the path contains a NUL byte"
        )));
    };
    // SAFETY: access(2) with a valid, NUL-terminated path.
    if unsafe { libc::access(dir_c.as_ptr(), libc::W_OK) } != 0 {
        return Err(Error::config(format!(
            "{key} = {:?}: directory {} is not writable",
            path.display().to_string(),
            dir.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "config-watch"))]
    #[test]
    fn hot_reload_without_the_feature_is_an_error() {
        let config = Config {
            hot_reload: true,
            ..Config::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("hot_reload = true needs proc-daemon's `config-watch` feature"),
            "{err}"
        );
    }

    #[test]
    fn max_open_files_is_bounded() {
        for (limit, ok) in [
            (0, false),
            (1, true),
            (MAX_OPEN_FILES, true),
            (MAX_OPEN_FILES + 1, false),
        ] {
            let mut config = Config::default();
            config.process.max_open_files = Some(limit);
            let outcome = config.validate();
            assert_eq!(outcome.is_ok(), ok, "{limit}: {outcome:?}");
            if !ok {
                assert!(
                    outcome.unwrap_err().to_string().contains(&format!(
                        "process.max_open_files ({limit}) must be between 1 and 1073741824"
                    )),
                    "{limit}"
                );
            }
        }
    }

    #[test]
    fn an_oversized_memory_pool_is_refused() {
        let mut config = Config::default();
        config.performance.memory_pool_size = (1 << 40) + 1;
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains(
                "performance.memory_pool_size (1099511627777) must be at most 1099511627776 (1 TiB)"
            ),
            "{err}"
        );
    }

    #[test]
    fn files_the_daemon_writes_must_be_regular_files_not_links() {
        let dir = std::env::temp_dir().join(format!("proc-daemon-validate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("d.log");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/etc/passwd", &link).unwrap();
        let mut config = Config::default();
        config.logging.file = Some(link.clone());
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("is a symbolic link; the daemon does not follow links"),
            "{err}"
        );
        config.logging.file = None;
        config.pid_file = Some(dir.clone());
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "pid_file = {:?}: is not a regular file",
                dir.display().to_string()
            )),
            "{err}"
        );
    }

    #[test]
    fn deadlines_and_intervals_are_bounded() {
        let mut config = Config::default();
        config.shutdown.kill_timeout_ms = u64::MAX;
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("shutdown.kill_timeout_ms (18446744073709551615) must be at most 31536000000 (one year)"),
            "{err}"
        );
        let mut config = Config::default();
        config.monitoring.health_check_interval_ms = MAX_DURATION_MS + 1;
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("monitoring.health_check_interval_ms"), "{err}");
        config.monitoring.health_check_interval_ms = MAX_DURATION_MS;
        assert!(config.validate().is_ok());
    }

    #[test]
    fn pid_file_locations_are_checked() {
        let mut config = Config {
            pid_file: Some("/nonexistent-dir/x.pid".into()),
            ..Config::default()
        };
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains(
                "pid_file = \"/nonexistent-dir/x.pid\": directory /nonexistent-dir does not exist"
            ),
            "{err}"
        );
        config.pid_file = Some(std::env::temp_dir().join("x.pid"));
        config.validate().unwrap();
    }

    #[test]
    fn scheduler_hints_are_range_checked() {
        let mut config = Config::default();
        config.performance.nice = Some(20);
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("performance.nice (20) must be between -20 and 19"),
            "{err}"
        );
        let mut config = Config::default();
        config.performance.cpu_affinity = vec![0, 1024];
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("performance.cpu_affinity: CPU 1024 is out of range (at most 1023)"),
            "{err}"
        );
    }

    #[cfg(not(feature = "scheduler-hints"))]
    #[test]
    fn scheduler_hints_without_the_feature_are_an_error() {
        let mut config = Config::default();
        config.performance.thread_pinning = true;
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("need proc-daemon's `scheduler-hints` feature"),
            "{err}"
        );
    }

    #[cfg(not(feature = "ipc"))]
    #[test]
    fn ipc_without_the_feature_is_an_error() {
        let mut config = Config::default();
        config.ipc.enabled = true;
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("ipc.enabled = true needs proc-daemon's `ipc` feature"),
            "{err}"
        );
    }

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn cross_field_rules_name_both_keys() {
        let mut config = Config::default();
        config.shutdown.force_timeout_ms = 1000;
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains("shutdown.force_timeout_ms (1000) must be >= shutdown.timeout_ms (5000)"),
            "{err}"
        );

        let mut config = Config::default();
        config.shutdown.kill_timeout_ms = 6000;
        let err = config.validate().unwrap_err().to_string();
        assert!(
            err.contains(
                "shutdown.kill_timeout_ms (6000) must be >= shutdown.force_timeout_ms (10000)"
            ),
            "{err}"
        );

        let mut config = Config::default();
        config.performance.worker_threads = 5000;
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("performance.worker_threads")
        );
    }
}
