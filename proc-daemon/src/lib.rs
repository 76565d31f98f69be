//! # proc-daemon
//!
//! A framework for production daemons: subsystems supervised with restart policies and restart
//! intensity limits, signals handled from the first instant, graceful shutdown with escalating
//! deadlines that nothing can outlive, a locked PID file, layered configuration, and exit codes
//! that systemd understands.
//!
//! ## Quick start
//!
//! ```toml
//! [dependencies]
//! proc-daemon = "0.1"
//! # For your own code: `select!` and timers. `#[daemon]` builds the runtime itself.
//! tokio = { version = "1", features = ["macros", "time"] }
//! # Only to read `[app]` settings into your own type.
//! serde = { version = "1", features = ["derive"] }
//! # Only for your own log lines; the daemon's logger prints them.
//! tracing = "0.1"
//! ```
//!
//! ```no_run
//! use proc_daemon::{ShutdownHandle, daemon, subsystem};
//! use std::time::Duration;
//!
//! #[subsystem(restart = "exponential_backoff", health = queue_ok)]
//! async fn worker(shutdown: ShutdownHandle) -> anyhow::Result<()> {
//!     loop {
//!         tokio::select! {
//!             () = shutdown.cancelled() => return Ok(()),
//!             () = tokio::time::sleep(Duration::from_secs(1)) => { /* work */ }
//!         }
//!     }
//! }
//!
//! fn queue_ok() -> bool { true }
//!
//! // No `config = "..."`: defaults and `DAEMON_*` variables. With a path, a missing file is a
//! // configuration error (exit 78) — create it first, or pass `--config`.
//! #[daemon(subsystems = [worker])]
//! async fn main() -> anyhow::Result<()> {
//!     // optional set-up: after configuration and logging, before the subsystems start
//!     Ok(())
//! }
//! ```
//!
//! ## Settings and state for subsystems
//!
//! A subsystem takes any of [`ShutdownHandle`], [`Context`] and [`State<T>`], in any order.
//! Your own `[app]` table is read into your own type, checked at `--check-config`, at start
//! (exit 78) and on every reload (a bad one is refused and the last good one kept);
//! [`Context::settings`] hands out the parsed value, shared, without parsing again. Values built
//! in `main`'s set-up are handed over with [`provide`]; a subsystem (or its health check) that
//! takes a `State<T>` nobody provided stops the start with an error naming both.
//!
//! ```no_run
//! use proc_daemon::{Context, State, daemon, provide, subsystem};
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU64, Ordering};
//!
//! #[derive(serde::Deserialize)]
//! struct Settings {
//!     greeting: String,
//! }
//!
//! #[derive(Default)]
//! struct Served(AtomicU64);
//!
//! fn serving(served: State<Served>) -> bool {
//!     served.0.load(Ordering::Relaxed) < 1_000_000
//! }
//!
//! #[subsystem(health = serving)]
//! async fn greeter(context: Context, served: State<Served>) -> proc_daemon::Result<()> {
//!     let settings: Arc<Settings> = context.settings()?;
//!     tracing::info!("{}", settings.greeting);
//!     served.0.fetch_add(1, Ordering::Relaxed);
//!     context.shutdown().cancelled().await;
//!     Ok(())
//! }
//!
//! #[daemon(config = "greeter.toml", app = Settings, subsystems = [greeter])]
//! fn main() {
//!     provide(Served::default());
//! }
//! ```
//!
//! `#[daemon]` and `#[subsystem]` list every key on their own pages; the README has the
//! process-level contract (signals, deadlines, exit codes) and `docs/ARCHITECTURE.md` the
//! layout. Everything the macros generate can be written by hand:
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use proc_daemon::{Config, Daemon, Error, RestartPolicy, SubsystemFn};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let runs = Arc::new(AtomicU32::new(0));
//! let counter = runs.clone();
//! // Fails twice, then finishes: `on_failure` restarts it twice, then it stops, and with
//! // every subsystem stopped the daemon stops cleanly.
//! let flaky = SubsystemFn::new("flaky", move |_shutdown| {
//!     let run = counter.fetch_add(1, Ordering::SeqCst) + 1;
//!     async move { if run < 3 { Err(Error::other("not yet")) } else { Ok(()) } }
//! })
//! .restart_policy(RestartPolicy::OnFailure);
//! Daemon::builder(Config::default()).with_subsystem(flaky).run().await.unwrap();
//! assert_eq!(runs.load(Ordering::SeqCst), 3);
//! # });
//! ```

extern crate self as proc_daemon;

// The floor plan, from the ground up (docs/ARCHITECTURE.md draws it): `config` and `subsystem`
// are values with no daemon behind them; `state` is the ground floor every service reads;
// `supervision` runs subsystems; `process` is the OS process around them; `observe` serves
// what the daemon knows; `toolkit` holds the optional building blocks; `daemon` builds and runs;
// `cluster` coordinates replicas.
#[cfg(feature = "cluster")]
mod cluster;
mod config;
mod daemon;
mod error;
mod observe;
mod private;
mod process;
#[cfg(any(feature = "profiling", feature = "heap-profiling"))]
pub mod profiling;
mod state;
pub mod subsystem;
mod supervision;
mod toolkit;

/// # Example
///
/// ```no_run
/// use proc_daemon::{ShutdownHandle, daemon, subsystem};
///
/// #[subsystem]
/// async fn worker(shutdown: ShutdownHandle) -> anyhow::Result<()> {
///     shutdown.cancelled().await;
///     Ok(())
/// }
///
/// #[daemon(config = "worker.toml", subsystems = [worker])]
/// async fn main() -> anyhow::Result<()> {
///     // set-up: runs after configuration and logging, before `worker` starts
///     Ok(())
/// }
/// ```
///
/// Every path in `subsystems = [...]` must name a `#[subsystem]` function: a plain function
/// there is rustc's `E0574 expected struct, variant or union type, found function`, at the path
/// — add `#[subsystem]` to it. A `#[subsystem]` that no `subsystems = [...]` (or
/// [`DaemonBuilder::with_subsystem`]) names runs nowhere; the start-up line
/// ("daemon \`name\` started 2 subsystem(s) (pid ...): \`a\`, \`b\`") lists every one that
/// starts.
#[cfg(feature = "macros")]
pub use proc_daemon_macros::daemon;
/// # Example
///
/// ```no_run
/// use proc_daemon::{Context, ShutdownHandle, daemon, subsystem};
/// use std::time::Duration;
///
/// fn queue_ok() -> bool {
///     true
/// }
///
/// // Restarted with growing delays; checked every 5 s; 2 s to stop.
/// #[subsystem(
///     restart = "exponential_backoff",
///     initial_delay = "250ms",
///     health = queue_ok,
///     health_interval = "5s",
///     shutdown_timeout = "2s"
/// )]
/// async fn worker(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
///     shutdown.cancelled().await;
///     Ok(())
/// }
///
/// // Ready (`/readyz`, `READY=1`) only once the socket is bound.
/// #[subsystem(holds_readiness, critical = false)]
/// async fn listener(context: Context) -> std::io::Result<()> {
///     let socket = std::net::TcpListener::bind("127.0.0.1:0")?;
///     context.ready();
///     context.shutdown().cancelled().await;
///     drop(socket);
///     Ok(())
/// }
///
/// // A plain `fn` on its own thread; it polls its handle.
/// #[subsystem(blocking, restart = "never")]
/// fn crunch(shutdown: ShutdownHandle) {
///     while !shutdown.is_shutdown() {
///         std::thread::sleep(Duration::from_millis(50));
///     }
/// }
///
/// #[daemon(subsystems = [worker, listener, crunch])]
/// fn main() {}
/// ```
///
/// It goes on a free function at module level, not on a method: rustc rejects the struct it
/// generates inside an `impl` ("struct is not supported in `trait`s or `impl`s").
#[cfg(feature = "macros")]
pub use proc_daemon_macros::subsystem;

pub use config::{
    AdminConfig, ClusterConfig, Config, ConfigBuilder, ConfigSource, EnvOverride, IpcConfig,
    LogFilter, LogLevel, LoggingConfig, MAX_CONFIG_BYTES, MAX_DURATION_MS, MAX_OPEN_FILES,
    MonitoringConfig, PerformanceConfig, ProcessConfig, ShutdownConfig,
};
#[cfg(feature = "lockfree-coordination")]
pub use daemon::SubsystemManager;
pub use daemon::{Daemon, DaemonBuilder, DaemonHandle, Launcher, RunReport, exit_code_of};
pub use error::{Error, Result, exit_code};
pub use process::pidfile::PidFile;
pub use process::runtime::build_runtime;
pub use process::signal::SignalConfig;
pub use state::{ClusterStanding, ReloadCounts, ShutdownReason, SubsystemEvent, SubsystemStatus};
pub use subsystem::context::Context;
pub use subsystem::contract::Subsystem;
pub use subsystem::function::SubsystemFn;
pub use subsystem::provided::{State, provide};
pub use subsystem::restart::{RestartLimit, RestartPolicy};
pub use subsystem::shutdown::ShutdownHandle;
pub use subsystem::state::SubsystemState;

#[cfg(feature = "testing")]
pub use daemon::testing;
#[cfg(feature = "ipc")]
pub use observe::ipc;
#[cfg(feature = "scheduler-hints")]
pub use process::scheduler;
#[cfg(feature = "lockfree-coordination")]
pub use toolkit::coord;
pub use toolkit::lock;
#[cfg(feature = "metrics")]
pub use toolkit::metrics;
#[cfg(feature = "metrics")]
pub use toolkit::resources;
#[cfg(feature = "high-res-timing")]
pub use toolkit::timing;
#[cfg(not(feature = "high-res-timing"))]
use toolkit::timing;

/// Signal handling from the first instant of the process.
///
/// [`SignalConfig`] (which signals the daemon acts on) is at the crate root.
pub mod signal {
    pub use crate::process::signal::install;
    pub use crate::state::signal_name;
}

/// The daemon's log output (`[logging]`).
pub mod logging {
    pub use crate::config::check_filter;
    pub use crate::process::logging::init;
}

/// Which global allocator the build installs (features `mimalloc`, `heap-profiling`).
pub mod allocator {
    pub use crate::process::allocator::name;
}

/// The only door from macro-generated code into the runtime. Not a public API: it changes
/// without notice.
#[doc(hidden)]
pub mod __private {
    pub use std::boxed::Box;
    pub use std::time::Duration;

    pub use crate::private::{
        AcceptedErrorType, AsyncCheck, ErrorSlot, HealthParts, IntoHealthCheck, SyncCheck,
        ViaBoxedError, ViaInto, ViaNothing, ViaStdError, detached_context, health_parts,
        run_blocking, state_parameter, subsystem_name,
    };
    pub use crate::process::signal::block_until_installed;
    pub use crate::subsystem::{HealthCheck, RunFuture, StateMap, StateNeed};
    pub use crate::{
        Config, Context, DaemonBuilder, Error, Launcher, RestartLimit, RestartPolicy, Result,
        ShutdownHandle, State, Subsystem,
    };
}

/// The README's code blocks, compiled as doctests so they cannot drift from the API.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
