//! The whole life of a daemon process as one call: what `#[daemon]` generates, usable by hand.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;
use std::task::Poll;

use crate::config::{ConfigOrigin, ConfigSource};
use crate::error::exit_code;
use crate::process::output::{err_line, out, out_line};
use crate::process::runtime::build_runtime;
use crate::process::{cli, inherited, limits, listeners, logging, privileges, signal, upgrade};
use crate::subsystem::provided::collect_provided;
use crate::supervision::run::panic_message;
use crate::{Config, Daemon, DaemonBuilder, Error, Result};

/// Runs a daemon process from first instant to exit code.
///
/// In order: installs the signal handlers (so a signal at any later instant leads to a graceful
/// stop), loads and validates the configuration (exit 78 on error), starts logging, builds a
/// tokio runtime with `performance.worker_threads` workers, runs `setup` (which registers the
/// subsystems; an `Err` aborts start-up with that error's exit code), runs the daemon, and
/// returns the exit code of the outcome. Errors are printed to standard error.
///
/// The config file is `config_file`, unless `<ENV_PREFIX>_CONFIG` or `--config PATH` names
/// another one. The command line also takes `--check-config`, `--help` and `--version`; see
/// [`cli`](Launcher::cli).
///
/// What it prints is prefixed with the daemon's name as its logs spell it: the configuration's
/// `name` once a configuration has loaded (`--help` and `--version` read it if they can), the
/// launcher's name before that or when the configuration cannot be read.
///
/// ```no_run
/// use proc_daemon::Launcher;
///
/// fn main() -> std::process::ExitCode {
///     Launcher::new("my-daemon")
///         .config_file("daemon.toml")
///         .run(|daemon| async move {
///             Ok(daemon.with_task("worker", |shutdown| async move {
///                 shutdown.cancelled().await;
///                 Ok(())
///             }))
///         })
/// }
/// ```
#[derive(Clone, Debug)]
pub struct Launcher {
    name: String,
    version: Option<String>,
    config_file: Option<PathBuf>,
    env_prefix: String,
    cli: bool,
    config_override: Option<PathBuf>,
    app_check: Option<crate::config::AppCheck>,
    /// The configuration's `name`, once one has loaded: what messages are prefixed with.
    configured_name: Option<String>,
}

impl Launcher {
    /// A launcher for the daemon called `name` (used unless the config sets `name`).
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version: None,
            config_file: None,
            env_prefix: crate::config::DEFAULT_ENV_PREFIX.to_owned(),
            cli: true,
            config_override: None,
            app_check: None,
            configured_name: None,
        }
    }

    /// The version `--version` prints.
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Whether to handle `--config PATH`, `--check-config`, `--help` and `--version` (default
    /// `true`). Other arguments, and everything after `--`, are always left to the application.
    #[must_use]
    pub fn cli(mut self, enabled: bool) -> Self {
        self.cli = enabled;
        self
    }

    /// The configuration file to read.
    #[must_use]
    pub fn config_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// The application's settings type: `[app]` must deserialise into `T`, checked with the rest
    /// of the configuration — by `--check-config` and at start (exit 78), and by every reload
    /// (a bad `[app]` is refused and the previous configuration kept). What
    /// `#[daemon(app = T)]` sets.
    ///
    /// ```no_run
    /// #[derive(serde::Deserialize)]
    /// struct Settings { port: u16 }
    ///
    /// fn main() -> std::process::ExitCode {
    ///     proc_daemon::Launcher::new("shop")
    ///         .app::<Settings>()
    ///         .run(|daemon| async move { Ok(daemon) })
    /// }
    /// ```
    #[must_use]
    pub fn app<T>(mut self) -> Self
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        self.app_check = Some(crate::config::app_check::<T>);
        self
    }

    /// The prefix of environment overrides (default `DAEMON`).
    #[must_use]
    pub fn env_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.env_prefix = prefix.into();
        self
    }

    /// Runs the process; see the type's documentation.
    pub fn run<F, Fut>(mut self, setup: F) -> ExitCode
    where
        F: FnOnce(DaemonBuilder) -> Fut,
        Fut: Future<Output = Result<DaemonBuilder>>,
    {
        // First, while `main` is (normally) the only thread: socket activation's and an
        // upgrade's variables are read and removed before anything could start a process that
        // inherits them; and where this process was started from, for its own upgrades.
        inherited::take_from_environment();
        upgrade::remember_invocation();
        if let Err(err) = signal::install() {
            return self.fail(&Error::from(err));
        }
        let mut command = cli::Command::Run;
        if self.cli {
            match cli::parse(std::env::args_os().skip(1)) {
                Ok(parsed) => {
                    command = parsed.command;
                    self.config_override = parsed.config;
                }
                Err(usage) => {
                    err_line(&format!("{}: {usage}", self.name));
                    return ExitCode::from(exit_code::USAGE);
                }
            }
        }
        match command {
            cli::Command::Run => {}
            cli::Command::Help => {
                self.configured_name = self
                    .load_config()
                    .ok()
                    .map(|config| config.name.into_owned());
                out(&cli::usage(self.display_name(), &self.env_prefix));
                return ExitCode::SUCCESS;
            }
            cli::Command::Version => {
                self.configured_name = self
                    .load_config()
                    .ok()
                    .map(|config| config.name.into_owned());
                out_line(&format!(
                    "{} {}",
                    self.display_name(),
                    self.version.as_deref().unwrap_or("(unknown version)")
                ));
                return ExitCode::SUCCESS;
            }
            cli::Command::PrintConfig => {
                return match self.load_config_with_source() {
                    Ok((config, source)) => {
                        self.configured_name = Some(config.name.to_string());
                        out(&config.render_with_origins(&source));
                        ExitCode::SUCCESS
                    }
                    Err(err) => self.fail(&err),
                };
            }
            cli::Command::Ctl(command) => return self.ctl(&command),
            cli::Command::CheckConfig => {
                return match self.load_config() {
                    Ok(config) => {
                        out_line(&format!(
                            "{}: configuration ok ({})",
                            config.name,
                            self.origin().describe()
                        ));
                        ExitCode::SUCCESS
                    }
                    Err(err) => self.fail(&err),
                };
            }
        }
        let config = match self.load_config() {
            Ok(config) => config,
            Err(err) => return self.fail(&err),
        };
        self.configured_name = Some(config.name.to_string());
        if config.process.working_directory.is_some()
            && let Some(path) = self.origin().path
        {
            // Reloads read the file again, from the new working directory.
            self.config_override = Some(privileges::absolute(&path));
        }
        if let Err(err) = privileges::apply_umask_and_directory(&config) {
            return self.fail(&err);
        }
        logging::init(&config);
        if signal::blocked_at_load() {
            tracing::debug!(
                "stop signals were held from load time until their handlers were installed"
            );
        }
        if let Err(err) = limits::apply(&config) {
            return self.fail(&err);
        }
        let runtime = match build_runtime(&config) {
            Ok(runtime) => runtime,
            Err(err) => return self.fail(&Error::from(err)),
        };
        let mut builder = Daemon::builder(config)
            .with_origin(self.origin())
            .logging_started();
        if let Err(err) = builder.lock_pid_file() {
            return self.fail(&err);
        }
        // Listeners bound (ports below 1024 too), PID file and log file open: nothing after
        // this needs root.
        let config = builder.handle().config_snapshot();
        if !config.listen.is_empty() {
            match listeners::open(&config) {
                Ok(open) => builder = builder.with_state(open),
                Err(err) => return self.fail(&err),
            }
        }
        if let Err(err) = privileges::drop_privileges(&config) {
            return self.fail(&err);
        }
        let shutdown = builder.handle().shutdown_handle();
        let outcome = runtime.block_on(async move {
            // Signals reach this daemon from now on, so a SIGTERM during a slow set-up stops the
            // start-up at once instead of waiting for it; `run` keeps this attachment.
            builder.attach_signals();
            tokio::select! {
                (ready, provided) = collect_provided(caught(setup(builder))) => match ready {
                    Ok(ready) => ready?.with_provided(provided).run().await.map(drop),
                    Err(panic) => {
                        tracing::error!("set-up {panic}; nothing was started");
                        Err(Error::Panicked { message: panic.to_string().into() })
                    }
                },
                () = shutdown.cancelled() => {
                    tracing::info!("shutdown requested during set-up; nothing was started");
                    Ok(())
                }
            }
        });
        // Every supervised task has ended when `run` returns; tasks the application spawned on
        // its own must not hold the process (the watchdog has already been disarmed).
        runtime.shutdown_background();
        let code = match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => self.fail(&err),
        };
        logging::flush();
        code
    }

    /// Where the configuration comes from: the file chosen by `--config`, `<PREFIX>_CONFIG` or
    /// the code, this launcher's prefix, and its name as the default name.
    fn origin(&self) -> ConfigOrigin {
        ConfigOrigin {
            path: ConfigOrigin::chosen(
                self.config_file.as_deref(),
                self.config_override.clone(),
                &self.env_prefix,
            ),
            env_prefix: self.env_prefix.clone(),
            default_name: Some(self.name.clone()),
            app_check: self.app_check,
        }
    }

    fn load_config(&self) -> Result<Config> {
        self.load_config_with_source().map(|(config, _)| config)
    }

    fn load_config_with_source(&self) -> Result<(Config, ConfigSource)> {
        self.origin().load()
    }

    /// `ctl <command>`: asks the running daemon over its control socket.
    fn ctl(&mut self, command: &str) -> ExitCode {
        let config = match self.load_config() {
            Ok(config) => config,
            Err(err) => return self.fail(&err),
        };
        self.configured_name = Some(config.name.to_string());
        #[cfg(feature = "ipc")]
        {
            let socket = config.ipc.socket_path(&config.name);
            if !config.ipc.enabled {
                err_line(&format!(
                    "{}: error: ipc.enabled is false in this configuration ({}); the daemon serves no control socket",
                    self.display_name(),
                    self.origin().describe()
                ));
                return ExitCode::from(exit_code::FAILURE);
            }
            let patience = if command.trim() == "upgrade" {
                config.process.upgrade_timeout() + std::time::Duration::from_secs(10)
            } else {
                std::time::Duration::from_secs(10)
            };
            match crate::ipc::request_within(&socket, command, patience) {
                Ok(answer) if answer.starts_with("error:") => {
                    err_line(&format!("{}: {answer}", self.display_name()));
                    ExitCode::from(exit_code::FAILURE)
                }
                Ok(answer) => {
                    out_line(&answer);
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    err_line(&format!(
                        "{}: error: cannot reach the daemon at {}: {err}",
                        self.display_name(),
                        socket.display()
                    ));
                    ExitCode::from(exit_code::FAILURE)
                }
            }
        }
        #[cfg(not(feature = "ipc"))]
        {
            let _ = (config, command);
            err_line(&format!(
                "{}: ctl needs proc-daemon's `ipc` feature",
                self.display_name()
            ));
            ExitCode::from(exit_code::USAGE)
        }
    }

    /// The name messages are prefixed with: the configured one once known.
    fn display_name(&self) -> &str {
        self.configured_name.as_deref().unwrap_or(&self.name)
    }

    fn fail(&self, error: &Error) -> ExitCode {
        err_line(&format!("{}: error: {error}", self.display_name()));
        ExitCode::from(error.exit_code())
    }
}

/// Polls `future`, turning a panic into `Err` with its message (`panicked: ...`).
async fn caught<T>(future: impl Future<Output = T>) -> std::result::Result<T, Arc<str>> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    })
    .await
}

/// The exit code for the outcome of [`DaemonBuilder::run`], printing an error to standard
/// error: for programs that build their own runtime.
///
/// ```
/// let code = proc_daemon::exit_code_of(&Err::<(), _>(proc_daemon::Error::config("bad")));
/// assert_eq!(code, std::process::ExitCode::from(78));
/// ```
pub fn exit_code_of<T>(outcome: &Result<T>) -> ExitCode {
    match outcome {
        Ok(_) => ExitCode::from(exit_code::SUCCESS),
        Err(err) => {
            err_line(&format!("error: {err}"));
            ExitCode::from(err.exit_code())
        }
    }
}
