//! [`SubsystemStatus`]: one subsystem as seen from outside at one instant. The one record that
//! [`DaemonHandle::subsystems`](crate::DaemonHandle::subsystems), `/status`, `ctl status` and the
//! Prometheus series are all made from.

use serde::Serialize;

use super::entry::SubsystemEntry;
use crate::SubsystemState;

/// A subsystem's state as seen from outside.
///
/// ```
/// use proc_daemon::{Config, Daemon, SubsystemState};
///
/// let builder = Daemon::builder(Config::default()).with_task("idle", |_| async { Ok(()) });
/// let status = &builder.handle().subsystems()[0];
/// assert_eq!((status.name.as_str(), status.state), ("idle", SubsystemState::Starting));
/// assert!(status.critical && status.last_error.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SubsystemStatus {
    /// Its name.
    pub name: String,
    /// Where it is in its life.
    pub state: SubsystemState,
    /// Whether its failure ends the daemon.
    pub critical: bool,
    /// How many times it has been restarted.
    pub restarts: u32,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// Panics caught in its runs.
    pub panics: u32,
    /// Failed or hung health checks.
    pub health_check_failures: u32,
    /// The dependency it waits for before its next run starts (`after = [...]`), while it
    /// waits.
    pub waiting_for: Option<String>,
}

impl SubsystemEntry {
    /// This subsystem now.
    pub(crate) fn status(&self) -> SubsystemStatus {
        let failures = self.failure_record();
        SubsystemStatus {
            name: self.name().to_owned(),
            state: self.state(),
            critical: self.subsystem.critical(),
            restarts: self.restarts(),
            last_error: failures.last_error.map(|e| e.to_string()),
            panics: failures.panics,
            health_check_failures: failures.health_failures,
            waiting_for: None,
        }
    }
}
