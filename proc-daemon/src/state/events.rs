//! Lifecycle events: one for every state transition of every subsystem.

use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;

use crate::SubsystemState;

/// A subsystem entered `state`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubsystemEvent {
    /// The subsystem's name.
    pub subsystem: Arc<str>,
    /// The state it entered.
    pub state: SubsystemState,
    /// The failure that led here, for `Failed` and for `Restarting` after a failure.
    pub error: Option<Arc<str>>,
    /// When it entered the state.
    pub at: std::time::Instant,
    /// The dependency it waits for before its run starts (`after = [...]`): an event with this
    /// set says it began waiting, in the state it is in.
    pub waiting_for: Option<Arc<str>>,
}

/// How many events a slow subscriber may fall behind before it misses some (it then gets
/// `RecvError::Lagged` with the count).
const CAPACITY: usize = 1024;

/// Fans events out to subscribers. The channel (and its buffer) only exists once someone has
/// subscribed; until then a transition costs one atomic load.
#[derive(Debug, Default)]
pub(crate) struct EventBus {
    sender: OnceLock<broadcast::Sender<SubsystemEvent>>,
    #[cfg(feature = "lockfree-coordination")]
    pub(crate) queue: crate::coord::EventQueue,
}

impl EventBus {
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<SubsystemEvent> {
        self.sender
            .get_or_init(|| broadcast::Sender::new(CAPACITY))
            .subscribe()
    }

    /// Sends the event built by `make`, only building it when someone listens.
    pub(crate) fn emit(&self, make: impl FnOnce() -> SubsystemEvent) {
        #[cfg(feature = "lockfree-coordination")]
        if self.queue.is_enabled() {
            let event = make();
            if let Some(sender) = self.sender.get() {
                let _ = sender.send(event.clone());
            }
            self.queue.push(event);
            return;
        }
        if let Some(sender) = self.sender.get() {
            // No receiver left is not an error: events are best-effort notifications.
            let _ = sender.send(make());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_built_only_when_someone_listens() {
        let bus = EventBus::default();
        bus.emit(|| unreachable!("nobody subscribed"));
        let mut rx = bus.subscribe();
        bus.emit(|| SubsystemEvent {
            subsystem: "a".into(),
            state: SubsystemState::Running,
            error: None,
            at: std::time::Instant::now(),
            waiting_for: None,
        });
        assert_eq!(rx.try_recv().unwrap().state, SubsystemState::Running);
    }
}
