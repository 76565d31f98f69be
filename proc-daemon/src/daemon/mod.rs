//! Building and running a daemon: [`Daemon::builder`] registers subsystems and options,
//! [`DaemonBuilder::run`] runs them to the end, [`DaemonHandle`] reaches a daemon from outside,
//! and [`Launcher`] is the whole process around it (what `#[daemon]` expands to).

mod handle;
mod launcher;
#[cfg(feature = "lockfree-coordination")]
pub(crate) mod manager;
mod report;
mod run;
// Built for the crate's own unit tests too, which use it.
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub use handle::DaemonHandle;
pub use launcher::{Launcher, exit_code_of};
#[cfg(feature = "lockfree-coordination")]
pub use manager::SubsystemManager;
pub use report::RunReport;

use crate::config::ConfigOrigin;
use crate::process::pidfile::PidFile;
use crate::process::signal::{self, SignalConfig};
use crate::state::Shared;
use crate::subsystem::StateMap;
use crate::{Config, Result, ShutdownHandle, Subsystem, SubsystemFn};

/// A daemon about to run. Created with [`Daemon::builder`].
#[derive(Debug)]
pub struct Daemon;

impl Daemon {
    /// Starts building a daemon with `config`.
    ///
    /// ```
    /// use proc_daemon::{Config, Daemon};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let daemon = Daemon::builder(Config::default())
    ///     .with_task("once", |_shutdown| async { Ok(()) });
    /// // Every subsystem stops on its own, so the daemon stops cleanly.
    /// daemon.run().await.unwrap();
    /// # });
    /// ```
    #[must_use]
    pub fn builder(config: Config) -> DaemonBuilder {
        DaemonBuilder::new(config)
    }
}

/// Registers subsystems and options, then [`run`](DaemonBuilder::run)s the daemon.
#[derive(Debug)]
pub struct DaemonBuilder {
    shared: Arc<Shared>,
    pid_file: Option<PathBuf>,
    /// Signals already reach this daemon (the launcher attached them before set-up).
    signals: Option<signal::Attachment>,
    /// The launcher has started logging already.
    logging_started: bool,
    /// The configuration was loaded through its origin, so the origin's checks (the `[app]`
    /// type) have run on it already.
    config_checked: bool,
    /// The PID file, locked already (by the launcher, before the set-up body ran).
    locked_pid_file: Option<PidFile>,
    /// The state subsystems and health checks receive by type.
    provided: StateMap,
    /// Runs inside a test (`testing`): no signal handlers, no logging set-up, no watchdog.
    in_process: bool,
}

impl DaemonBuilder {
    fn new(config: Config) -> Self {
        let pid_file = config.pid_file.clone();
        Self {
            shared: Arc::new(Shared::new(config, SignalConfig::new().to_bits())),
            pid_file,
            signals: None,
            logging_started: false,
            config_checked: false,
            locked_pid_file: None,
            provided: StateMap::new(),
            in_process: false,
        }
    }

    /// Provides `value` to every subsystem and health check that takes a
    /// [`State<T>`](crate::State) of its type (what [`provide`](crate::provide) does in a
    /// set-up step). A subsystem that needs a type nobody provided stops the start with an
    /// error naming both.
    ///
    /// ```
    /// use proc_daemon::{Config, Daemon};
    ///
    /// struct Pool;
    /// let daemon = Daemon::builder(Config::default()).with_state(Pool);
    /// # let _ = daemon;
    /// ```
    #[must_use]
    pub fn with_state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.provided.provide(value);
        self
    }

    /// Adds what a set-up step [`provide`](crate::provide)d.
    pub(crate) fn with_provided(mut self, provided: StateMap) -> Self {
        self.provided.extend(provided);
        self
    }

    /// Adds a subsystem. Subsystems start in the order they were added.
    #[must_use]
    pub fn with_subsystem(self, subsystem: impl Subsystem) -> Self {
        self.with_boxed_subsystem(Box::new(subsystem))
    }

    /// Adds a boxed subsystem.
    #[must_use]
    pub fn with_boxed_subsystem(self, subsystem: Box<dyn Subsystem>) -> Self {
        self.shared.register(subsystem);
        self
    }

    /// Adds a subsystem made from a closure, with the default options (restart on failure,
    /// critical). Use [`SubsystemFn`] with [`with_subsystem`](Self::with_subsystem) to set them.
    #[must_use]
    pub fn with_subsystem_fn<F, Fut>(self, name: &str, run: F) -> Self
    where
        F: Fn(ShutdownHandle) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.with_subsystem(SubsystemFn::new(name.to_owned(), run))
    }

    /// The same as [`with_subsystem_fn`](Self::with_subsystem_fn); the name the published
    /// `proc-daemon` API uses.
    #[must_use]
    pub fn with_task<F, Fut>(self, name: &str, run: F) -> Self
    where
        F: Fn(ShutdownHandle) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        self.with_subsystem_fn(name, run)
    }

    /// Chooses which signals the daemon acts on.
    #[must_use]
    pub fn with_signal_config(self, config: SignalConfig) -> Self {
        self.shared
            .signal_bits
            .store(config.to_bits(), Ordering::Release);
        self
    }

    /// The file the configuration was read from, read again on reload (SIGHUP,
    /// [`DaemonHandle::reload`], or a change of the file when `hot_reload` is on).
    #[must_use]
    pub fn with_config_path(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.shared
            .config
            .change_origin(|origin| origin.path = Some(path));
        self
    }

    /// The prefix of environment overrides applied on reload (default `DAEMON`).
    #[must_use]
    pub fn with_env_prefix(self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.shared
            .config
            .change_origin(|origin| origin.env_prefix = prefix);
        self
    }

    /// The application's settings type: `[app]` must deserialise into `T` — checked when the
    /// daemon starts (a mismatch is a configuration error, exit 78) and by every reload (a bad
    /// `[app]` is refused, the previous configuration kept).
    #[must_use]
    pub fn with_app<T>(self) -> Self
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        self.shared
            .config
            .change_origin(|origin| origin.app_check = Some(crate::config::app_check::<T>));
        self
    }

    /// Where the configuration came from, whole (the launcher's path, prefix and name); the
    /// configuration was loaded through it, so its checks have run.
    pub(crate) fn with_origin(mut self, from: ConfigOrigin) -> Self {
        self.shared.config.change_origin(|origin| *origin = from);
        self.config_checked = true;
        self
    }

    /// Runs inside a test process: leaves out signal handlers, logging set-up and the watchdog
    /// thread, which belong to a whole process.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn in_process(mut self) -> Self {
        self.in_process = true;
        self.shared.lifecycle().in_process = true;
        self
    }

    /// Signals reach this daemon from now on (before `run`, which then keeps this attachment).
    pub(crate) fn attach_signals(&mut self) {
        self.signals = Some(signal::attach(&self.shared));
    }

    /// Logging is running already; `run` does not start it again.
    pub(crate) const fn logging_started(mut self) -> Self {
        self.logging_started = true;
        self
    }

    /// Uses a PID file (overriding `pid_file` from the config).
    #[must_use]
    pub fn with_pid_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pid_file = Some(path.into());
        self
    }

    /// Locks the PID file now, before the set-up body runs, so that a second instance stops
    /// before any set-up side effect (a migration, an announcement); `run` keeps the lock.
    pub(crate) fn lock_pid_file(&mut self) -> Result<()> {
        if let Some(path) = &self.pid_file {
            self.locked_pid_file = Some(PidFile::acquire_or_passed_on(path)?);
        }
        Ok(())
    }

    /// A handle to the daemon, usable before and while it runs.
    #[must_use]
    pub fn handle(&self) -> DaemonHandle {
        DaemonHandle::new(self.shared.clone())
    }

    /// Runs the daemon until it has shut down, and reports how it ended.
    ///
    /// Signal handlers are installed first. Then the PID file is locked and the subsystems are
    /// started in order. Shutdown starts on SIGTERM/SIGINT/SIGQUIT, on
    /// [`DaemonHandle::request_shutdown`], when a critical subsystem fails, or when every
    /// subsystem has stopped on its own; it then follows the deadlines of `[shutdown]`.
    ///
    /// # Errors
    /// [`Error::Subsystem`](crate::Error::Subsystem) (exit code 1) when a critical subsystem
    /// failed; [`Error::Shutdown`](crate::Error::Shutdown) (exit code 70) when subsystems had to
    /// be aborted at their deadline; [`Error::AlreadyRunning`](crate::Error::AlreadyRunning) or
    /// [`Error::PidFile`](crate::Error::PidFile) when the PID file cannot be taken;
    /// [`Error::Io`](crate::Error::Io) when signal handlers cannot be installed.
    pub async fn run(self) -> Result<RunReport> {
        #[cfg(feature = "console")]
        let shared = self.shared.clone();
        let outcome = run::run_to_end(self).await;
        #[cfg(feature = "console")]
        crate::observe::console::stopped(
            &shared.config.get().name,
            &outcome,
            shared.time_stopping(),
        );
        outcome
    }
}

#[cfg(test)]
impl DaemonHandle {
    pub(crate) fn shared_for_probe(&self) -> &Arc<Shared> {
        &self.shared
    }
}

#[cfg(test)]
impl DaemonBuilder {
    pub(crate) fn shared_for_probe(&self) -> Arc<Shared> {
        self.shared.freeze_entries();
        self.shared.clone()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, Daemon};

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Settings {
        port: u16,
    }

    #[tokio::test]
    async fn with_app_checks_the_app_table_before_anything_starts() {
        let mut config = Config::default();
        config.app.insert("port".into(), "high".into());
        let err = Daemon::builder(config)
            .with_app::<Settings>()
            .with_task("never", |_| async {
                unreachable!("started despite a bad [app]")
            })
            .run()
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 78);
        assert!(
            err.to_string()
                .contains("app.port: invalid type: string \"high\", expected u16"),
            "{err}"
        );
    }

    /// The end of a run waits (up to its grace) for a control-socket answer still being
    /// written: without it, `ctl stop`'s `ok: stopping` could be lost when the daemon stops
    /// faster than the answer is written.
    #[tokio::test(start_paused = true)]
    async fn the_run_ends_after_an_answer_being_written() {
        let builder = Daemon::builder(Config::default()).with_task("idle", |shutdown| async move {
            shutdown.cancelled().await;
            Ok(())
        });
        let shared = builder.shared.clone();
        let handle = builder.handle();
        let mut events = handle.subscribe();
        let run = tokio::spawn(builder.run());
        while events.recv().await.unwrap().state != crate::SubsystemState::Running {}

        let answering = shared.answers.token();
        handle.request_shutdown();
        while !shared
            .entries()
            .iter()
            .all(crate::state::SubsystemEntry::has_exited)
        {
            tokio::task::yield_now().await;
        }
        // Virtual time: well inside the grace, and the run is still waiting for the answer.
        tokio::time::advance(std::time::Duration::from_millis(100)).await;
        assert!(!run.is_finished(), "the run ended with an answer unwritten");
        drop(answering);
        run.await.unwrap().unwrap();
    }
}
