//! This replica's standing in the cluster's election (`[cluster]`): whether it leads, who does,
//! the fencing token of the current term, and how often leadership changed. Written by the
//! election (`cluster/`), read by singletons' supervisors, `/status`, `ctl status` and
//! `/metrics`.

// Without the `cluster` feature nothing writes it, and it reads as "not leading".
#![cfg_attr(not(feature = "cluster"), allow(dead_code))]

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

/// One moment of the election, as this replica sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Standing {
    /// Whether this replica leads now.
    pub(crate) leading: bool,
    /// The leader's instance name, if one is known.
    pub(crate) leader: Option<String>,
    /// The leader's fencing token: the election key's creation revision in etcd, which grows
    /// with every new term.
    pub(crate) fencing_token: Option<u64>,
    /// Whether etcd answered the last time it was asked.
    pub(crate) reachable: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Leadership {
    standing: watch::Sender<Standing>,
    changes: AtomicU64,
}

impl Default for Leadership {
    fn default() -> Self {
        Self {
            standing: watch::Sender::new(Standing::default()),
            changes: AtomicU64::new(0),
        }
    }
}

impl Leadership {
    /// The standing now.
    pub(crate) fn now(&self) -> Standing {
        self.standing.borrow().clone()
    }

    /// Records `standing`; a change of leading counts as a leadership change.
    pub(crate) fn set(&self, standing: Standing) {
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
    pub(crate) fn watch(&self) -> watch::Receiver<Standing> {
        self.standing.subscribe()
    }
}
