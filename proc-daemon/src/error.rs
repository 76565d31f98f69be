//! The error type every fallible operation of the framework returns.

use std::borrow::Cow;
use std::path::PathBuf;

/// Process exit codes the framework uses (see the README's table).
pub mod exit_code {
    /// Clean shutdown.
    pub const SUCCESS: u8 = 0;
    /// A critical subsystem failed, or the daemon could not start for a reason other than its
    /// configuration.
    pub const FAILURE: u8 = 1;
    /// `EX_USAGE`: the command line is malformed (e.g. `--config` without a path).
    pub const USAGE: u8 = 64;
    /// `EX_SOFTWARE`: a shutdown deadline was overrun and tasks had to be abandoned, or the
    /// set-up body panicked.
    pub const SHUTDOWN_OVERRUN: u8 = 70;
    /// `EX_CONFIG`: the configuration is invalid.
    pub const CONFIG: u8 = 78;

    /// The exit code for a process that was forced down by a second signal: `128 + signal`.
    #[must_use]
    pub const fn forced_by_signal(signal: i32) -> u8 {
        // Signal numbers are small positive integers; the truncation keeps the byte.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let code = (128 + signal) as u8;
        code
    }
}

/// Everything that can go wrong in a daemon, each kind naming what it is about.
///
/// Messages are `Cow<'static, str>`: an error built from a string literal allocates nothing.
///
/// ```
/// use proc_daemon::Error;
///
/// let err = Error::config("daemon.toml:3:11: shutdown.timeout_ms: expected an integer");
/// assert_eq!(err.exit_code(), 78);
/// assert!(err.to_string().contains("daemon.toml:3:11"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid; the message names the file, line and column or the
    /// environment variable.
    #[error("invalid configuration: {message}")]
    Config {
        /// What is wrong and where.
        message: Cow<'static, str>,
    },

    /// An I/O operation failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// A subsystem failed.
    #[error("subsystem `{name}` failed: {message}")]
    Subsystem {
        /// The subsystem's name.
        name: Cow<'static, str>,
        /// What went wrong.
        message: Cow<'static, str>,
    },

    /// Shutdown overran its deadline and tasks had to be abandoned.
    #[error("shutdown deadline overrun: {message}")]
    Shutdown {
        /// Which deadline and which subsystems.
        message: Cow<'static, str>,
    },

    /// Another live process holds the PID file.
    #[error("PID file {} is held by running process {pid}; is another instance running?", path.display())]
    AlreadyRunning {
        /// The PID file.
        path: PathBuf,
        /// The PID written in it (0 when it could not be read).
        pid: u32,
    },

    /// The PID file could not be created, locked or written.
    #[error("PID file {}: {cause}", path.display())]
    PidFile {
        /// The PID file.
        path: PathBuf,
        /// The underlying failure (part of the message, so not repeated as a source).
        cause: std::io::Error,
    },

    /// Profiling could not be started or written.
    #[error("profiling error: {message}")]
    Profiling {
        /// What went wrong.
        message: Cow<'static, str>,
    },

    /// Code the framework ran on the application's behalf panicked (the set-up body of
    /// `main`); exit code 70, as for a bug.
    #[error("{message}")]
    Panicked {
        /// `panicked: ` and the panic's message.
        message: Cow<'static, str>,
    },

    /// Any other failure, typically from application code.
    #[error("{message}")]
    Other {
        /// What went wrong.
        message: Cow<'static, str>,
    },
}

impl Error {
    /// A configuration error.
    pub fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Self::Config {
            message: message.into(),
        }
    }

    /// A failure of the named subsystem.
    pub fn subsystem(
        name: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::Subsystem {
            name: name.into(),
            message: message.into(),
        }
    }

    /// A shutdown-deadline overrun.
    pub fn shutdown(message: impl Into<Cow<'static, str>>) -> Self {
        Self::Shutdown {
            message: message.into(),
        }
    }

    /// A profiling failure.
    pub fn profiling(message: impl Into<Cow<'static, str>>) -> Self {
        Self::Profiling {
            message: message.into(),
        }
    }

    /// Any other failure, with a message.
    pub fn other(message: impl Into<Cow<'static, str>>) -> Self {
        Self::Other {
            message: message.into(),
        }
    }

    /// Wraps any error type, keeping its message (and the messages of its sources).
    pub fn from_std<E: std::error::Error + ?Sized>(error: &E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::Other {
            message: message.into(),
        }
    }

    /// The process exit code this error leads to when it ends the daemon.
    ///
    /// `78` for configuration errors, `70` for an overrun shutdown deadline, `1` otherwise.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config { .. } => exit_code::CONFIG,
            Self::Shutdown { .. } | Self::Panicked { .. } => exit_code::SHUTDOWN_OVERRUN,
            _ => exit_code::FAILURE,
        }
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self::other(message)
    }
}

impl From<&'static str> for Error {
    fn from(message: &'static str) -> Self {
        Self::other(message)
    }
}

/// `Result` with [`Error`] as its error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Error::config("x").exit_code(), 78);
        assert_eq!(Error::shutdown("x").exit_code(), 70);
        assert_eq!(Error::subsystem("a", "b").exit_code(), 1);
        assert_eq!(Error::from(std::io::Error::other("x")).exit_code(), 1);
        assert_eq!(exit_code::forced_by_signal(libc::SIGINT), 130);
        assert_eq!(exit_code::forced_by_signal(libc::SIGTERM), 143);
    }

    #[test]
    fn messages_name_what_they_are_about() {
        let err = Error::subsystem("worker", "boom");
        assert_eq!(err.to_string(), "subsystem `worker` failed: boom");
        let err = Error::AlreadyRunning {
            path: "/run/x.pid".into(),
            pid: 42,
        };
        assert_eq!(
            err.to_string(),
            "PID file /run/x.pid is held by running process 42; is another instance running?"
        );
    }

    #[test]
    fn from_std_keeps_the_source_chain() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot connect")]
        struct Outer(#[source] std::io::Error);
        let outer = Outer(std::io::Error::other("refused"));
        assert_eq!(
            Error::from_std(&outer).to_string(),
            "cannot connect: refused"
        );
    }
}
