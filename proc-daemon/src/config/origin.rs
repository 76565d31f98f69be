//! Where a daemon's configuration comes from: the file, the prefix of the environment
//! overrides, and the name the program gave. One value, made once by whoever starts the daemon
//! (`#[daemon]`, [`Launcher`](crate::Launcher) or the builder) and read again by every reload.

use std::path::{Path, PathBuf};

use super::load::{ConfigSource, load};
use super::{AppCheck, Config};
use crate::Result;

/// The prefix of environment overrides unless the program chooses another.
pub(crate) const DEFAULT_ENV_PREFIX: &str = "DAEMON";

/// Shown where a file name would be when no file is read.
const NO_FILE: &str = "defaults and environment";

/// Where the configuration is read from, every time it is read.
#[derive(Clone, Debug)]
pub(crate) struct ConfigOrigin {
    /// The TOML file; `None` for defaults and environment only.
    pub(crate) path: Option<PathBuf>,
    /// Environment overrides are `<env_prefix>_<SECTION>_<KEY>`.
    pub(crate) env_prefix: String,
    /// The name used when neither the file nor the environment sets `name`.
    pub(crate) default_name: Option<String>,
    /// The application's `[app]` type, checked with the rest of the configuration.
    pub(crate) app_check: Option<AppCheck>,
}

impl Default for ConfigOrigin {
    fn default() -> Self {
        Self {
            path: None,
            env_prefix: DEFAULT_ENV_PREFIX.to_owned(),
            default_name: None,
            app_check: None,
        }
    }
}

impl ConfigOrigin {
    /// The file a process reads: `command_line` (`--config`), else `<env_prefix>_CONFIG`, else
    /// `in_code` (the `config = ...` of `#[daemon]`).
    pub(crate) fn chosen(
        in_code: Option<&Path>,
        command_line: Option<PathBuf>,
        env_prefix: &str,
    ) -> Option<PathBuf> {
        command_line
            .or_else(|| std::env::var_os(format!("{env_prefix}_CONFIG")).map(PathBuf::from))
            .or_else(|| in_code.map(Path::to_path_buf))
    }

    /// The file, or "defaults and environment", for messages.
    pub(crate) fn describe(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| NO_FILE.to_owned(), |path| path.display().to_string())
    }

    /// Defaults < file < environment, validated, with the program's name unless the file or
    /// the environment sets one; and which keys came from where.
    pub(crate) fn load(&self) -> Result<(Config, ConfigSource)> {
        let (mut config, source) = load(self.path.as_deref(), &self.env_prefix)?;
        if let Some(name) = &self.default_name
            && !source.sets_name()
        {
            config.name = name.clone().into();
        }
        if let Some(check) = self.app_check {
            let typed = check(&config).map_err(|fault| {
                // Read again (with the same limits) only to place the fault.
                let text = source
                    .file
                    .as_deref()
                    .and_then(|path| super::load::read_config_file(path).ok());
                fault.placed(&self.describe(), text.as_deref(), &source)
            })?;
            config.set_typed_app(typed);
        }
        Ok((config, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_name_applies_unless_the_file_sets_one() {
        let dir = std::env::temp_dir().join(format!("proc-daemon-origin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let unnamed = dir.join("unnamed.toml");
        let named = dir.join("named.toml");
        std::fs::write(&unnamed, "").unwrap();
        std::fs::write(&named, "name = \"from-file\"\n").unwrap();
        let origin = |path: &Path| ConfigOrigin {
            path: Some(path.to_path_buf()),
            env_prefix: "PROC_DAEMON_ORIGIN_TEST".to_owned(),
            default_name: Some("program".to_owned()),
            app_check: None,
        };
        assert_eq!(origin(&unnamed).load().unwrap().0.name, "program");
        assert_eq!(origin(&named).load().unwrap().0.name, "from-file");
        assert_eq!(origin(&named).describe(), named.display().to_string());
        assert_eq!(
            ConfigOrigin::default().describe(),
            "defaults and environment"
        );
    }
}
