//! Lock-free coordination (feature `lockfree-coordination`): channels on `crossbeam-channel`,
//! and a queue of subsystem lifecycle events that is never behind a lock on the send path.
//!
//! `DaemonHandle::subscribe` (always available) fans events out on a `tokio` broadcast
//! channel, which takes a lock per send and suits async consumers. The queue here suits a
//! consumer that polls from any thread — a metrics exporter, a test, a UI loop:
//!
//! ```
//! use proc_daemon::{Config, Daemon, SubsystemState};
//!
//! let daemon = Daemon::builder(Config::default()).with_task("once", |_shutdown| async { Ok(()) });
//! let handle = daemon.handle();
//! handle.enable_events();
//! # let runtime = tokio::runtime::Runtime::new().unwrap();
//! runtime.block_on(daemon.run()).unwrap();
//! let mut states = Vec::new();
//! while let Some(event) = handle.try_next_event() {
//!     states.push(event.state);
//! }
//! assert_eq!(states, [SubsystemState::Running, SubsystemState::Stopped]);
//! ```

use std::sync::OnceLock;

use crate::SubsystemEvent;

/// Multi-producer multi-consumer channels: `crossbeam-channel`, re-exported under the names the
/// published crate used.
///
/// ```
/// use proc_daemon::coord::chan;
///
/// let (tx, rx) = chan::bounded(2);
/// tx.send(1).unwrap();
/// tx.try_send(2).unwrap();
/// assert!(tx.try_send(3).is_err()); // full
/// assert_eq!(rx.try_recv(), Ok(1));
/// assert_eq!(rx.recv(), Ok(2));
/// assert_eq!(rx.try_recv(), Err(chan::TryRecvError::Empty));
/// ```
pub mod chan {
    pub use crossbeam_channel::{
        Receiver, RecvError, RecvTimeoutError, SendError, Sender, TryRecvError, TrySendError,
        bounded, unbounded,
    };

    /// The next message if one is waiting, without blocking: `rx.try_recv()` under the
    /// published crate's name.
    ///
    /// ```
    /// use proc_daemon::coord::chan;
    ///
    /// let (tx, rx) = chan::unbounded::<String>();
    /// tx.send("hello".into()).ok();
    /// assert_eq!(chan::try_recv(&rx).as_deref(), Ok("hello"));
    /// assert_eq!(chan::try_recv(&rx), Err(chan::TryRecvError::Empty));
    /// ```
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when nothing is waiting, [`TryRecvError::Disconnected`] when
    /// every sender is gone.
    pub fn try_recv<T>(rx: &Receiver<T>) -> Result<T, TryRecvError> {
        rx.try_recv()
    }
}

/// The daemon's event queue: created on `enable_events`, fed by every state transition.
#[derive(Debug, Default)]
pub(crate) struct EventQueue {
    channel: OnceLock<(chan::Sender<SubsystemEvent>, chan::Receiver<SubsystemEvent>)>,
}

impl EventQueue {
    pub(crate) fn enable(&self) {
        self.channel.get_or_init(chan::unbounded);
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.channel.get().is_some()
    }

    pub(crate) fn push(&self, event: SubsystemEvent) {
        if let Some((sender, _)) = self.channel.get() {
            // The queue holds its own receiver, so the send cannot fail.
            let _ = sender.send(event);
        }
    }

    pub(crate) fn try_next(&self) -> Option<SubsystemEvent> {
        self.channel.get()?.1.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SubsystemState;

    fn event(name: &str, state: SubsystemState) -> SubsystemEvent {
        SubsystemEvent {
            subsystem: name.into(),
            state,
            error: None,
            at: std::time::Instant::now(),
            waiting_for: None,
        }
    }

    #[tokio::test]
    async fn a_restart_is_queued_in_the_order_it_happened() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let runs = std::sync::Arc::new(AtomicU32::new(0));
        let daemon = crate::Daemon::builder(crate::Config::default()).with_subsystem(
            crate::SubsystemFn::new("flaky", move |_shutdown| {
                let run = runs.fetch_add(1, Ordering::SeqCst);
                async move {
                    if run == 0 {
                        Err(crate::Error::other("first run fails"))
                    } else {
                        Ok(())
                    }
                }
            })
            .restart_policy(crate::RestartPolicy::OnFailure),
        );
        let handle = daemon.handle();
        handle.enable_events();
        daemon.run().await.unwrap();
        let mut seen = Vec::new();
        while let Some(event) = handle.try_next_event() {
            seen.push((event.state, event.error.as_deref().map(str::to_owned)));
        }
        assert_eq!(
            seen,
            [
                (SubsystemState::Running, None),
                (
                    SubsystemState::Restarting,
                    Some("first run fails".to_owned())
                ),
                (SubsystemState::Running, None),
                (SubsystemState::Stopped, None),
            ]
        );
    }

    #[test]
    fn nothing_is_queued_before_the_queue_is_enabled() {
        let queue = EventQueue::default();
        queue.push(event("a", SubsystemState::Running));
        queue.enable();
        assert_eq!(queue.try_next(), None);
    }

    #[test]
    fn events_from_many_threads_keep_each_senders_order() {
        let queue = std::sync::Arc::new(EventQueue::default());
        queue.enable();
        let senders: Vec<_> = (0..4)
            .map(|t| {
                let queue = queue.clone();
                std::thread::spawn(move || {
                    for state in [
                        SubsystemState::Starting,
                        SubsystemState::Running,
                        SubsystemState::Stopping,
                        SubsystemState::Stopped,
                    ] {
                        queue.push(event(&format!("s{t}"), state));
                    }
                })
            })
            .collect();
        for sender in senders {
            sender.join().unwrap();
        }
        let mut seen: std::collections::HashMap<String, Vec<SubsystemState>> = Default::default();
        while let Some(e) = queue.try_next() {
            seen.entry(e.subsystem.to_string())
                .or_default()
                .push(e.state);
        }
        assert_eq!(seen.len(), 4);
        for states in seen.values() {
            assert_eq!(
                states,
                &[
                    SubsystemState::Starting,
                    SubsystemState::Running,
                    SubsystemState::Stopping,
                    SubsystemState::Stopped
                ]
            );
        }
    }
}
