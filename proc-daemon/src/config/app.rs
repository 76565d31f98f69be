//! The `[app]` table as the application's own type: read on demand, or once per load for the
//! type the daemon declares (`#[daemon(app = T)]`) and kept beside the configuration, so
//! subsystems share it without parsing again. A value that does not fit is placed: the file's
//! line and column, or the environment variable that set it.

use std::any::Any;
use std::sync::Arc;

use super::Config;
use super::load::ConfigSource;
use crate::{Error, Result};

/// The declared settings type's value, parsed from the `[app]` table it sits beside. Not part
/// of what a configuration *is*: equal, printed and serialised as if absent.
#[derive(Clone, Default)]
pub(crate) struct TypedApp(Option<Arc<dyn Any + Send + Sync>>);

impl TypedApp {
    /// The value, if it is a `T`.
    pub(crate) fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.0.clone()?.downcast::<T>().ok()
    }
}

impl std::fmt::Debug for TypedApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "TypedApp" } else { "None" })
    }
}

impl PartialEq for TypedApp {
    fn eq(&self, _: &Self) -> bool {
        // It follows from `app`, which is compared.
        true
    }
}

/// Why `[app]` does not fit the settings type: the dotted key under `app` (empty for the
/// table itself, as for a missing field) and serde's words.
#[derive(Debug)]
pub(crate) struct AppFault {
    key: String,
    message: String,
}

impl AppFault {
    /// `app.port`, or `app` for the table.
    fn full_key(&self) -> String {
        if self.key.is_empty() {
            "app".to_owned()
        } else {
            format!("app.{}", self.key)
        }
    }

    /// `origin[:line:column]: app.key: problem`, or `VARIABLE="value": app.key: problem` when
    /// the environment set the value; `text` is the file's, when one was read.
    pub(crate) fn placed(&self, origin: &str, text: Option<&str>, source: &ConfigSource) -> Error {
        let key = self.full_key();
        let top = key.split('.').take(2).collect::<Vec<_>>().join(".");
        if let Some(set) = source.env.iter().rev().find(|o| o.key == top) {
            let value = std::env::var(&set.variable).unwrap_or_default();
            return Error::config(format!(
                "{}={value:?}: {key}: {}",
                set.variable, self.message
            ));
        }
        let place = text
            .and_then(|text| {
                let (line, column) = super::diagnostics::locate_key(text, &key)?;
                Some(format!(":{line}:{column}"))
            })
            .unwrap_or_default();
        Error::config(format!("{origin}{place}: {key}: {}", self.message))
    }
}

impl From<AppFault> for Error {
    fn from(fault: AppFault) -> Self {
        Self::config(format!("{}: {}", fault.full_key(), fault.message))
    }
}

/// Checks `[app]` against the settings type the daemon declares and parses it once.
pub(crate) type AppCheck = fn(&Config) -> std::result::Result<TypedApp, AppFault>;

/// The [`AppCheck`] of the settings type `T`.
pub(crate) fn app_check<T>(config: &Config) -> std::result::Result<TypedApp, AppFault>
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let value: T = config.read_app()?;
    Ok(TypedApp(Some(Arc::new(value))))
}

impl Config {
    /// Reads the `[app]` table as the application's own type.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct App { port: u16 }
    ///
    /// let mut config = proc_daemon::Config::default();
    /// config.app.insert("port".into(), 8080.into());
    /// assert_eq!(config.app::<App>().unwrap().port, 8080);
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] naming the `app.` key that does not fit `T`.
    pub fn app<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        Ok(self.read_app()?)
    }

    /// The `[app]` table as `T`, shared: when `T` is the type the daemon declares
    /// (`#[daemon(app = T)]`, `Launcher::app`, `DaemonBuilder::with_app`) this is the value
    /// parsed when this configuration was loaded — no parsing, one reference count — and
    /// otherwise it is parsed now, as [`app`](Self::app) does.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct App { port: u16 }
    ///
    /// let mut config = proc_daemon::Config::default();
    /// config.app.insert("port".into(), 8080.into());
    /// let app: std::sync::Arc<App> = config.settings().unwrap();
    /// assert_eq!(app.port, 8080);
    /// ```
    ///
    /// # Errors
    /// As [`app`](Self::app), when `T` is not the declared type and does not fit.
    pub fn settings<T>(&self) -> Result<Arc<T>>
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        match self.typed_app.get::<T>() {
            Some(parsed) => Ok(parsed),
            None => self.app().map(Arc::new),
        }
    }

    /// Parses `[app]` as `T` now and keeps the value, so [`settings::<T>`](Self::settings)
    /// shares it, as a daemon that declares `T` does with each configuration it loads — for
    /// a [`Context`](crate::Context) made by hand in a subsystem's test.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct App { port: u16 }
    ///
    /// let mut config = proc_daemon::Config::default();
    /// config.app.insert("port".into(), 8080.into());
    /// let config = config.with_settings::<App>().unwrap();
    /// let first = config.settings::<App>().unwrap();
    /// assert!(std::sync::Arc::ptr_eq(&first, &config.settings::<App>().unwrap()));
    /// ```
    ///
    /// # Errors
    /// As [`app`](Self::app).
    pub fn with_settings<T>(mut self) -> Result<Self>
    where
        T: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        self.typed_app = app_check::<T>(&self)?;
        Ok(self)
    }

    pub(crate) fn set_typed_app(&mut self, typed: TypedApp) {
        self.typed_app = typed;
    }

    fn read_app<T: serde::de::DeserializeOwned>(&self) -> std::result::Result<T, AppFault> {
        // Through TOML text, so the error names the key (`port`) as file errors do.
        let text = toml::to_string(&self.app).unwrap_or_default();
        toml::from_str(&text).map_err(|err| AppFault {
            key: super::diagnostics::key_path(&err).unwrap_or_default(),
            message: err.message().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct App {
        port: u16,
    }

    #[test]
    fn errors_name_the_section() {
        let mut config = Config::default();
        config.app.insert("port".into(), "high".into());
        let err = config.app::<App>().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid configuration: app.port: invalid type: string \"high\", expected u16"
        );
        config.app.clear();
        let err = config.app::<App>().unwrap_err().to_string();
        assert_eq!(err, "invalid configuration: app: missing field `port`");
    }

    #[test]
    fn the_declared_type_is_parsed_once_and_shared() {
        let mut config = Config::default();
        config.app.insert("port".into(), 8080.into());
        config.set_typed_app(app_check::<App>(&config).unwrap());
        let first = config.settings::<App>().unwrap();
        let second = config.clone().settings::<App>().unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        // Another type is parsed on demand.
        #[derive(serde::Deserialize)]
        struct Port {
            port: i64,
        }
        assert_eq!(config.settings::<Port>().unwrap().port, 8080);
        assert_eq!(
            config,
            Config {
                typed_app: TypedApp::default(),
                ..config.clone()
            }
        );
    }

    #[test]
    fn a_fault_names_the_file_position_or_the_variable() {
        let fault = AppFault {
            key: "port".to_owned(),
            message: "invalid type: string \"high\", expected u16".to_owned(),
        };
        let text = "name = \"x\"\n\n[app]\nport = \"high\"\n";
        let err = fault.placed("d.toml", Some(text), &ConfigSource::default());
        assert_eq!(
            err.to_string(),
            "invalid configuration: d.toml:4:8: app.port: invalid type: string \"high\", expected u16"
        );
        let err = fault.placed("d.toml", None, &ConfigSource::default());
        assert!(err.to_string().contains(" d.toml: app.port: "), "{err}");
    }
}
