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
// what the daemon knows; `toolkit` holds the optional building blocks; `daemon` builds and runs.
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

#[cfg(feature = "macros")]
pub use proc_daemon_macros::{daemon, subsystem};

pub use config::{
    AdminConfig, Config, ConfigBuilder, ConfigSource, EnvOverride, IpcConfig, LogFilter, LogLevel,
    LoggingConfig, MAX_CONFIG_BYTES, MAX_DURATION_MS, MAX_OPEN_FILES, MonitoringConfig,
    PerformanceConfig, ProcessConfig, ShutdownConfig,
};
#[cfg(feature = "lockfree-coordination")]
pub use daemon::SubsystemManager;
pub use daemon::{Daemon, DaemonBuilder, DaemonHandle, Launcher, RunReport, exit_code_of};
pub use error::{Error, Result, exit_code};
pub use process::pidfile::PidFile;
pub use process::runtime::build_runtime;
pub use process::signal::SignalConfig;
pub use state::{ReloadCounts, ShutdownReason, SubsystemEvent, SubsystemStatus};
pub use subsystem::context::Context;
pub use subsystem::contract::Subsystem;
pub use subsystem::function::SubsystemFn;
pub use subsystem::provided::{State, provide};
pub use subsystem::restart::{RestartLimit, RestartPolicy};
pub use subsystem::shutdown::ShutdownHandle;
pub use subsystem::state::SubsystemState;

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
        run_blocking, state_parameter,
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
