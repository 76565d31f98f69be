//! `logging.level` values: a level name or `tracing` filter directives, checked when the
//! configuration is read so that a bad value is reported with its file, line and column.
//!
//! Filters are `target=level` directives (`"info,my_crate=debug"`), parsed by
//! `tracing_subscriber`'s `Targets`. The `env-filter` feature switches to `EnvFilter` and its
//! full syntax (span and field directives such as `my_crate[request{id=7}]=trace`), at the
//! price of a regex engine in the binary (about 330 KB stripped).

use serde::{Deserialize, Serialize};

use super::LogLevel;

/// The filter type the subscriber uses.
#[cfg(feature = "env-filter")]
pub(crate) type Filter = tracing_subscriber::EnvFilter;
#[cfg(not(feature = "env-filter"))]
pub(crate) type Filter = tracing_subscriber::filter::Targets;

#[cfg(feature = "env-filter")]
pub(crate) fn parse_filter(directives: &str) -> Result<Filter, String> {
    Filter::builder()
        .parse(directives)
        .map_err(|err| err.to_string())
}

#[cfg(not(feature = "env-filter"))]
pub(crate) fn parse_filter(directives: &str) -> Result<Filter, String> {
    // `Targets` would take `my_crate[span]` for a target name and silently match nothing.
    if directives.contains(['[', '{']) {
        return Err("span and field directives need proc-daemon's `env-filter` feature".to_owned());
    }
    directives.parse::<Filter>().map_err(|err| err.to_string())
}

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

/// A `logging.level` value: a level name or `tracing` filter directives, checked when it is
/// read, so a bad value is reported with its file, line and column.
///
/// ```
/// use proc_daemon::LogFilter;
///
/// assert_eq!(LogFilter::parse("info,my_crate=debug").unwrap().as_str(), "info,my_crate=debug");
/// assert!(LogFilter::parse("loud").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct LogFilter(String);

impl LogFilter {
    /// Checks and wraps a filter.
    ///
    /// # Errors
    /// What is wrong with it.
    pub fn parse(filter: &str) -> Result<Self, String> {
        check_filter(filter)?;
        Ok(Self(filter.trim().to_owned()))
    }

    /// The filter text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<LogLevel> for LogFilter {
    fn from(level: LogLevel) -> Self {
        Self(level.as_str().to_owned())
    }
}

impl std::fmt::Display for LogFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for LogFilter {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
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
