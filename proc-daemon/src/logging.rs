//! The daemon's log output: a `tracing` subscriber on standard error whose filter follows
//! `logging.level` (reloadable) unless `RUST_LOG` is set. Installed only when the application
//! has not installed its own subscriber.
//!
//! Filters are `target=level` directives (`"info,my_crate=debug"`), parsed by
//! `tracing_subscriber`'s `Targets`. The `env-filter` feature switches to `EnvFilter` and its
//! full syntax (span and field directives such as `my_crate[request{id=7}]=trace`), at the
//! price of a regex engine in the binary (about 330 KB stripped).

use std::io::IsTerminal;
use std::sync::{Mutex, OnceLock};

use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Registry, reload};

use crate::config::{Config, LogLevel};

#[cfg(feature = "env-filter")]
type Filter = tracing_subscriber::EnvFilter;
#[cfg(not(feature = "env-filter"))]
type Filter = tracing_subscriber::filter::Targets;

static FILTER: OnceLock<reload::Handle<Filter, Registry>> = OnceLock::new();

#[cfg(feature = "env-filter")]
fn parse_filter(directives: &str) -> Result<Filter, String> {
    Filter::builder()
        .parse(directives)
        .map_err(|err| err.to_string())
}

#[cfg(not(feature = "env-filter"))]
fn parse_filter(directives: &str) -> Result<Filter, String> {
    // `Targets` would take `my_crate[span]` for a target name and silently match nothing.
    if directives.contains(['[', '{']) {
        return Err("span and field directives need proc-daemon's `env-filter` feature".to_owned());
    }
    directives.parse::<Filter>().map_err(|err| err.to_string())
}

/// Keeps the log file's writer thread alive; dropping it flushes every pending line.
static FILE_WRITER: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// Checks a `logging.level` value: a level name, or `tracing` filter directives.
///
/// ```
/// use proc_daemon::logging::check_filter;
///
/// assert!(check_filter("debug").is_ok());
/// assert!(check_filter("info,my_crate=trace").is_ok());
/// assert_eq!(
///     check_filter("loud").unwrap_err(),
///     "unknown log level \"loud\", expected one of trace, debug, info, warn, error \
///      (or directives such as \"info,my_crate=debug\")"
/// );
/// ```
///
/// # Errors
/// What is wrong with the value.
pub fn check_filter(level: &str) -> Result<(), String> {
    let level = level.trim();
    if !level.contains(['=', ',', '[', ':']) && !level.eq_ignore_ascii_case("off") {
        return level.parse::<LogLevel>().map(|_| ()).map_err(|_| {
            format!(
                "unknown log level {level:?}, expected one of {} (or directives such as \"info,my_crate=debug\")",
                LogLevel::NAMES.join(", ")
            )
        });
    }
    parse_filter(level)
        .map(|_| ())
        .map_err(|err| format!("invalid filter directives {level:?}: {err}"))
}

/// `RUST_LOG` if set and valid, else `logging.level`.
fn filter_for(config: &Config) -> Filter {
    if let Ok(filter) = std::env::var("RUST_LOG")
        && !filter.trim().is_empty()
    {
        match parse_filter(&filter) {
            Ok(filter) => return filter,
            Err(err) => eprintln!("RUST_LOG={filter:?} is invalid ({err}); using logging.level"),
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
            // Lines are handed to a writer thread; `lossy(false)` makes a burst wait rather than
            // drop lines.
            let file = crate::log_file::LogFile::new(
                path.clone(),
                logging.max_file_size,
                logging.max_files,
            );
            let (writer, guard): (NonBlocking, WorkerGuard) =
                NonBlockingBuilder::default().lossy(false).finish(file);
            (BoxMakeWriter::new(writer), Some(guard), false)
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
    *FILE_WRITER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = guard;
    true
}

/// Whether output on standard error is coloured: it is a terminal, `logging.color` is on, and
/// `NO_COLOR` (<https://no-color.org>) is not set.
pub(crate) fn colour_on_stderr(config: &Config) -> bool {
    config.logging.color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stderr().is_terminal()
}

/// Writes out every pending line of the log file (the process is about to exit). Later lines
/// are dropped, so call it last.
pub(crate) fn flush() {
    if let Ok(mut guard) = FILE_WRITER.try_lock() {
        drop(guard.take());
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

#[cfg(test)]
mod tests {
    use super::check_filter;

    #[test]
    fn target_directives_are_accepted() {
        for filter in [
            "warn",
            "info,my_crate=debug",
            "my_crate::module=trace",
            "off",
        ] {
            assert_eq!(check_filter(filter), Ok(()), "{filter}");
        }
    }

    #[cfg(not(feature = "env-filter"))]
    #[test]
    fn span_directives_need_the_env_filter_feature() {
        let err = check_filter("my_crate[request]=trace").unwrap_err();
        assert!(err.contains("env-filter"), "{err}");
    }

    #[cfg(feature = "env-filter")]
    #[test]
    fn span_directives_work_with_the_env_filter_feature() {
        assert_eq!(check_filter("my_crate[request{id=7}]=trace"), Ok(()));
    }
}
