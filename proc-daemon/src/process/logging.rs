//! The daemon's log output: a `tracing` subscriber on standard error whose filter follows
//! `logging.level` (reloadable) unless `RUST_LOG` is set. Installed only when the application
//! has not installed its own subscriber. The filter syntax is `config::log_filter`'s.

use std::io::IsTerminal;
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::fmt::writer::BoxMakeWriter;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Registry, reload};

use crate::config::{Filter, parse_filter};
use crate::{Config, LogLevel};

static FILTER: OnceLock<reload::Handle<Filter, Registry>> = OnceLock::new();

/// Keeps the log file's writer thread alive; dropping it flushes every pending line.
static FILE_WRITER: Mutex<Option<crate::process::log_writer::Writer>> = Mutex::new(None);

/// How long the exit waits for queued lines to reach the log file.
const FLUSH_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

/// `RUST_LOG` if set and valid, else `logging.level`.
fn filter_for(config: &Config) -> Filter {
    if let Ok(filter) = std::env::var("RUST_LOG")
        && !filter.trim().is_empty()
    {
        match parse_filter(&filter) {
            Ok(filter) => return filter,
            Err(err) => crate::process::output::err_line(&format!(
                "RUST_LOG={filter:?} is invalid ({err}); using logging.level"
            )),
        }
    }
    // `logging.level` was validated with the configuration.
    parse_filter(config.logging.level.as_str())
        .or_else(|_| parse_filter(LogLevel::Info.as_str()))
        .expect("a level name is a valid filter")
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
    let (filter, handle) = reload::Layer::new(filter_for(config));
    let (writer, guard, color) = match &logging.file {
        Some(path) => {
            // Lines are handed to a writer thread; a burst waits rather than drops lines.
            let file = crate::process::log_file::LogFile::new(
                path.clone(),
                logging.max_file_size,
                logging.max_files,
            );
            match crate::process::log_writer::start(file) {
                Ok((queue, writer)) => (
                    BoxMakeWriter::new(move || queue.clone()),
                    Some(writer),
                    false,
                ),
                Err(err) => {
                    crate::process::output::err_line(&format!(
                        "proc-daemon: cannot start the log writer for {}: {err}; logging to standard error",
                        path.display()
                    ));
                    (
                        BoxMakeWriter::new(std::io::stderr),
                        None,
                        colour_on_stderr(config),
                    )
                }
            }
        }
        None => (
            BoxMakeWriter::new(std::io::stderr),
            None,
            colour_on_stderr(config),
        ),
    };
    let (text_writer, json_writer) = if logging.json {
        (None, Some(writer))
    } else {
        (Some(writer), None)
    };
    let text = text_writer.map(|writer| {
        tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(color)
            .with_target(false)
    });
    #[cfg(feature = "json-logs")]
    let json =
        json_writer.map(|writer| tracing_subscriber::fmt::layer().json().with_writer(writer));
    #[cfg(not(feature = "json-logs"))]
    drop(json_writer);
    #[cfg(not(feature = "json-logs"))]
    let json: Option<tracing_subscriber::layer::Identity> = None;
    let subscriber = Registry::default().with(filter).with(text).with(json);
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        return false;
    }
    let _ = FILTER.set(handle);
    *crate::lock::mutex(&FILE_WRITER) = guard;
    true
}

/// Whether output on standard error is coloured: it is a terminal, `logging.color` is on, and
/// `NO_COLOR` (<https://no-color.org>) is not set.
pub(crate) fn colour_on_stderr(config: &Config) -> bool {
    config.logging.color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal()
}

/// Writes out every pending line of the log file (the process is about to exit), or says on
/// standard error how many could not be written.
pub(crate) fn flush() {
    if let Ok(guard) = FILE_WRITER.try_lock()
        && let Some(writer) = guard.as_ref()
    {
        writer.finish(FLUSH_BUDGET);
    }
}

/// Whether logs go to a file (so SIGUSR1 has something to reopen).
pub(crate) fn writes_to_file() -> bool {
    FILE_WRITER
        .lock()
        .map(|guard| guard.is_some())
        .unwrap_or(false)
}

/// Applies a reloaded `[logging]` level to the installed subscriber (if it is ours and
/// `RUST_LOG` does not override it).
pub(crate) fn apply(config: &Config) {
    if let Some(handle) = FILTER.get()
        && std::env::var_os("RUST_LOG").is_none_or(|v| v.is_empty())
        && let Err(err) = handle.reload(filter_for(config))
    {
        tracing::warn!(
            "could not apply logging.level {:?}: {err}",
            config.logging.level
        );
    }
}
