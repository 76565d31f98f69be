//! The operating-system process around the daemon: the command line, signals, the PID file,
//! logging, systemd's protocol, the shutdown watchdog and exit paths, the configuration file
//! watch and reload, the tokio runtime and scheduler hints, the global allocator; descriptors
//! inherited at start, listeners, the privilege drop and the upgrade to a new executable.

pub(crate) mod allocator;
pub(crate) mod cleanup;
pub(crate) mod cli;
pub(crate) mod inherited;
pub(crate) mod limits;
pub(crate) mod listeners;
pub(crate) mod log_file;
pub(crate) mod log_writer;
pub(crate) mod logging;
pub(crate) mod no_follow;
pub(crate) mod output;
pub(crate) mod pidfile;
pub(crate) mod privileges;
pub(crate) mod reload;
pub(crate) mod runtime;
#[cfg(feature = "scheduler-hints")]
pub mod scheduler;
pub(crate) mod signal;
#[cfg(feature = "ipc")]
pub(crate) mod socket_file;
#[cfg(any(feature = "admin", feature = "metrics"))]
pub(crate) mod stats;
pub(crate) mod systemd;
pub(crate) mod tuning;
pub(crate) mod upgrade;
pub(crate) mod watchdog;
#[cfg(feature = "config-watch")]
pub(crate) mod watcher;
