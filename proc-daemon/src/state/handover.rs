//! What one daemon process hands to the next in an upgrade, kept as the daemon's state: the
//! locked PID file, duplicates of the admin endpoint's and control socket's listeners, the
//! upgrade in progress, and — in the new process — the pipe on which it tells the old one it
//! is ready. The sequence itself is `process::upgrade`'s.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The locked PID file, as the handover sees it (the PID file itself is a process service).
pub(crate) trait LockedFile: Send + std::fmt::Debug {
    /// A duplicate of the open file, sharing its lock.
    fn share(&self) -> std::io::Result<File>;
    /// This process no longer owns the file: it leaves it and its lock in place.
    fn hand_off(&mut self);
    /// This process owns the file from now on: it writes its pid there.
    fn take_over(&mut self) -> crate::Result<()>;
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Handover {
    pid_file: Mutex<Option<Box<dyn LockedFile>>>,
    /// Duplicates of the daemon's own servers' listeners, by name, to pass on: closed when
    /// shutdown begins, so that the servers refuse new connections from then on as before.
    servers: Mutex<Vec<(String, OwnedFd)>>,
    /// The upgrade in progress: the new process's pid (0 while it is being started).
    upgrading: Mutex<Option<u32>>,
    /// An upgrade's new process serves now: what this process shares with it stays in place.
    handed_off: AtomicBool,
    /// In an upgrade's new process, until it is ready: the old process's pid and the pipe.
    parent: Mutex<Option<(u32, File)>>,
    succeeded: AtomicU64,
    failed: AtomicU64,
}

/// Upgrades so far, by outcome.
#[cfg(feature = "admin")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct UpgradeCounts {
    pub(crate) succeeded: u64,
    pub(crate) failed: u64,
}

impl Handover {
    /// Keeps the daemon's PID file for the rest of its run.
    pub(crate) fn keep_pid_file(&self, pid_file: Box<dyn LockedFile>) {
        *crate::lock::mutex(&self.pid_file) = Some(pid_file);
    }

    /// Releases the PID file at the end of the run: removed, unless handed on.
    pub(crate) fn release_pid_file(&self) {
        drop(crate::lock::mutex(&self.pid_file).take());
    }

    /// A duplicate of the locked PID file, if the daemon has one.
    pub(crate) fn share_pid_file(&self) -> Option<std::io::Result<File>> {
        crate::lock::mutex(&self.pid_file)
            .as_ref()
            .map(|pid_file| pid_file.share())
    }

    /// Remembers `listener`, the server `name`'s, to pass on in an upgrade.
    #[cfg(any(feature = "admin", feature = "ipc"))]
    pub(crate) fn offer(&self, name: String, listener: std::os::fd::BorrowedFd<'_>) {
        match listener.try_clone_to_owned() {
            Ok(fd) => crate::lock::mutex(&self.servers).push((name, fd)),
            Err(err) => tracing::warn!(
                "cannot keep the {name} socket for an upgrade ({err}); an upgrade would bind it anew"
            ),
        }
    }

    /// Duplicates of the servers' listeners, by name.
    pub(crate) fn servers(&self) -> std::io::Result<Vec<(String, OwnedFd)>> {
        crate::lock::mutex(&self.servers)
            .iter()
            .map(|(name, fd)| Ok((name.clone(), fd.try_clone()?)))
            .collect()
    }

    /// Shutdown has begun: the servers' sockets are closed with their accept loops.
    pub(crate) fn close_servers(&self) {
        crate::lock::mutex(&self.servers).clear();
    }

    /// Claims the one upgrade that may be in progress.
    ///
    /// # Errors
    /// A message naming the upgrade already in progress.
    pub(crate) fn begin(&self) -> Result<(), String> {
        let mut upgrading = crate::lock::mutex(&self.upgrading);
        match *upgrading {
            Some(0) => {
                Err("an upgrade is already in progress (its new process is starting)".into())
            }
            Some(pid) => Err(format!(
                "an upgrade is already in progress (new process pid {pid})"
            )),
            None if self.handed_off() => Err(format!(
                "this process (pid {}) has handed over already",
                std::process::id()
            )),
            None => {
                *upgrading = Some(0);
                Ok(())
            }
        }
    }

    /// The new process runs as `pid`.
    pub(crate) fn started(&self, pid: u32) {
        *crate::lock::mutex(&self.upgrading) = Some(pid);
    }

    /// The upgrade failed: this process carries on, and may try again.
    pub(crate) fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        *crate::lock::mutex(&self.upgrading) = None;
    }

    /// The new process is ready and serves: the PID file is its now.
    pub(crate) fn hand_off(&self) {
        if let Some(pid_file) = crate::lock::mutex(&self.pid_file).as_mut() {
            pid_file.hand_off();
        }
        self.handed_off.store(true, Ordering::Release);
        self.succeeded.fetch_add(1, Ordering::Relaxed);
        *crate::lock::mutex(&self.upgrading) = None;
    }

    /// Whether an upgrade's new process has taken over from this one.
    pub(crate) fn handed_off(&self) -> bool {
        self.handed_off.load(Ordering::Acquire)
    }

    /// Upgrades so far, by outcome.
    #[cfg(feature = "admin")]
    pub(crate) fn counts(&self) -> UpgradeCounts {
        UpgradeCounts {
            succeeded: self.succeeded.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }

    /// In an upgrade's new process: the old process's pid and the pipe to tell it when this
    /// one is ready.
    pub(crate) fn expect_parent(&self, parent: u32, pipe: File) {
        *crate::lock::mutex(&self.parent) = Some((parent, pipe));
    }

    /// This process is ready. In an upgrade's new process: the PID file now names it, and the
    /// old process is told, once.
    pub(crate) fn now_serving(&self) {
        let Some((parent, mut pipe)) = crate::lock::mutex(&self.parent).take() else {
            return;
        };
        if let Some(pid_file) = crate::lock::mutex(&self.pid_file).as_mut()
            && let Err(err) = pid_file.take_over()
        {
            tracing::error!("upgrade: cannot write this process's pid into the PID file: {err}");
        }
        match pipe.write_all(b"ready\n") {
            Ok(()) => tracing::info!(
                "upgrade: ready; told the daemon this process takes over from (pid {parent})"
            ),
            Err(err) => tracing::warn!(
                "upgrade: ready, but the daemon this process takes over from (pid {parent}) cannot be told: {err}"
            ),
        }
    }
}
