//! Reading the configuration: defaults < TOML file < environment, then validation.

use std::path::{Path, PathBuf};

use super::Config;
use crate::{Error, Result};

pub(crate) const DEFAULT_ENV_PREFIX: &str = "DAEMON";

/// Where an effective configuration came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigSource {
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// The dotted keys the file sets (`shutdown.timeout_ms`, `app.port`, ...).
    pub file_keys: Vec<String>,
    /// The environment variables that overrode a value, in the order applied.
    pub env: Vec<EnvOverride>,
}

/// One environment variable that overrode a configuration key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvOverride {
    /// The variable, e.g. `DAEMON_SHUTDOWN_TIMEOUT_MS`.
    pub variable: String,
    /// The key it set, e.g. `shutdown.timeout_ms` or `app.port`.
    pub key: String,
}

type Apply = fn(&mut Config, &str) -> Result<(), String>;

/// Every key the environment can set: `<PREFIX>_<SUFFIX>`, the suffix being the dotted key in
/// upper snake case, so keys that contain `_` stay reachable.
const ENV_KEYS: &[(&str, Apply)] = &[
    ("name", |c, v| {
        c.name = v.to_owned().into();
        Ok(())
    }),
    ("logging.level", |c, v| {
        c.logging.level = super::LogFilter::parse(v)?;
        Ok(())
    }),
    ("logging.json", |c, v| {
        c.logging.json = parse_bool(v)?;
        Ok(())
    }),
    ("logging.color", |c, v| {
        c.logging.color = parse_bool(v)?;
        Ok(())
    }),
    ("logging.file", |c, v| {
        c.logging.file = (!v.is_empty()).then(|| PathBuf::from(v));
        Ok(())
    }),
    ("logging.max_file_size", |c, v| {
        c.logging.max_file_size = parse_int(v)?;
        Ok(())
    }),
    ("logging.max_files", |c, v| {
        c.logging.max_files = parse_int(v)?;
        Ok(())
    }),
    ("shutdown.timeout_ms", |c, v| {
        c.shutdown.timeout_ms = parse_int(v)?;
        Ok(())
    }),
    ("shutdown.force_timeout_ms", |c, v| {
        c.shutdown.force_timeout_ms = parse_int(v)?;
        Ok(())
    }),
    ("shutdown.kill_timeout_ms", |c, v| {
        c.shutdown.kill_timeout_ms = parse_int(v)?;
        Ok(())
    }),
    ("performance.worker_threads", |c, v| {
        c.performance.worker_threads = parse_int(v)?;
        Ok(())
    }),
    ("performance.nice", |c, v| {
        c.performance.nice = if v.trim().is_empty() {
            None
        } else {
            Some(
                v.trim()
                    .parse()
                    .map_err(|_| "expected an integer from -20 to 19".to_owned())?,
            )
        };
        Ok(())
    }),
    ("performance.cpu_affinity", |c, v| {
        c.performance.cpu_affinity = parse_cpu_list(v)?;
        Ok(())
    }),
    ("performance.thread_pinning", |c, v| {
        c.performance.thread_pinning = parse_bool(v)?;
        Ok(())
    }),
    ("monitoring.health_checks", |c, v| {
        c.monitoring.health_checks = parse_bool(v)?;
        Ok(())
    }),
    ("monitoring.health_check_interval_ms", |c, v| {
        c.monitoring.health_check_interval_ms = parse_int(v)?;
        Ok(())
    }),
    ("monitoring.health_check_failures", |c, v| {
        c.monitoring.health_check_failures = parse_int(v)?;
        Ok(())
    }),
    ("admin.bind", |c, v| {
        let bind = v
            .trim()
            .parse()
            .map_err(|_| "expected an address and port, like 127.0.0.1:9090".to_owned())?;
        c.admin = Some(super::AdminConfig { bind });
        Ok(())
    }),
    ("ipc.enabled", |c, v| {
        c.ipc.enabled = parse_bool(v)?;
        Ok(())
    }),
    ("ipc.socket", |c, v| {
        c.ipc.socket = (!v.is_empty()).then(|| PathBuf::from(v));
        Ok(())
    }),
    ("hot_reload", |c, v| {
        c.hot_reload = parse_bool(v)?;
        Ok(())
    }),
    ("monitoring.enable_metrics", |c, v| {
        c.monitoring.enable_metrics = parse_bool(v)?;
        Ok(())
    }),
    ("monitoring.track_resources", |c, v| {
        c.monitoring.track_resources = parse_bool(v)?;
        Ok(())
    }),
    ("monitoring.metrics_interval_ms", |c, v| {
        c.monitoring.metrics_interval_ms = parse_int(v)?;
        Ok(())
    }),
    ("pid_file", |c, v| {
        c.pid_file = (!v.is_empty()).then(|| PathBuf::from(v));
        Ok(())
    }),
];

fn env_name(prefix: &str, key: &str) -> String {
    format!("{prefix}_{}", key.replace('.', "_").to_ascii_uppercase())
}

/// A CPU list as the kernel writes it: `0,2,4-7`; empty for none.
fn parse_cpu_list(value: &str) -> Result<Vec<usize>, String> {
    let expected = || format!("expected CPU numbers and ranges like \"0,2,4-7\", found {value:?}");
    let mut cpus = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let cpu = |s: &str| s.trim().parse::<usize>().map_err(|_| expected());
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (cpu(first)?, cpu(last)?);
                if first > last {
                    return Err(expected());
                }
                cpus.extend(first..=last);
            }
            None => cpus.push(cpu(part)?),
        }
    }
    Ok(cpus)
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected a boolean (true/false, 1/0, yes/no, on/off)".to_owned()),
    }
}

fn parse_int<T: std::str::FromStr>(value: &str) -> Result<T, String> {
    value
        .trim()
        .parse()
        .map_err(|_| "expected a non-negative integer".to_owned())
}

pub(crate) fn load(path: Option<&Path>, env_prefix: &str) -> Result<(Config, ConfigSource)> {
    let (mut config, file_keys) = match path {
        Some(path) => parse_file(path)?,
        None => (Config::default(), Vec::new()),
    };
    let env = apply_env(&mut config, env_prefix)?;
    config.validate()?;
    Ok((
        config,
        ConfigSource {
            file: path.map(Path::to_path_buf),
            file_keys,
            env,
        },
    ))
}

fn parse_file(path: &Path) -> Result<(Config, Vec<String>)> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Error::config(format!("{}: cannot read: {err}", path.display())))?;
    let config = parse_str(&path.display().to_string(), &text)?;
    // Parsed a second time as a plain table only to learn which keys the file sets; it parsed
    // as a `Config` already, so this cannot fail.
    let table: toml::Table = toml::from_str(&text).unwrap_or_default();
    let keys = flatten(&table).into_iter().map(|(key, _)| key).collect();
    Ok((config, keys))
}

/// Every value of a table with its dotted key (`a.b.c`), depth first.
pub(crate) fn flatten(table: &toml::Table) -> Vec<(String, &toml::Value)> {
    fn walk<'a>(prefix: &str, table: &'a toml::Table, out: &mut Vec<(String, &'a toml::Value)>) {
        for (key, value) in table {
            let dotted = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                toml::Value::Table(inner) => walk(&dotted, inner, out),
                _ => out.push((dotted, value)),
            }
        }
    }
    let mut out = Vec::new();
    walk("", table, &mut out);
    out
}

/// Parses TOML text; `origin` names it in errors.
pub(crate) fn parse_str(origin: &str, text: &str) -> Result<Config> {
    toml::from_str(text).map_err(|err| Error::config(describe_toml_error(origin, text, &err)))
}

/// The sections whose variables are all ours: an unknown `<PREFIX>_SHUTDOWN_...` is a typo.
const SECTIONS: [&str; 6] = [
    "logging",
    "shutdown",
    "performance",
    "monitoring",
    "admin",
    "ipc",
];

fn apply_env(config: &mut Config, prefix: &str) -> Result<Vec<EnvOverride>> {
    // One pass over the environment: only our variables, in a stable order.
    let mut ours: Vec<(String, std::ffi::OsString)> = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
        .filter(|(name, _)| name.starts_with(prefix) && name[prefix.len()..].starts_with('_'))
        .collect();
    ours.sort();
    let mut applied = Vec::new();
    for &(key, apply) in ENV_KEYS {
        let variable = env_name(prefix, key);
        let Some(at) = ours.iter().position(|(name, _)| *name == variable) else {
            continue;
        };
        let (variable, raw) = ours.remove(at);
        let value = utf8(&variable, &raw)?;
        apply(config, value)
            .map_err(|problem| Error::config(format!("{variable}={value:?}: {key}: {problem}")))?;
        applied.push(EnvOverride {
            variable,
            key: key.to_owned(),
        });
    }
    let app_prefix = format!("{prefix}_APP_");
    for (variable, raw) in ours {
        if let Some(key) = variable.strip_prefix(&app_prefix) {
            let key = key.to_ascii_lowercase();
            let value = utf8(&variable, &raw)?;
            config.app.insert(key.clone(), app_value(value));
            applied.push(EnvOverride {
                variable,
                key: format!("app.{key}"),
            });
            continue;
        }
        let in_our_section = SECTIONS.iter().any(|section| {
            variable.starts_with(&format!("{prefix}_{}_", section.to_ascii_uppercase()))
        });
        if in_our_section {
            let suggestion = ENV_KEYS
                .iter()
                .map(|(key, _)| env_name(prefix, key))
                .map(|known| (edit_distance(&variable, &known), known))
                .filter(|&(distance, _)| distance <= 3)
                .min_by_key(|&(distance, _)| distance)
                .map(|(_, known)| format!(" (did you mean {known}?)"))
                .unwrap_or_default();
            return Err(Error::config(format!(
                "{variable}: unknown configuration variable{suggestion}"
            )));
        }
    }
    Ok(applied)
}

fn utf8<'a>(variable: &str, raw: &'a std::ffi::OsStr) -> Result<&'a str> {
    raw.to_str()
        .ok_or_else(|| Error::config(format!("{variable}={raw:?}: value is not valid UTF-8")))
}

/// An `[app]` value from the environment: a TOML integer, float or boolean if it reads as one,
/// otherwise the string itself.
fn app_value(value: &str) -> toml::Value {
    let trimmed = value.trim();
    if let Ok(int) = trimmed.parse::<i64>() {
        return int.into();
    }
    if let Ok(float) = trimmed.parse::<f64>() {
        return float.into();
    }
    match trimmed {
        "true" => true.into(),
        "false" => false.into(),
        _ => value.into(),
    }
}

/// `origin:line:column: key.path: message`, plus a "did you mean" for a misspelt key.
fn describe_toml_error(origin: &str, text: &str, err: &toml::de::Error) -> String {
    let mut out = origin.to_owned();
    if let Some(span) = err.span() {
        let (line, column) = line_column(text, span.start);
        out.push_str(&format!(":{line}:{column}"));
    }
    if let Some(keys) = key_path(err) {
        out.push_str(": ");
        out.push_str(&keys);
    }
    out.push_str(": ");
    out.push_str(&plain_types(err.message()));
    if let Some(suggestion) = suggest_field(err.message()) {
        out.push_str(&format!(" (did you mean `{suggestion}`?)"));
    }
    out
}

/// serde names Rust types ("expected u64", "expected struct ShutdownConfig"); users wrote TOML,
/// so name TOML's.
fn plain_types(message: &str) -> String {
    let mut text = ["u64", "u32", "usize", "u16", "u8"]
        .iter()
        .fold(message.to_owned(), |text, ty| {
            text.replace(&format!("expected {ty}"), "expected a non-negative integer")
        });
    if let Some(at) = text.find("expected struct ") {
        text.truncate(at);
        text.push_str("expected a table");
    }
    text.replace("expected a map", "expected a table")
        .replace("expected path string", "expected a path string")
}

/// The dotted key an error is about. `toml` prints it only when it has no input to quote, so
/// ask it for that rendering.
fn key_path(err: &toml::de::Error) -> Option<String> {
    let mut bare = err.clone();
    bare.set_input(None);
    let rendered = bare.to_string();
    let line = rendered.lines().find_map(|l| l.strip_prefix("in `"))?;
    Some(line.trim_end_matches('`').to_owned())
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// For serde's "unknown field `x`, expected one of `a`, `b`": the closest valid name.
fn suggest_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    let (unknown, expected) = rest.split_once('`')?;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|candidate| (edit_distance(unknown, candidate), candidate))
        .filter(|&(distance, candidate)| distance <= candidate.len().max(unknown.len()) / 3 + 1)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        parse_str("daemon.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn file_errors_carry_line_column_and_key() {
        let err = error_of("name = \"x\"\n\n[shutdown]\ntimeout_ms = \"abc\"\n");
        assert!(err.starts_with("invalid configuration: daemon.toml:4:14: shutdown.timeout_ms: invalid type: string \"abc\", expected a non-negative integer"), "{err}");
    }

    #[test]
    fn unknown_keys_get_a_suggestion() {
        let err = error_of("[shutdown]\ntimout_ms = 5\n");
        assert!(err.contains("daemon.toml:2:1"), "{err}");
        assert!(err.contains("unknown field `timout_ms`"), "{err}");
        assert!(err.contains("(did you mean `timeout_ms`?)"), "{err}");
        let err = error_of("[loging]\nlevel = \"info\"\n");
        assert!(err.contains("(did you mean `logging`?)"), "{err}");
    }

    #[test]
    fn malformed_toml_points_at_the_spot() {
        let err = error_of("name = \"x\"\n[shutdown\n");
        assert!(err.contains("daemon.toml:2:"), "{err}");
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(
            suggest_field("unknown field `zzzzzz`, expected `name`"),
            None
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn env_names_keep_underscores_in_keys() {
        assert_eq!(
            env_name("DAEMON", "shutdown.timeout_ms"),
            "DAEMON_SHUTDOWN_TIMEOUT_MS"
        );
        assert_eq!(env_name("APP", "pid_file"), "APP_PID_FILE");
    }

    #[test]
    fn app_values_from_the_environment_keep_their_type() {
        assert_eq!(app_value("8080"), toml::Value::Integer(8080));
        assert_eq!(app_value("0.5"), toml::Value::Float(0.5));
        assert_eq!(app_value("true"), toml::Value::Boolean(true));
        assert_eq!(
            app_value("https://x"),
            toml::Value::String("https://x".into())
        );
    }

    mod overlays {
        use proptest::prelude::*;

        const KEYS: &[&str] = &[
            "name",
            "hot_reload",
            "pid_file",
            "logging.level",
            "logging.json",
            "logging.color",
            "logging.file",
            "logging.max_file_size",
            "logging.max_files",
            "shutdown.timeout_ms",
            "shutdown.force_timeout_ms",
            "shutdown.kill_timeout_ms",
            "performance.worker_threads",
            "performance.nice",
            "performance.cpu_affinity",
            "performance.thread_pinning",
            "monitoring.health_checks",
            "monitoring.health_check_interval_ms",
            "monitoring.health_check_failures",
            "app.port",
            "app.nested.deep",
            "bogus",
            "shutdown.bogus",
        ];

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<i64>().prop_map(|n| n.to_string()),
                any::<bool>().prop_map(|b| b.to_string()),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(|f| format!("{f:?}")),
                "[a-z ,=._/\\-]{0,20}".prop_map(|s| format!("{s:?}")),
                Just("[1, 2]".to_owned()),
                Just("{ a = 1 }".to_owned()),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Whatever keys and values a file sets, loading returns a config or an error that
            /// names the origin; it never panics.
            #[test]
            fn random_overlays_never_panic(entries in proptest::collection::vec((0..KEYS.len(), value()), 0..8)) {
                let text: String = entries
                    .iter()
                    .map(|(key, value)| format!("{} = {value}\n", KEYS[*key]))
                    .collect();
                match crate::Config::from_toml_str("fuzz.toml", &text) {
                    Ok(config) => prop_assert!(config.validate().is_ok()),
                    Err(err) => prop_assert!(err.to_string().contains("invalid configuration"), "{}", err),
                }
            }

            /// Arbitrary text: never a panic.
            #[test]
            fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
                let _ = crate::Config::from_toml_str("fuzz.toml", &text);
            }
        }
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé\nx", 6), (2, 3));
        assert_eq!(line_column("", 0), (1, 1));
    }
}
