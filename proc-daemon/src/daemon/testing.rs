//! `proc_daemon::testing` (feature `testing`): a daemon run inside a test, for testing its
//! supervision without spawning a process — and, under `#[tokio::test(start_paused = true)]`,
//! in virtual time, so that backoff delays, health intervals and shutdown deadlines take no
//! real time.
//!
//! The daemon is the real one (the same supervisors, restart policies, health checks, ordered
//! stop and deadlines); what belongs to a whole process is left out: no signal handlers (the
//! signals are simulated: [`TestDaemon::stop`], [`TestDaemon::reload`],
//! [`TestDaemon::reopen_logs`]), no logging set-up (install your own subscriber if you want the
//! lines), no PID file, no systemd messages, and no watchdog thread (its force and kill
//! deadlines would end the test process; the subsystems' own budgets still abort overdue runs,
//! on tokio's clock). The configuration is a TOML string, written to a file of its own so that
//! errors name line and column and reloads read it again; environment overrides use the prefix
//! `PROC_DAEMON_TESTING`, so the test process's `DAEMON_*` variables do not leak in.
//!
//! ```
//! use std::time::Duration;
//! use proc_daemon::testing::TestDaemon;
//! use proc_daemon::{RestartPolicy, SubsystemFn, SubsystemState};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! // A subsystem that fails every run: with backoff from 1 s, its third run starts after two
//! // delays, the first drawn from 0.5–1 s and the second from 1–2 s — in virtual time.
//! let flaky = SubsystemFn::new("flaky", |_shutdown| async {
//!     Err(proc_daemon::Error::other("upstream refused"))
//! })
//! .restart_policy(RestartPolicy::ExponentialBackoff {
//!     initial_delay: Duration::from_secs(1),
//!     max_delay: Duration::from_secs(60),
//! });
//! let mut daemon = TestDaemon::builder("").unwrap().with_subsystem(flaky).start();
//! let started = tokio::time::Instant::now();
//! daemon.wait_for("flaky", SubsystemState::Restarting).await;
//! daemon.wait_for("flaky", SubsystemState::Restarting).await;
//! daemon.wait_for("flaky", SubsystemState::Restarting).await;
//! let waited = started.elapsed();
//! assert!(waited >= Duration::from_millis(1500) && waited <= Duration::from_secs(3));
//! assert_eq!(daemon.subsystems()[0].restarts, 3);
//! daemon.stop();
//! assert_eq!(daemon.exit_code().await, 0);
//! # }
//! ```
//!
//! A shutdown deadline, in virtual time: a subsystem that ignores its handle is aborted at its
//! own budget, and the daemon exits 70 as the process would.
//!
//! ```
//! use std::time::Duration;
//! use proc_daemon::testing::TestDaemon;
//! use proc_daemon::{SubsystemFn, SubsystemState};
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let stubborn = SubsystemFn::new("stubborn", |_shutdown| async {
//!     std::future::pending::<()>().await;
//!     Ok(())
//! });
//! let mut daemon = TestDaemon::builder("[shutdown]\ntimeout_ms = 30000")
//!     .unwrap()
//!     .with_subsystem(stubborn)
//!     .start();
//! daemon.ready().await.unwrap();
//! let stopping = tokio::time::Instant::now();
//! daemon.stop();
//! daemon.wait_for("stubborn", SubsystemState::Failed).await;
//! assert_eq!(stopping.elapsed(), Duration::from_secs(30));
//! assert_eq!(daemon.exit_code().await, 70);
//! # }
//! ```

// Without the feature it is built only for the crate's own unit tests, which use part of it.
#![cfg_attr(not(feature = "testing"), allow(dead_code))]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::{DaemonBuilder, DaemonHandle, RunReport};
use crate::config::ConfigOrigin;
use crate::state::{ShutdownReason, SubsystemEvent, SubsystemStatus};
use crate::{Daemon, Error, Result, Subsystem, SubsystemState};

/// The prefix of environment overrides a test daemon reads.
pub const ENV_PREFIX: &str = "PROC_DAEMON_TESTING";

/// A daemon about to start inside a test: its configuration, subsystems and state.
#[derive(Debug)]
pub struct TestDaemonBuilder {
    builder: DaemonBuilder,
    config_file: ConfigFile,
}

/// A daemon running inside a test. Dropping it stops nothing by itself: call
/// [`stop`](Self::stop) and await [`exit_code`](Self::exit_code) or [`finish`](Self::finish).
#[derive(Debug)]
pub struct TestDaemon {
    handle: DaemonHandle,
    events: broadcast::Receiver<SubsystemEvent>,
    seen: Vec<SubsystemEvent>,
    run: JoinHandle<Result<RunReport>>,
    config_file: ConfigFile,
}

impl TestDaemon {
    /// A test daemon configured by `toml` (the text of a configuration file; `""` for the
    /// defaults), with no subsystems yet.
    ///
    /// # Errors
    /// [`Error::Config`] when `toml` is not a valid configuration, naming line and column.
    pub fn builder(toml: &str) -> Result<TestDaemonBuilder> {
        let config_file = ConfigFile::new(toml)?;
        let origin = ConfigOrigin {
            path: Some(config_file.path.clone()),
            env_prefix: ENV_PREFIX.to_owned(),
            default_name: Some("test-daemon".to_owned()),
            app_check: None,
        };
        let (config, _) = origin.load()?;
        let builder = Daemon::builder(config).with_origin(origin).in_process();
        Ok(TestDaemonBuilder {
            builder,
            config_file,
        })
    }

    /// The daemon's handle: states, events, readiness, run-time changes.
    #[must_use]
    pub const fn handle(&self) -> &DaemonHandle {
        &self.handle
    }

    /// Every subsystem now.
    #[must_use]
    pub fn subsystems(&self) -> Vec<SubsystemStatus> {
        self.handle.subsystems()
    }

    /// The state of the subsystem `name`, if there is one.
    #[must_use]
    pub fn state(&self, name: &str) -> Option<SubsystemState> {
        self.subsystems()
            .into_iter()
            .find(|status| status.name == name)
            .map(|status| status.state)
    }

    /// Every lifecycle event so far, oldest first (from the first `Running`).
    pub fn events(&mut self) -> &[SubsystemEvent] {
        while let Ok(event) = self.events.try_recv() {
            self.seen.push(event);
        }
        &self.seen
    }

    /// Waits for the next event in which `name` enters `state`, and returns it.
    ///
    /// # Panics
    /// If the daemon ends first (its events stop), naming what was awaited.
    pub async fn wait_for(&mut self, name: &str, state: SubsystemState) -> SubsystemEvent {
        loop {
            match self.events.recv().await {
                Ok(event) => {
                    self.seen.push(event.clone());
                    if &*event.subsystem == name
                        && event.state == state
                        && event.waiting_for.is_none()
                    {
                        return event;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => {
                    panic!("the daemon ended before subsystem `{name}` became {state}")
                }
            }
        }
    }

    /// Waits until the daemon is ready (what `/readyz` answers).
    ///
    /// # Errors
    /// Why it is not ready, if its run ended first.
    pub async fn ready(&mut self) -> std::result::Result<(), String> {
        loop {
            if self.handle.readiness().is_ok() {
                return Ok(());
            }
            if self.run.is_finished() {
                return self.handle.readiness();
            }
            // Every change of readiness follows an event; `yield_now` covers the last step
            // (start-up complete), which may come just after one.
            tokio::select! {
                event = self.events.recv() => {
                    if let Ok(event) = event {
                        self.seen.push(event);
                    }
                }
                () = tokio::time::sleep(std::time::Duration::from_millis(1)) => {}
            }
        }
    }

    /// What SIGTERM does: a graceful shutdown, under the configured deadlines.
    pub fn stop(&self) {
        crate::supervision::lifecycle::request_shutdown(
            &self.handle.shared,
            ShutdownReason::Signal(libc::SIGTERM),
        );
    }

    /// What SIGHUP does after `toml` was written to the configuration file: reads it, and
    /// applies it if it is valid.
    ///
    /// # Errors
    /// [`Error::Config`] naming the problem; the previous configuration stays in force.
    pub fn reload(&self, toml: &str) -> Result<()> {
        self.config_file.write(toml)?;
        crate::process::reload::reload(&self.handle.shared.config, "SIGHUP")
    }

    /// What SIGUSR1 does: the log file is reopened before the next line is written.
    pub fn reopen_logs(&self) {
        crate::process::log_file::request_reopen();
    }

    /// Waits for the daemon to end and returns the exit code its process would have had.
    pub async fn exit_code(self) -> u8 {
        match self.finish().await {
            Ok(_) => crate::error::exit_code::SUCCESS,
            Err(error) => error.exit_code(),
        }
    }

    /// Waits for the daemon to end and returns how: its report, or the error whose
    /// [`exit_code`](Error::exit_code) the process would have exited with.
    ///
    /// # Errors
    /// The daemon's error: a critical subsystem failed, a deadline was overrun, ...
    pub async fn finish(self) -> Result<RunReport> {
        match self.run.await {
            Ok(outcome) => outcome,
            Err(join) => Err(Error::other(format!(
                "the daemon's task ended abnormally: {join}"
            ))),
        }
    }
}

impl TestDaemonBuilder {
    /// Adds a subsystem (a `#[subsystem]` value, a [`SubsystemFn`](crate::SubsystemFn), ...).
    #[must_use]
    pub fn with_subsystem(mut self, subsystem: impl Subsystem) -> Self {
        self.builder = self.builder.with_subsystem(subsystem);
        self
    }

    /// Provides `value` to the subsystems and health checks that take a `State<T>` of its type.
    #[must_use]
    pub fn with_state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.builder = self.builder.with_state(value);
        self
    }

    /// Anything else the [`DaemonBuilder`] offers.
    #[must_use]
    pub fn configure(mut self, configure: impl FnOnce(DaemonBuilder) -> DaemonBuilder) -> Self {
        self.builder = configure(self.builder);
        self
    }

    /// Starts the daemon on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    #[must_use]
    pub fn start(self) -> TestDaemon {
        let handle = self.builder.handle();
        let events = handle.subscribe();
        TestDaemon {
            handle,
            events,
            seen: Vec::new(),
            run: tokio::spawn(self.builder.run()),
            config_file: self.config_file,
        }
    }
}

/// The configuration file of one test daemon, removed when it is dropped.
#[derive(Debug)]
struct ConfigFile {
    path: PathBuf,
}

impl ConfigFile {
    fn new(toml: &str) -> Result<Self> {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "proc-daemon-test-{}-{}.toml",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let file = Self { path };
        file.write(toml)?;
        Ok(file)
    }

    fn write(&self, toml: &str) -> Result<()> {
        write_replacing(&self.path, toml)
    }
}

impl Drop for ConfigFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Writes `text` to a new file and renames it over `path`, as editors do.
fn write_replacing(path: &Path, text: &str) -> Result<()> {
    let fresh = path.with_extension("toml.new");
    std::fs::write(&fresh, text)?;
    std::fs::rename(&fresh, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::SubsystemFn;

    #[test]
    fn a_bad_configuration_names_its_line_and_column() {
        let error = TestDaemon::builder("[shutdown]\ntimeout_ms = \"soon\"").unwrap_err();
        assert_eq!(error.exit_code(), 78);
        assert!(
            error
                .to_string()
                .contains(".toml:2:14: shutdown.timeout_ms"),
            "{error}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn reloads_apply_good_configurations_and_refuse_bad_ones() {
        let idle = SubsystemFn::new("idle", |shutdown: crate::ShutdownHandle| async move {
            shutdown.cancelled().await;
            Ok(())
        });
        let mut daemon = TestDaemon::builder("[shutdown]\ntimeout_ms = 1000")
            .unwrap()
            .with_subsystem(idle)
            .start();
        daemon.ready().await.unwrap();
        daemon.reload("[shutdown]\ntimeout_ms = 2000").unwrap();
        assert_eq!(
            daemon.handle().config_snapshot().shutdown.timeout(),
            Duration::from_secs(2)
        );
        let error = daemon.reload("[shutdown]\ntimeout_ms = -1").unwrap_err();
        assert_eq!(error.exit_code(), 78);
        assert_eq!(
            daemon.handle().config_snapshot().shutdown.timeout(),
            Duration::from_secs(2)
        );
        daemon.reopen_logs();
        daemon.stop();
        let report = daemon.finish().await.unwrap();
        assert_eq!(report.reason(), &ShutdownReason::Signal(libc::SIGTERM));
    }
}
