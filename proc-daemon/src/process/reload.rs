//! Reloading the configuration: read and validate completely, then swap atomically; on any
//! error the previous configuration stays and the failure is logged and counted. SIGHUP, a
//! changed file (`hot_reload`), the control socket and [`DaemonHandle::reload`] all come here.
//!
//! [`DaemonHandle::reload`]: crate::DaemonHandle::reload

use std::sync::Arc;

use crate::process::{logging, systemd};
use crate::state::LiveConfig;
use crate::{Config, Error, Result};

/// Reads the configuration again (defaults < file < environment), validates it and, if it
/// is good, makes it the one in force. `trigger` names the cause in the log.
pub(crate) fn reload(live: &LiveConfig, trigger: &str) -> Result<()> {
    let _serial = live.reload_lock();
    systemd::reloading();
    let started = crate::timing::now();
    let outcome = reload_now(live, trigger);
    let took = started.elapsed();
    live.count_reload(outcome.is_ok(), took);
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

fn reload_now(live: &LiveConfig, trigger: &str) -> Result<()> {
    let origin = live.origin();
    if let Some(path) = &origin.path
        && std::fs::metadata(path).is_ok_and(|m| m.len() == 0)
    {
        // Valid TOML (all defaults), but on a running daemon almost surely a file caught
        // between truncation and writing.
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
    let mut fresh = match origin.load() {
        Ok((config, _)) => config,
        Err(err) => {
            tracing::error!(
                "configuration reload ({trigger}) failed; keeping the previous configuration: {}",
                reason(&err)
            );
            return Err(err);
        }
    };
    let current = live.get();
    keep_restart_only_settings(&current, &mut fresh);
    let changed = *current != fresh;
    let fresh = Arc::new(fresh);
    logging::apply(&fresh);
    live.replace(fresh);
    if changed {
        tracing::info!(
            "configuration reloaded from {} ({trigger})",
            origin.describe()
        );
    } else {
        tracing::info!(
            "configuration reloaded from {} ({trigger}): nothing changed",
            origin.describe()
        );
    }
    Ok(())
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
        process,
        listen,
        cluster,
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
    use std::path::PathBuf;

    use super::*;

    fn set_path(live: &LiveConfig, path: PathBuf) {
        live.change_origin(|origin| origin.path = Some(path));
    }

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
        set_path(&live, path.clone());
        let mut watcher = live.subscribe();
        reload(&live, "test").unwrap();
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
        set_path(&live, path);
        let err = reload(&live, "test").unwrap_err().to_string();
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
        set_path(&live, path);
        let err = reload(&live, "test").unwrap_err().to_string();
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
        set_path(&live, path);
        reload(&live, "test").unwrap();
        let config = live.get();
        assert_eq!(config.name, "daemon");
        assert_eq!(config.performance.worker_threads, 0);
        assert_eq!(config.logging.max_files, 5);
        assert_eq!(config.shutdown.timeout_ms, 2000, "live settings do change");
    }
}
