//! Reading the configuration: defaults < TOML file < environment, then validation.

use std::path::{Path, PathBuf};

use super::diagnostics::describe_toml_error;
use super::env::{EnvOverride, apply_env};

use super::Config;
use crate::{Error, Result};

/// Where an effective configuration came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigSource {
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// The dotted keys the file sets (`shutdown.timeout_ms`, `app.port`, ...).
    pub file_keys: Vec<String>,
    /// The environment variables that overrode a value, in the order applied.
    pub env: Vec<EnvOverride>,
    /// Keys set by no one whose value follows from one that was (`shutdown.force_timeout_ms`
    /// after `shutdown.timeout_ms`).
    pub derived: Vec<String>,
}

impl ConfigSource {
    /// Whether the file or the environment sets the daemon's name.
    pub(crate) fn sets_name(&self) -> bool {
        self.file_keys.iter().any(|k| k == "name") || self.env.iter().any(|o| o.key == "name")
    }
}

pub(crate) fn load(path: Option<&Path>, env_prefix: &str) -> Result<(Config, ConfigSource)> {
    let (mut config, file_keys) = match path {
        Some(path) => parse_file(path)?,
        None => (Config::default(), Vec::new()),
    };
    let env = apply_env(&mut config, env_prefix)?;
    let derived = super::deadlines::derive_unset(&mut config, |key| {
        file_keys.iter().any(|k| k == key) || env.iter().any(|o| o.key == key)
    });
    config.validate()?;
    Ok((
        config,
        ConfigSource {
            file: path.map(Path::to_path_buf),
            file_keys,
            derived,
            env,
        },
    ))
}

/// The largest configuration file read. A configuration is a few KiB; more is a mistake (a
/// log file named by `--config`, say), and reading it must not exhaust memory.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Reads a configuration file: a regular file of at most [`MAX_CONFIG_BYTES`]. A FIFO, device,
/// socket or directory is refused without reading (or, for a FIFO, waiting for a writer).
pub(crate) fn read_config_file(path: &Path) -> Result<String> {
    use std::io::Read as _;
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};

    let fail = |problem: String| Error::config(format!("{}: {problem}", path.display()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        // Opening a FIFO for reading would block until a writer appears; on a regular file
        // the flag changes nothing.
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|err| fail(format!("cannot read: {err}")))?;
    let meta = file
        .metadata()
        .map_err(|err| fail(format!("cannot read: {err}")))?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(fail(format!(
            "is {what}; the configuration must be a regular file"
        )));
    }
    let too_big = || {
        fail(format!(
            "is larger than {MAX_CONFIG_BYTES} bytes (1 MiB), the most a configuration file may hold"
        ))
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|err| fail(format!("cannot read: {err}")))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    Ok(text)
}

fn parse_file(path: &Path) -> Result<(Config, Vec<String>)> {
    let text = read_config_file(path)?;
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
}
