//! `SubsystemManager`: the published crate's way to poll lifecycle events, as a thin layer over
//! [`DaemonHandle::enable_events`](crate::DaemonHandle::enable_events) and
//! [`try_next_event`](crate::DaemonHandle::try_next_event). It needs no handle: it observes the
//! daemon this process runs — the one running now, or the next one to start.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::state::Shared;
use crate::subsystem::event::SubsystemEvent;

/// The daemon that runs now (or ran last), for managers created without a handle.
static CURRENT: Mutex<Option<Weak<Shared>>> = Mutex::new(None);
/// Some manager asked for events: the next daemon to run queues them from its start.
static WANTED: AtomicBool = AtomicBool::new(false);

/// A daemon starts running: managers observe it from now on.
pub(crate) fn register(shared: &Arc<Shared>) {
    *crate::lock::mutex(&CURRENT) = Some(Arc::downgrade(shared));
    if WANTED.load(Ordering::Acquire) {
        shared.events.queue.enable();
    }
}

fn current() -> Option<Arc<Shared>> {
    crate::lock::mutex(&CURRENT)
        .as_ref()
        .and_then(Weak::upgrade)
}

/// Polls the lifecycle events of the daemon this process runs (feature
/// `lockfree-coordination`).
///
/// ```
/// use proc_daemon::{Config, Daemon, SubsystemManager, SubsystemState};
/// use proc_daemon::subsystem::SubsystemEvent;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let manager = SubsystemManager::new();
/// manager.enable_events(); // before the daemon runs: every event from the first
/// let daemon = Daemon::builder(Config::default()).with_task("once", |_| async { Ok(()) });
/// let handle = daemon.handle(); // keeps the ended daemon, and its queued events, alive
/// let running = tokio::spawn(daemon.run());
/// running.await.unwrap().unwrap();
/// let mut seen = Vec::new();
/// while let Some(SubsystemEvent::StateChanged { id, name, state, .. }) = manager.try_next_event() {
///     seen.push((id, name, state));
/// }
/// assert_eq!(seen[0], (0, "once".to_owned(), SubsystemState::Running));
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SubsystemManager {
    _private: (),
}

impl SubsystemManager {
    /// A manager of the daemon this process runs.
    #[must_use]
    pub const fn new() -> Self {
        Self { _private: () }
    }

    /// Queues every lifecycle event from now on — of the running daemon, or from the start of
    /// the next one.
    pub fn enable_events(&self) {
        WANTED.store(true, Ordering::Release);
        if let Some(shared) = current() {
            shared.events.queue.enable();
        }
    }

    /// The oldest queued event, without waiting; `None` when there is none (or no daemon has
    /// run, or [`enable_events`](Self::enable_events) was not called). Events of a daemon that
    /// has ended and been dropped (no handle left) are gone with it.
    #[must_use]
    pub fn try_next_event(&self) -> Option<SubsystemEvent> {
        let shared = current()?;
        let event = shared.events.queue.try_next()?;
        let id = shared
            .with_entries(|entries| entries.iter().position(|e| e.name() == &*event.subsystem))
            .unwrap_or(usize::MAX);
        Some(SubsystemEvent::StateChanged {
            id,
            name: event.subsystem.to_string(),
            state: event.state,
            at: event.at,
        })
    }
}
