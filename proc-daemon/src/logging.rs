//! The daemon's log output: a `tracing` subscriber on standard error, installed only when the
//! application has not installed its own.

use std::io::IsTerminal;

use tracing_subscriber::filter::LevelFilter;

use crate::config::{Config, LogLevel};

const fn level_filter(level: LogLevel) -> LevelFilter {
    match level {
        LogLevel::Trace => LevelFilter::TRACE,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Error => LevelFilter::ERROR,
    }
}

/// Installs the global subscriber configured by `[logging]`. Returns `false`, and changes
/// nothing, when a global subscriber is already installed (the application's own wins).
///
/// ```
/// let config = proc_daemon::Config::default();
/// proc_daemon::logging::init(&config);
/// assert!(!proc_daemon::logging::init(&config)); // already installed
/// ```
pub fn init(config: &Config) -> bool {
    if tracing::dispatcher::has_been_set() {
        return false;
    }
    let logging = &config.logging;
    let color = logging.color && std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level_filter(logging.level))
        .with_ansi(color)
        .with_target(false);
    #[cfg(feature = "json-logs")]
    if logging.json {
        return builder.json().try_init().is_ok();
    }
    builder.try_init().is_ok()
}
