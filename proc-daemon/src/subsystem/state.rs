//! Where a subsystem is in its life.

use std::fmt;

/// Where a subsystem is in its life.
///
/// `Starting → Running → Stopping → Stopped`, or `Failed`, with `Restarting` between runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum SubsystemState {
    /// Registered, its first run not yet started.
    Starting = 0,
    /// A run is in progress.
    Running = 1,
    /// Shutdown has begun and the run has not ended yet.
    Stopping = 2,
    /// Ended without failure.
    Stopped = 3,
    /// Ended as failed: the run failed and no restart followed, or it was aborted.
    Failed = 4,
    /// Between two runs (including a backoff delay).
    Restarting = 5,
}

impl SubsystemState {
    pub(crate) const fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Starting,
            1 => Self::Running,
            2 => Self::Stopping,
            3 => Self::Stopped,
            5 => Self::Restarting,
            _ => Self::Failed,
        }
    }

    /// Whether the subsystem has ended for good.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Stopped | Self::Failed)
    }

    /// The lower-case name used in logs and status output.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
            Self::Restarting => "restarting",
        }
    }
}

impl fmt::Display for SubsystemState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_u8() {
        use SubsystemState::*;
        for state in [Starting, Running, Stopping, Stopped, Failed, Restarting] {
            assert_eq!(SubsystemState::from_u8(state as u8), state);
        }
        assert!(Stopped.is_terminal() && Failed.is_terminal() && !Running.is_terminal());
    }
}
