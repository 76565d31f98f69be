//! `--print-config`: the effective configuration as TOML, each value annotated with where it
//! came from.

use std::fmt::Write as _;

use super::{Config, ConfigSource};

impl Config {
    /// This configuration as TOML; every key carries a comment naming its origin in `source`:
    /// `default`, `file <path>`, or `env <VARIABLE>`. What `--print-config` prints.
    ///
    /// ```
    /// use proc_daemon::{Config, ConfigSource};
    ///
    /// let text = Config::default().render_with_origins(&ConfigSource::default());
    /// assert!(text.contains("timeout_ms = 5000  # default"));
    /// ```
    #[must_use]
    pub fn render_with_origins(&self, source: &ConfigSource) -> String {
        render(self, source)
    }
}

fn render(config: &Config, source: &ConfigSource) -> String {
    let Ok(toml::Value::Table(table)) = toml::Value::try_from(config) else {
        return String::new();
    };
    let origin = |key: &str| -> String {
        if source.derived.iter().any(|k| k == key) {
            return "derived from the deadline before it".to_owned();
        }
        if let Some(env) = source.env.iter().rev().find(|o| o.key == key) {
            return format!("env {}", env.variable);
        }
        match &source.file {
            Some(file) if source.file_keys.iter().any(|k| k == key) => {
                format!("file {}", file.display())
            }
            _ => "default".to_owned(),
        }
    };
    let mut out = String::new();
    let (sections, scalars): (Vec<_>, Vec<_>) =
        table.iter().partition(|(_, value)| value.is_table());
    for (key, value) in scalars {
        let _ = writeln!(out, "{key} = {value}  # {}", origin(key));
    }
    for (section, value) in sections {
        let toml::Value::Table(inner) = value else {
            continue;
        };
        let _ = writeln!(out, "\n[{section}]");
        for (key, value) in super::load::flatten(inner) {
            let _ = writeln!(
                out,
                "{key} = {value}  # {}",
                origin(&format!("{section}.{key}"))
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::EnvOverride;

    #[test]
    fn every_value_names_its_origin() {
        let mut config = Config::default();
        config.shutdown.timeout_ms = 3000;
        config.logging.level = crate::LogLevel::Debug.into();
        config.app.insert("port".into(), 8080.into());
        let source = ConfigSource {
            file: Some("daemon.toml".into()),
            file_keys: vec!["shutdown.timeout_ms".into(), "app.port".into()],
            env: vec![EnvOverride {
                variable: "DAEMON_LOGGING_LEVEL".into(),
                key: "logging.level".into(),
            }],
            derived: vec!["shutdown.kill_timeout_ms".into()],
        };
        let text = config.render_with_origins(&source);
        assert!(
            text.contains("kill_timeout_ms = 15000  # derived from the deadline before it"),
            "{text}"
        );
        assert!(
            text.contains("timeout_ms = 3000  # file daemon.toml"),
            "{text}"
        );
        assert!(
            text.contains("level = \"debug\"  # env DAEMON_LOGGING_LEVEL"),
            "{text}"
        );
        assert!(
            text.contains("force_timeout_ms = 10000  # default"),
            "{text}"
        );
        assert!(
            text.contains("[app]\nport = 8080  # file daemon.toml"),
            "{text}"
        );
        // The output is TOML a daemon can read back.
        let stripped: String = text
            .lines()
            .map(|l| l.split("  #").next().unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            crate::config::load::parse_str("printed", &stripped).unwrap(),
            config
        );
    }
}
