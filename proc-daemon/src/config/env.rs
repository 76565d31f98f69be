//! The environment layer: `<PREFIX>_<SECTION>_<KEY>` variables, the key in upper snake case
//! (so keys that contain `_` stay reachable), applied over the file. A variable in one of our
//! sections that names no key is a typo, reported with the closest known name.

use std::path::PathBuf;

use super::Config;
use crate::{Error, Result};

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
    ("performance.memory_pool_size", |c, v| {
        c.performance.memory_pool_size = parse_int(v)?;
        Ok(())
    }),
    ("performance.numa_aware", |c, v| {
        c.performance.numa_aware = parse_bool(v)?;
        Ok(())
    }),
    ("performance.lock_free", |c, v| {
        c.performance.lock_free = parse_bool(v)?;
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
    ("process.max_open_files", |c, v| {
        c.process.max_open_files = Some(parse_int(v)?);
        Ok(())
    }),
    ("process.user", |c, v| {
        c.process.user = (!v.is_empty()).then(|| v.to_owned());
        Ok(())
    }),
    ("process.group", |c, v| {
        c.process.group = (!v.is_empty()).then(|| v.to_owned());
        Ok(())
    }),
    ("process.umask", |c, v| {
        c.process.umask = (!v.is_empty()).then(|| v.to_owned());
        Ok(())
    }),
    ("process.working_directory", |c, v| {
        c.process.working_directory = (!v.is_empty()).then(|| PathBuf::from(v));
        Ok(())
    }),
    ("process.upgrade_timeout_ms", |c, v| {
        c.process.upgrade_timeout_ms = parse_int(v)?;
        Ok(())
    }),
    ("cluster.backend", |c, v| {
        c.cluster.get_or_insert_with(Default::default).backend = v.to_owned();
        Ok(())
    }),
    ("cluster.endpoints", |c, v| {
        c.cluster.get_or_insert_with(Default::default).endpoints = v
            .split(',')
            .map(|endpoint| endpoint.trim().to_owned())
            .filter(|endpoint| !endpoint.is_empty())
            .collect();
        Ok(())
    }),
    ("cluster.election", |c, v| {
        c.cluster.get_or_insert_with(Default::default).election =
            (!v.is_empty()).then(|| v.to_owned());
        Ok(())
    }),
    ("cluster.lease_ttl_ms", |c, v| {
        c.cluster.get_or_insert_with(Default::default).lease_ttl_ms = parse_int(v)?;
        Ok(())
    }),
    ("cluster.instance", |c, v| {
        c.cluster.get_or_insert_with(Default::default).instance =
            (!v.is_empty()).then(|| v.to_owned());
        Ok(())
    }),
    ("cluster.require_at_start", |c, v| {
        c.cluster
            .get_or_insert_with(Default::default)
            .require_at_start = parse_bool(v)?;
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
fn check_cpu(cpu: usize) -> Result<usize, String> {
    if cpu >= super::validate::MAX_CPUS {
        return Err(format!(
            "CPU {cpu} is out of range (at most {})",
            super::validate::MAX_CPUS - 1
        ));
    }
    Ok(cpu)
}

pub(crate) fn parse_cpu_list(value: &str) -> Result<Vec<usize>, String> {
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
                // Checked before the range is expanded: `0-4294967295` must not allocate.
                check_cpu(last)?;
                cpus.extend(first..=last);
            }
            None => cpus.push(check_cpu(cpu(part)?)?),
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

/// The sections whose variables are all ours: an unknown `<PREFIX>_SHUTDOWN_...` is a typo.
const SECTIONS: [&str; 8] = [
    "logging",
    "shutdown",
    "performance",
    "monitoring",
    "admin",
    "ipc",
    "process",
    "cluster",
];

pub(crate) fn apply_env(config: &mut Config, prefix: &str) -> Result<Vec<EnvOverride>> {
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
                .map(|known| (strsim::levenshtein(&variable, &known), known))
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

#[cfg(test)]
mod tests {
    use super::*;

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
            "performance.memory_pool_size",
            "performance.numa_aware",
            "performance.lock_free",
            "process.max_open_files",
            "process.user",
            "process.group",
            "process.umask",
            "process.working_directory",
            "process.upgrade_timeout_ms",
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
}
