//! This replica's standing in the cluster's election (`[cluster]`): whether it leads, who does,
//! the fencing token of the current term, and how often leadership changed. Written by the
//! election (`cluster/`), read by singletons' supervisors, `/status`, `ctl status` and
//! `/metrics`.

// Without the `cluster` feature nothing writes it, and it reads as "not leading".
#![cfg_attr(not(feature = "cluster"), allow(dead_code))]

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

/// One moment of the cluster's election (`[cluster]`), as this replica sees it: what
/// [`Context::leadership`](crate::Context::leadership) and
/// [`DaemonHandle::subscribe_leadership`](crate::DaemonHandle::subscribe_leadership) report
/// each time it changes. Without `[cluster]` it stays at its default: not leading, no leader
/// known.
///
/// ```
/// let standing = proc_daemon::ClusterStanding::default();
/// assert!(!standing.leading);
/// assert_eq!(standing.fencing_token, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterStanding {
    /// Whether this replica leads now: its singletons run only while this is true.
    pub leading: bool,
    /// The leader's instance name (`cluster.instance`), if one is known.
    pub leader: Option<String>,
    /// The leader's fencing token: the election key's creation revision in etcd, which grows
    /// with every new term.
    pub fencing_token: Option<u64>,
    /// Whether etcd answered the last time it was asked.
    pub reachable: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Leadership {
    standing: watch::Sender<ClusterStanding>,
    changes: AtomicU64,
}

impl Default for Leadership {
    fn default() -> Self {
        Self {
            standing: watch::Sender::new(ClusterStanding::default()),
            changes: AtomicU64::new(0),
        }
    }
}

impl Leadership {
    /// The standing now.
    pub(crate) fn now(&self) -> ClusterStanding {
        self.standing.borrow().clone()
    }

    /// Records `standing`; a change of leading counts as a leadership change.
    pub(crate) fn set(&self, standing: ClusterStanding) {
        let was_leading = self.standing.borrow().leading;
        if was_leading != standing.leading {
            self.changes.fetch_add(1, Ordering::Relaxed);
        }
        self.standing.send_if_modified(|current| {
            let changed = *current != standing;
            *current = standing;
            changed
        });
    }

    /// How many times this replica became or stopped being the leader.
    #[cfg(any(feature = "admin", feature = "ipc"))]
    pub(crate) fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// A receiver that sees every change of standing.
    #[must_use]
    pub(crate) fn watch(&self) -> watch::Receiver<ClusterStanding> {
        self.standing.subscribe()
    }

    /// A receiver for users: its first `changed()` yields the standing now, so a watcher that
    /// subscribed after the election settled still hears of it.
    #[must_use]
    pub(crate) fn announce(&self) -> watch::Receiver<ClusterStanding> {
        let mut receiver = self.standing.subscribe();
        receiver.mark_changed();
        receiver
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leading(token: u64) -> ClusterStanding {
        ClusterStanding {
            leading: true,
            leader: Some("a".into()),
            fencing_token: Some(token),
            reachable: true,
        }
    }

    #[tokio::test]
    async fn a_late_watcher_hears_the_standing_now_then_each_change() {
        let leadership = Leadership::default();
        leadership.set(leading(7));
        let mut announced = leadership.announce();
        announced.changed().await.unwrap();
        assert_eq!(*announced.borrow_and_update(), leading(7));

        let mut follower = leading(7);
        follower.leading = false;
        leadership.set(follower.clone());
        announced.changed().await.unwrap();
        assert_eq!(*announced.borrow_and_update(), follower);
        assert!(!announced.has_changed().unwrap());
    }

    #[test]
    fn only_a_change_of_role_counts_as_a_leadership_change() {
        let leadership = Leadership::default();
        leadership.set(leading(1));
        leadership.set(leading(1));
        let mut unreachable = leading(1);
        unreachable.reachable = false;
        leadership.set(unreachable);
        leadership.set(ClusterStanding::default());
        assert_eq!(leadership.changes.load(Ordering::Relaxed), 2);
    }
}
