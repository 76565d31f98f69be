//! `hot_reload`: reload the configuration when its file changes.
//!
//! The directory is watched, not the file: editors that save by writing a new file and renaming
//! it over the old one replace the inode a file watch would be on. Events for other files are
//! ignored; a burst of events (truncate, write, write, close) is collapsed into one reload after
//! the file has been quiet for a moment.
//!
//! On Linux a reload waits for the writer to be done: inotify reports when a file opened for
//! writing is closed, and when a file is renamed into place, so those are the events that
//! count — a writer that pauses mid-file (longer than the quiet period) does not get its
//! prefix applied. Elsewhere every modification counts; a half-written file then fails
//! validation and is not applied, and the write that completes it triggers the next reload.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::process::reload::reload;
use crate::state::LiveConfig;

/// How long the file must be quiet before it is read.
const QUIET: Duration = Duration::from_millis(100);

/// Whether an event says the file now holds what its writer meant it to.
#[cfg(target_os = "linux")]
const fn completes_a_write(kind: notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
    matches!(
        kind,
        notify::EventKind::Access(AccessKind::Close(AccessMode::Write))
            | notify::EventKind::Modify(ModifyKind::Name(
                RenameMode::To | RenameMode::Both | RenameMode::Any
            ))
    )
}

/// Whether an event says the file changed (no close events to wait for here).
#[cfg(not(target_os = "linux"))]
const fn completes_a_write(kind: notify::EventKind) -> bool {
    !matches!(kind, notify::EventKind::Access(_))
}

/// Watches the configuration file until dropped.
pub(crate) struct ConfigWatcher {
    _watcher: notify::RecommendedWatcher,
}

/// Starts watching `path`, reloading `live` when it changes; logs and returns `None` if the
/// watch cannot be set up (the daemon runs on, and SIGHUP still reloads).
pub(crate) fn watch(path: &Path, live: &Arc<LiveConfig>) -> Option<ConfigWatcher> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        tracing::warn!(
            "hot_reload: cannot watch {}: not a file path",
            path.display()
        );
        return None;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name: OsString = name.to_owned();
    let (changes, changed) = mpsc::channel::<()>();
    let mut watcher =
        match notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && event
                    .paths
                    .iter()
                    .any(|p| p.file_name() == Some(name.as_os_str()))
                && completes_a_write(event.kind)
            {
                let _ = changes.send(());
            }
        }) {
            Ok(watcher) => watcher,
            Err(err) => {
                tracing::warn!("hot_reload: cannot watch {}: {err}", path.display());
                return None;
            }
        };
    if let Err(err) = watcher.watch(dir, RecursiveMode::NonRecursive) {
        tracing::warn!("hot_reload: cannot watch {}: {err}", dir.display());
        return None;
    }
    let weak = Arc::downgrade(live);
    let shown: PathBuf = path.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("proc-daemon-config-watch".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            // Ends when the watcher (and with it the sender) is dropped.
            while changed.recv().is_ok() {
                loop {
                    match changed.recv_timeout(QUIET) {
                        Ok(()) => {}
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                let Some(live) = weak.upgrade() else { return };
                let _ = reload(&live, "file changed");
            }
        });
    if let Err(err) = spawned {
        tracing::warn!("hot_reload: cannot start the watch thread: {err}");
        return None;
    }
    tracing::info!("hot_reload: watching {} for changes", shown.display());
    Some(ConfigWatcher { _watcher: watcher })
}
