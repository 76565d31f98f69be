//! The published crate's event type, as [`SubsystemManager`](crate::SubsystemManager) returns
//! it. [`crate::SubsystemEvent`] (from `DaemonHandle::subscribe` and `try_next_event`) carries
//! the same transition, and its error.

use std::time::Instant;

use super::state::SubsystemState;

/// A lifecycle event. Not `#[non_exhaustive]`: the published crate's users match it
/// exhaustively, and new kinds of events go to [`crate::SubsystemEvent`] instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubsystemEvent {
    /// A subsystem entered `state`.
    StateChanged {
        /// The subsystem's place in registration order (0 for the first).
        id: usize,
        /// Its name.
        name: String,
        /// The state it entered.
        state: SubsystemState,
        /// When.
        at: Instant,
    },
}
