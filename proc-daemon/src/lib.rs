//! # proc-daemon
//!
//! A framework for production daemons: subsystems supervised with restart policies and restart
//! intensity limits, signals handled from the first instant, graceful shutdown with escalating
//! deadlines that nothing can outlive, a locked PID file, layered configuration, and exit codes
//! that systemd understands.
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
//!
//! See the README for the process-level contract (signals, deadlines, exit codes).

extern crate self as proc_daemon;

#[cfg(feature = "admin")]
mod admin;
pub mod allocator;
mod cleanup;
mod cli;
pub mod config;
#[cfg(feature = "console")]
mod console;
mod context;
#[cfg(feature = "lockfree-coordination")]
pub mod coord;
mod daemon;
pub mod error;
mod events;
#[cfg(feature = "admin")]
mod exposition;
mod handle;
mod health;
#[cfg(feature = "ipc")]
pub mod ipc;
mod launcher;
mod log_file;
pub mod logging;
#[cfg(feature = "metrics")]
pub mod metrics;
mod pidfile;
mod private;
#[cfg(any(feature = "admin", feature = "metrics"))]
mod process_stats;
#[cfg(any(feature = "profiling", feature = "heap-profiling"))]
pub mod profiling;
mod reload;
#[cfg(feature = "metrics")]
pub mod resources;
pub mod restart;
#[cfg(feature = "scheduler-hints")]
pub mod scheduler;
pub mod shutdown;
pub mod signal;
#[cfg(any(feature = "admin", feature = "ipc"))]
mod status;
pub mod subsystem;
mod supervisor;
mod systemd;
#[cfg(feature = "high-res-timing")]
pub mod timing;
#[cfg(not(feature = "high-res-timing"))]
mod timing;
mod watchdog;
mod watcher;

#[cfg(feature = "macros")]
pub use proc_daemon_macros::{daemon, subsystem};

pub use config::{AdminConfig, Config, IpcConfig, LogLevel, MonitoringConfig};
pub use context::Context;
pub use daemon::{Daemon, DaemonBuilder, ShutdownReason};
pub use error::{Error, Result};
pub use events::SubsystemEvent;
pub use handle::{DaemonHandle, SubsystemStatus};
pub use launcher::{Launcher, build_runtime, exit_code_of};
pub use pidfile::PidFile;
pub use reload::ReloadCounts;
pub use restart::{RestartLimit, RestartPolicy};
pub use shutdown::ShutdownHandle;
pub use signal::SignalConfig;
pub use subsystem::{Subsystem, SubsystemFn, SubsystemState};

/// The only door from macro-generated code into the runtime. Not a public API: it changes
/// without notice.
#[doc(hidden)]
pub mod __private {
    pub use std::boxed::Box;
    pub use std::time::Duration;

    pub use crate::launcher::Launcher;
    pub use crate::private::{
        AsyncCheck, ErrorSlot, IntoHealthCheck, SyncCheck, ViaInto, ViaStdError, detached_context,
        health_check, run_blocking,
    };
    pub use crate::subsystem::{HealthCheck, RunFuture};
    pub use crate::{
        Config, Context, DaemonBuilder, Error, RestartLimit, RestartPolicy, Result, ShutdownHandle,
        Subsystem,
    };
}

/// The README's code blocks, compiled as doctests so they cannot drift from the API.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
