//! [`RunReport`]: how a daemon's run ended — why it stopped, the configuration last in force,
//! and every subsystem's final state — returned by [`DaemonBuilder::run`](crate::DaemonBuilder::run).

use std::sync::{Arc, OnceLock};

use crate::state::Shared;
use crate::{Config, ShutdownReason, SubsystemStatus};

/// How a daemon's run ended, when it ended cleanly (a failed run is an
/// [`Error`](crate::Error) instead).
///
/// ```
/// use proc_daemon::{Config, Daemon, ShutdownReason, SubsystemState};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let config = Config::builder().name("reporting").build().unwrap();
/// let daemon = Daemon::builder(config).with_task("once", |_| async { Ok(()) }).run().await.unwrap();
/// assert_eq!(daemon.reason(), &ShutdownReason::AllStopped);
/// assert_eq!(daemon.config_snapshot().name, "reporting");
/// assert_eq!(daemon.subsystems()[0].state, SubsystemState::Stopped);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct RunReport {
    reason: ShutdownReason,
    config: Arc<Config>,
    /// Read when first asked for: a program that only wants the exit code (what `#[daemon]`
    /// does) does not pay for a status per subsystem on its way out.
    subsystems: Arc<OnceLock<Vec<SubsystemStatus>>>,
    daemon: Arc<Shared>,
}

impl RunReport {
    pub(crate) fn new(reason: ShutdownReason, config: Arc<Config>, daemon: Arc<Shared>) -> Self {
        Self {
            reason,
            config,
            subsystems: Arc::default(),
            daemon,
        }
    }

    /// Why the daemon stopped.
    #[must_use]
    pub const fn reason(&self) -> &ShutdownReason {
        &self.reason
    }

    /// The configuration in force when it stopped (after any reloads).
    #[must_use]
    pub fn config_snapshot(&self) -> Arc<Config> {
        self.config.clone()
    }

    /// Every subsystem as it ended, with its restarts and last error.
    #[must_use]
    pub fn subsystems(&self) -> &[SubsystemStatus] {
        // Every supervisor has ended: the statuses no longer change.
        self.subsystems.get_or_init(|| self.daemon.statuses())
    }
}
