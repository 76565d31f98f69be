//! Daemon configuration: built-in defaults < TOML file < `DAEMON_*` environment.
//!
//! Every key here is read by the runtime. Sections and keys mirror the TOML file:
//!
//! ```toml
//! name = "my-daemon"
//! pid_file = "/run/my-daemon.pid"
//!
//! hot_reload = false  # reload when the file changes (SIGHUP always reloads)
//!
//! [logging]
//! level = "info"      # trace, debug, info, warn, error, or directives: "info,my_crate=debug"
//! json = false        # needs the `json-logs` feature
//! color = true        # only ever used on a terminal
//! file = "/var/log/my-daemon.log"  # instead of standard error; reopened on SIGUSR1
//! max_file_size = 10485760         # rotate after this many bytes (at a line boundary)
//! max_files = 5                    # files kept in all
//!
//! [shutdown]
//! timeout_ms = 5000        # subsystems still running are aborted
//! force_timeout_ms = 10000 # the process exits without waiting for blocked threads
//! kill_timeout_ms = 15000  # a watchdog thread ends the process, whatever its state
//!
//! [performance]
//! worker_threads = 0  # 0 = one per core
//! nice = 5            # scheduler hints, `scheduler-hints` feature: process nice value,
//! cpu_affinity = [0, 1]   # the CPUs the process may use,
//! thread_pinning = false  # one CPU per runtime thread
//! memory_pool_size = 1048576  # bytes reserved for the allocator at start (`mimalloc`)
//! numa_aware = false      # worker threads placed on NUMA nodes in turn (`scheduler-hints`)
//! lock_free = false       # lifecycle events on the lock-free queue (`lockfree-coordination`)
//!
//! [monitoring]
//! health_checks = true            # false: no subsystem's health check runs
//! health_check_interval_ms = 10000
//! health_check_failures = 3       # consecutive failed checks before a restart
//!
//! [admin]             # present = on: /healthz, /readyz, /status, /metrics
//! bind = "127.0.0.1:9090"
//!
//! [ipc]               # control socket, `ipc` feature: `my-daemon ctl status|health|reload|stop`
//! enabled = false
//! socket = "/run/my-daemon.sock"  # default: <name>.sock in the runtime directory
//!
//! [process]
//! max_open_files = 65536  # raise the soft RLIMIT_NOFILE at start (default: left as inherited)
//! user = "my-daemon"      # started as root: drop to this user once PID and log files are open
//! group = "my-daemon"     # default: the user's primary group
//! umask = "0027"          # default: inherited
//! working_directory = "/var/lib/my-daemon"
//! upgrade_timeout_ms = 60000  # `ctl upgrade` / SIGUSR2: how long the new process may take to be ready
//!
//! [listen]            # named sockets for subsystems: context.tcp_listener("http")
//! http = "127.0.0.1:8080"
//! api = "unix:/run/my-daemon/api.sock"
//!
//! [cluster]           # `cluster`: replicas elect a leader through etcd; singletons run there
//! endpoints = ["http://127.0.0.1:2379"]
//! lease_ttl_ms = 10000    # whole seconds; a dead leader is replaced at most this long after
//!
//! [app]               # free-form, read with `config.app::<T>()`
//! ```

mod app;
mod builder;
mod cluster;
mod deadlines;
mod diagnostics;
mod env;
mod load;
mod log_filter;
mod origin;
mod print;
mod validate;

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub(crate) use app::{AppCheck, TypedApp, app_check};
pub use builder::ConfigBuilder;
pub use cluster::ClusterConfig;
#[cfg(feature = "cluster")]
pub(crate) use cluster::endpoint_address;
pub use env::EnvOverride;
#[cfg(feature = "scheduler-hints")]
pub(crate) use env::parse_cpu_list;
pub use load::{ConfigSource, MAX_CONFIG_BYTES};
pub(crate) use log_filter::{Filter, parse_filter};
pub use log_filter::{LogFilter, check_filter};
pub(crate) use origin::{ConfigOrigin, DEFAULT_ENV_PREFIX};
pub use validate::{MAX_DURATION_MS, MAX_OPEN_FILES};

use crate::Result;

/// The whole configuration of a daemon.
///
/// ```
/// use proc_daemon::{Config, LogLevel};
/// use std::time::Duration;
///
/// let config = Config::builder()
///     .name("example")
///     .log_level(LogLevel::Debug)
///     .shutdown_timeout(Duration::from_secs(2))
///     .build()
///     .unwrap();
/// assert_eq!(config.shutdown.timeout_ms, 2000);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Config {
    /// The daemon's name, used in logs (borrowed when it is a literal, so building a config
    /// allocates nothing for it).
    pub name: Cow<'static, str>,
    /// Where logs go and how they look.
    pub logging: LoggingConfig,
    /// Shutdown deadlines.
    pub shutdown: ShutdownConfig,
    /// Runtime sizing.
    pub performance: PerformanceConfig,
    /// Health checks.
    pub monitoring: MonitoringConfig,
    /// The admin HTTP endpoint (`/healthz`, `/readyz`, `/status`, `/metrics`); off unless
    /// this section is present.
    pub admin: Option<AdminConfig>,
    /// The local control socket (`status`, `health`, `reload`, `stop`); off by default.
    pub ipc: IpcConfig,
    /// The process's own limits.
    pub process: ProcessConfig,
    /// Named listening sockets (`[listen] http = "127.0.0.1:8080"`, `api = "unix:/run/x.sock"`),
    /// bound before the set-up body (or taken from systemd's socket activation by name) and
    /// handed to subsystems by [`Context::tcp_listener`](crate::Context::tcp_listener) and
    /// [`Context::unix_listener`](crate::Context::unix_listener).
    pub listen: std::collections::BTreeMap<String, String>,
    /// Leader election among replicas through etcd (feature `cluster`); off unless this section
    /// is present.
    pub cluster: Option<ClusterConfig>,
    /// The PID file, locked for the daemon's life. None: no PID file.
    pub pid_file: Option<PathBuf>,
    /// Reload the configuration when its file changes (the directory is watched, so editors
    /// that save by rename are seen). SIGHUP and `DaemonHandle::reload` reload regardless.
    pub hot_reload: bool,
    /// The application's own settings, read with [`Config::app`]. A `toml::Table` (a public
    /// dependency type) because `[app]` is free-form: it is kept as parsed, for the
    /// application to deserialise into its own type.
    pub app: toml::Table,
    /// `app` as the type the daemon declares, parsed when this configuration was loaded.
    #[serde(skip)]
    pub(crate) typed_app: TypedApp,
}

/// `[logging]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct LoggingConfig {
    /// A level (`trace`, `debug`, `info`, `warn`, `error`) or `tracing` filter directives such as
    /// `info,my_crate=debug`. `RUST_LOG`, when set, wins. Changes apply on reload.
    pub level: LogFilter,
    /// One JSON object per line instead of text (needs the `json-logs` feature).
    pub json: bool,
    /// Colour on terminals (never when output is not a terminal).
    pub color: bool,
    /// Write logs to this file instead of standard error.
    pub file: Option<PathBuf>,
    /// Rotate the file once it passes this many bytes (after a whole line).
    pub max_file_size: u64,
    /// How many log files to keep in all (the one being written and the rotated ones).
    pub max_files: u32,
}

/// `[shutdown]`: the escalating deadlines, each measured from the moment shutdown starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ShutdownConfig {
    /// Subsystems still running after this long are aborted and named in the log.
    pub timeout_ms: u64,
    /// If tasks still have not finished after this long, the process exits without them.
    pub force_timeout_ms: u64,
    /// A watchdog thread outside the runtime ends the process after this long, whatever state
    /// it is in.
    pub kill_timeout_ms: u64,
}

/// `[performance]`: runtime sizing and scheduler hints.
///
/// `nice`, `cpu_affinity` and `thread_pinning` need the `scheduler-hints` feature (a
/// configuration error without it). They are applied with system calls at start-up; a hint
/// the system refuses (a negative `nice` without `CAP_SYS_NICE`, a CPU outside the cgroup's
/// set) is logged at debug level and never stops the daemon.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PerformanceConfig {
    /// Tokio worker threads; 0 means one per core.
    pub worker_threads: usize,
    /// The process's nice value, -20 (most favoured) to 19; unset leaves it alone.
    pub nice: Option<i32>,
    /// The CPUs the whole process may run on (`[0, 1]`; in the environment `0,1` or `0-3`);
    /// empty leaves the inherited set alone.
    pub cpu_affinity: Vec<usize>,
    /// Pin each runtime thread to one CPU, round-robin over the CPUs the process may use, so
    /// workers stop migrating between cores.
    pub thread_pinning: bool,
    /// Bytes of address space reserved for the allocator at start-up (0: none), so a daemon's
    /// first allocations do not each go to the kernel. With the `mimalloc` feature, reserved
    /// through mimalloc's arena API (not committed until used); otherwise a warning at start.
    pub memory_pool_size: u64,
    /// Place the runtime's worker threads on the machine's NUMA nodes in turn (each thread may
    /// run on the CPUs of its node), so a worker's memory stays local. Needs the
    /// `scheduler-hints` feature; otherwise a warning at start. `thread_pinning` overrides it.
    pub numa_aware: bool,
    /// Carry lifecycle events on the lock-free queue from the start, as if
    /// `DaemonHandle::enable_events` had been called. Needs the `lockfree-coordination`
    /// feature; otherwise a warning at start.
    pub lock_free: bool,
}

/// `[monitoring]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct MonitoringConfig {
    /// Whether subsystems' health checks run at all.
    pub health_checks: bool,
    /// How often each health check runs (a subsystem may set its own interval).
    pub health_check_interval_ms: u64,
    /// How many consecutive failed (or hung) checks make a subsystem unhealthy, which stops its
    /// run and hands it to its restart policy.
    pub health_check_failures: u32,
    /// Serve `/metrics` on the admin endpoint and record the `metrics` crate's macros.
    pub enable_metrics: bool,
    /// Sample this process's memory, CPU and threads (`DaemonHandle::resource_usage`,
    /// `proc_daemon_process_cpu_percent` on `/metrics`); needs the `metrics` feature.
    pub track_resources: bool,
    /// How often resources are sampled.
    pub metrics_interval_ms: u64,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        Self {
            health_checks: true,
            health_check_interval_ms: 10_000,
            health_check_failures: 3,
            enable_metrics: true,
            track_resources: false,
            metrics_interval_ms: 5_000,
        }
    }
}

impl MonitoringConfig {
    /// `health_check_interval_ms` as a duration.
    #[must_use]
    pub const fn health_check_interval(&self) -> Duration {
        Duration::from_millis(self.health_check_interval_ms)
    }
}

/// `[ipc]`: a Unix control socket for operators on the same machine (feature `ipc`).
///
/// The socket is created with mode 0600 and answers only its own user and root (checked with
/// the peer's credentials); a socket left behind by a daemon that was killed is replaced. The
/// daemon's binary is its client: `my-daemon ctl status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct IpcConfig {
    /// Serve the socket.
    pub enabled: bool,
    /// Where; by default `<name>.sock` in `$RUNTIME_DIRECTORY` (systemd's `RuntimeDirectory=`),
    /// else `$XDG_RUNTIME_DIR`, else `/run` for root and `/tmp` for other users.
    pub socket: Option<PathBuf>,
}

impl IpcConfig {
    /// The socket's path for a daemon named `name`.
    ///
    /// ```
    /// use proc_daemon::IpcConfig;
    ///
    /// let mut ipc = IpcConfig::default();
    /// ipc.socket = Some("/run/custom.sock".into());
    /// assert_eq!(ipc.socket_path("my-daemon"), std::path::Path::new("/run/custom.sock"));
    /// ```
    #[must_use]
    pub fn socket_path(&self, name: &str) -> PathBuf {
        if let Some(socket) = &self.socket {
            return socket.clone();
        }
        let dir = ["RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR"]
            .iter()
            .filter_map(std::env::var_os)
            // systemd may list several runtime directories, separated by colons.
            .filter_map(|dirs| {
                dirs.to_str()
                    .and_then(|d| d.split(':').next())
                    .filter(|d| !d.is_empty())
                    .map(PathBuf::from)
            })
            .next()
            .unwrap_or_else(|| {
                // SAFETY: geteuid has no preconditions.
                if unsafe { libc::geteuid() } == 0 {
                    PathBuf::from("/run")
                } else {
                    Self::private_fallback_dir()
                }
            });
        dir.join(format!("{name}.sock"))
    }

    /// Where the default socket of a user with no runtime directory lives: a directory of its
    /// own, `proc-daemon-<uid>` in the temporary directory, which the daemon makes with mode
    /// 0700 — never the shared temporary directory itself, where any user could take the
    /// socket's name first.
    #[must_use]
    pub fn private_fallback_dir() -> PathBuf {
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        std::env::temp_dir().join(format!("proc-daemon-{uid}"))
    }
}

/// `[process]`: limits of the daemon's process, applied at start before the set-up body runs.
///
/// ```
/// let config: proc_daemon::Config = toml::from_str("[process]\nmax_open_files = 65536").unwrap();
/// assert_eq!(config.process.max_open_files, Some(65536));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct ProcessConfig {
    /// The soft limit on open file descriptors (`RLIMIT_NOFILE`) to raise to at start; a
    /// daemon serving many connections needs more than the usual 1 024. It may not exceed the
    /// hard limit the service manager gave (systemd's `LimitNOFILE=`) unless the daemon may raise
    /// that too (root, `CAP_SYS_RESOURCE`): otherwise start-up fails with exit 78 naming both
    /// numbers. A limit already higher is left as it is. None (default): left as inherited.
    pub max_open_files: Option<u64>,
    /// The user to run as: a daemon started as root opens its PID file and log file, then drops
    /// to this user before the set-up body and the subsystems run (supplementary groups, then
    /// the group, then the user, and checks that root cannot be regained). An unknown user, or a
    /// daemon not started as root (and not already this user), stops the start with exit 78.
    /// None (default): the user it was started as.
    pub user: Option<String>,
    /// The group to run as with `user`; default: the user's primary group. Alone (without
    /// `user`), only the group is changed.
    pub group: Option<String>,
    /// The file-mode creation mask, in octal as systemd writes it (`"0027"`), set at start
    /// before any file is created. None (default): inherited.
    pub umask: Option<String>,
    /// The directory to run in (`chdir` at start, after the configuration was read; a
    /// relative configuration path is remembered as absolute, so reloads still find it).
    /// None (default): inherited.
    pub working_directory: Option<PathBuf>,
    /// How long an upgrade's new process (`ctl upgrade`, SIGUSR2) may take to become ready
    /// before it is killed and the old process carries on (default 60 000).
    pub upgrade_timeout_ms: u64,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        Self {
            max_open_files: None,
            user: None,
            group: None,
            umask: None,
            working_directory: None,
            upgrade_timeout_ms: DEFAULT_UPGRADE_TIMEOUT_MS,
        }
    }
}

/// The default `process.upgrade_timeout_ms`.
const DEFAULT_UPGRADE_TIMEOUT_MS: u64 = 60_000;

impl ProcessConfig {
    /// `upgrade_timeout_ms` as a duration.
    #[must_use]
    pub const fn upgrade_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.upgrade_timeout_ms)
    }
}

/// `[admin]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct AdminConfig {
    /// Where the endpoint listens. Loopback by default; any other address exposes it, which
    /// is then the operator's explicit choice.
    pub bind: std::net::SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 9090)),
        }
    }
}

/// How verbose logs are.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Everything.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    #[default]
    Info,
    /// Something unexpected that the daemon handled.
    Warn,
    /// Something failed.
    Error,
}

impl LogLevel {
    /// All levels, in the spelling the config uses.
    pub const NAMES: [&'static str; 5] = ["trace", "debug", "info", "warn", "error"];

    /// The config spelling.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

impl std::str::FromStr for LogLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Ok(Self::Trace),
            "debug" => Ok(Self::Debug),
            "info" => Ok(Self::Info),
            "warn" | "warning" => Ok(Self::Warn),
            "error" => Ok(Self::Error),
            _ => Err(format!(
                "unknown log level, expected one of {}",
                Self::NAMES.join(", ")
            )),
        }
    }
}

impl Default for Config {
    #[inline]
    fn default() -> Self {
        Self {
            name: Cow::Borrowed("daemon"),
            logging: LoggingConfig::default(),
            shutdown: ShutdownConfig::default(),
            performance: PerformanceConfig::default(),
            monitoring: MonitoringConfig::default(),
            admin: None,
            ipc: IpcConfig::default(),
            process: ProcessConfig::default(),
            listen: std::collections::BTreeMap::new(),
            cluster: None,
            pid_file: None,
            hot_reload: false,
            app: toml::Table::new(),
            typed_app: TypedApp::default(),
        }
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: LogFilter::from(LogLevel::Info),
            json: false,
            color: true,
            file: None,
            max_file_size: 10 * 1024 * 1024,
            max_files: 5,
        }
    }
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 5_000,
            force_timeout_ms: 10_000,
            kill_timeout_ms: 15_000,
        }
    }
}

impl ShutdownConfig {
    /// `timeout_ms` as a duration.
    #[must_use]
    pub const fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// `force_timeout_ms` as a duration.
    #[must_use]
    pub const fn force_timeout(&self) -> Duration {
        Duration::from_millis(self.force_timeout_ms)
    }

    /// `kill_timeout_ms` as a duration.
    #[must_use]
    pub const fn kill_timeout(&self) -> Duration {
        Duration::from_millis(self.kill_timeout_ms)
    }
}

impl Config {
    /// Built-in defaults overlaid with the `DAEMON_*` environment, validated.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) naming the variable when an environment value is invalid, or when the
    /// result breaks a cross-field rule.
    pub fn new() -> Result<Self> {
        load::load(None, DEFAULT_ENV_PREFIX).map(|(config, _)| config)
    }

    /// Defaults < the TOML file at `path` < the `DAEMON_*` environment, validated.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) with `file:line:column: key: problem` for a bad file, the variable's
    /// name and value for a bad environment override, or the rule a value breaks.
    pub fn load_from_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        load::load(Some(path.as_ref()), DEFAULT_ENV_PREFIX).map(|(config, _)| config)
    }

    /// Parses TOML text (defaults for what it leaves out) and validates it, without the
    /// environment; `origin` names the text in errors, as a file name would.
    ///
    /// ```
    /// let config = proc_daemon::Config::from_toml_str("inline", "[shutdown]\ntimeout_ms = 100").unwrap();
    /// assert_eq!(config.shutdown.timeout_ms, 100);
    /// let err = proc_daemon::Config::from_toml_str("inline", "[shutdown]\ntimeout_ms = -1").unwrap_err();
    /// assert!(err.to_string().contains("inline:2:14: shutdown.timeout_ms"));
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) with `origin:line:column: key: problem`, or the rule a value breaks.
    pub fn from_toml_str(origin: &str, text: &str) -> Result<Self> {
        let mut config = load::parse_str(origin, text)?;
        // It parsed as a `Config`, so it parses as a table.
        let table: toml::Table = toml::from_str(text).unwrap_or_default();
        let keys: Vec<String> = load::flatten(&table)
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        deadlines::derive_unset(&mut config, |key| keys.iter().any(|k| k == key));
        config.validate()?;
        Ok(config)
    }

    /// Like [`load_from_file`](Self::load_from_file) (or [`new`](Self::new) without a path) with
    /// environment variables named `<env_prefix>_<SECTION>_<KEY>`; also reports where the
    /// configuration came from.
    ///
    /// # Errors
    /// As [`load_from_file`](Self::load_from_file).
    pub fn load_with_prefix(
        path: Option<&std::path::Path>,
        env_prefix: &str,
    ) -> Result<(Self, ConfigSource)> {
        load::load(path, env_prefix)
    }

    /// A builder starting from the defaults.
    #[inline]
    #[must_use]
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_defaults_to_the_runtime_directory() {
        let ipc = IpcConfig::default();
        let path = ipc.socket_path("my-daemon");
        assert_eq!(path.file_name().unwrap(), "my-daemon.sock");
        let expected_dir = std::env::var_os("RUNTIME_DIRECTORY")
            .or_else(|| std::env::var_os("XDG_RUNTIME_DIR"))
            .map(PathBuf::from);
        if let Some(dir) = expected_dir {
            assert!(path.starts_with(dir), "{}", path.display());
        }
    }

    #[test]
    fn log_level_parses_and_lists_valid_values() {
        assert_eq!("WARN".parse::<LogLevel>().unwrap(), LogLevel::Warn);
        assert_eq!(
            "loud".parse::<LogLevel>().unwrap_err(),
            "unknown log level, expected one of trace, debug, info, warn, error"
        );
    }
}
