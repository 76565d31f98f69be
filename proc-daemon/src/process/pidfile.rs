//! The PID file: locked for the daemon's life so a second instance cannot start.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::process::cleanup;
use crate::state::LockedFile;
use crate::{Error, Result};

/// A PID file holding this process's PID under an exclusive lock; removed when dropped.
///
/// The lock (not the file's existence) decides whether another instance runs, so a file left
/// behind by a crashed process is simply taken over. The final path component is never followed
/// if it is a symlink.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("pidfile-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("daemon.pid");
/// let pid_file = proc_daemon::PidFile::acquire(&path).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap().trim(), std::process::id().to_string());
/// drop(pid_file);
/// assert!(!path.exists());
/// ```
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    file: File,
    /// Whether this process is the one the file names, and so removes it at exit: not while
    /// an upgrade's new process waits to take over, nor once this process has handed it on.
    owned: bool,
}

impl PidFile {
    /// Creates (or takes over) the PID file at `path`, locks it and writes our PID.
    ///
    /// # Errors
    /// [`Error::AlreadyRunning`] naming the file and the PID of the process holding it;
    /// [`Error::PidFile`] if it cannot be opened (a symlink, a directory, no permission), locked
    /// or written.
    pub fn acquire(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        // The holder removes the file while it still holds the lock, then unlocks. A newcomer
        // that opened the file before the removal gets the lock after it, on an inode no longer
        // at `path`, while a third process creates and locks a new file there: two "holders".
        // So a lock counts only if the locked inode is still the one at `path`; otherwise the
        // file is opened again. (Each retry follows a holder's exit; a few suffice.)
        let mut file = lock_at(&path, || Self::open(&path))?;
        let mut previous = String::new();
        let _ = file.read_to_string(&mut previous);
        if let Ok(pid) = previous.trim().parse::<u32>() {
            tracing::info!(
                "taking over stale PID file {} (process {pid} is gone)",
                path.display()
            );
        }
        let mut pid_file = Self {
            path,
            file,
            owned: false,
        };
        pid_file.write_own_pid()?;
        Ok(pid_file)
    }

    /// The PID file at `path` as the daemon this process upgrades passed it on, if it did (and
    /// it is still the file at `path`); otherwise [`acquire`](Self::acquire)d.
    pub(crate) fn acquire_or_passed_on(path: &Path) -> Result<Self> {
        if let Some((_, fd)) = crate::process::inherited::take("pid-file") {
            let file = File::from(fd);
            if still_at(&file, path) {
                return Ok(Self::passed_on(path, file));
            }
            tracing::info!(
                "the PID file the upgraded daemon passed on is not {}; taking that one",
                path.display()
            );
        }
        Self::acquire(path)
    }

    /// The PID file an upgrading daemon passed on, locked already (the lock belongs to the open
    /// file both processes share). It still names the old process, and is not removed by this
    /// one, until the new process is ready and takes it over.
    pub(crate) fn passed_on(path: &Path, file: File) -> Self {
        Self {
            path: path.to_path_buf(),
            file,
            owned: false,
        }
    }

    /// Writes this process's PID into the file, which it removes at exit from now on.
    fn write_own_pid(&mut self) -> Result<()> {
        let io_error = |cause: std::io::Error| Error::PidFile {
            path: self.path.clone(),
            cause,
        };
        self.file.set_len(0).map_err(io_error)?;
        self.file.rewind().map_err(io_error)?;
        writeln!(self.file, "{}", std::process::id()).map_err(io_error)?;
        self.file.sync_data().map_err(io_error)?;
        if !self.owned {
            cleanup::register_pid_file(&self.path);
            self.owned = true;
        }
        Ok(())
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens (creating) the file at `path`: never through a symlink, and only a regular file.
    fn open(path: &Path) -> std::io::Result<File> {
        super::no_follow::open_regular(
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644),
            path,
        )
    }
}

impl LockedFile for PidFile {
    fn share(&self) -> std::io::Result<File> {
        self.file.try_clone()
    }

    fn hand_off(&mut self) {
        if self.owned {
            cleanup::unregister_pid_file(&self.path);
            self.owned = false;
        }
    }

    fn take_over(&mut self) -> Result<()> {
        self.write_own_pid()
    }
}

/// How many times a lock on a file that was replaced meanwhile is retried.
const MAX_ATTEMPTS: usize = 64;

/// Locks the file at `path`, opened by `open`, and only counts the lock if the locked inode is
/// still the one at `path` (see [`PidFile::acquire`]).
fn lock_at(path: &Path, mut open: impl FnMut() -> std::io::Result<File>) -> Result<File> {
    let io_error = |cause: std::io::Error| Error::PidFile {
        path: path.to_path_buf(),
        cause,
    };
    for _ in 0..MAX_ATTEMPTS {
        let candidate = open().map_err(io_error)?;
        match candidate.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut contents = String::new();
                let _ = (&candidate).read_to_string(&mut contents);
                return Err(Error::AlreadyRunning {
                    pid: contents.trim().parse().unwrap_or(0),
                    path: path.to_path_buf(),
                });
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(io_error(err)),
        }
        if still_at(&candidate, path) {
            return Ok(candidate);
        }
    }
    Err(io_error(std::io::Error::other(
        "it was replaced every time it was locked; another instance keeps starting and stopping",
    )))
}

/// Whether `file` is still the file at `path` (not removed or replaced since it was opened).
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(ours), Ok(there)) => ours.dev() == there.dev() && ours.ino() == there.ino(),
        _ => false,
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // The lock belongs to the open file, which another process shares: not unlocked here.
        if !self.owned {
            return;
        }
        cleanup::unregister_pid_file(&self.path);
        // Removed while still locked, so no other instance can lock the file we delete.
        if let Err(err) = std::fs::remove_file(&self.path) {
            tracing::warn!("could not remove PID file {}: {err}", self.path.display());
        }
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt as _;

    use super::*;

    /// The race of two newcomers and an exiting holder, step by step: one newcomer opened the
    /// file before the holder removed it and locks it after the holder let go.
    #[test]
    fn a_lock_on_a_file_removed_meanwhile_does_not_count() {
        let path = temp_dir("removed").join("d.pid");
        let holder = PidFile::acquire(&path).unwrap();
        let opened_early = PidFile::open(&path).unwrap();
        drop(holder);
        let mut early = Some(opened_early);
        let locked = lock_at(&path, || match early.take() {
            Some(file) => Ok(file),
            None => PidFile::open(&path),
        })
        .unwrap();
        // The lock is on the file now at the path, so a third process is refused.
        let at_path = std::fs::metadata(&path).unwrap();
        assert_eq!(locked.metadata().unwrap().ino(), at_path.ino());
        assert!(matches!(
            PidFile::acquire(&path),
            Err(Error::AlreadyRunning { .. })
        ));
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("proc-daemon-pid-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn second_acquire_names_the_holder() {
        let path = temp_dir("second").join("d.pid");
        let _first = PidFile::acquire(&path).unwrap();
        let err = PidFile::acquire(&path).unwrap_err();
        assert!(matches!(err, Error::AlreadyRunning { pid, .. } if pid == std::process::id()));
        assert!(err.to_string().contains(&path.display().to_string()));
    }

    #[test]
    fn stale_file_is_taken_over() {
        let path = temp_dir("stale").join("d.pid");
        std::fs::write(&path, "999999\n").unwrap();
        let pid_file = PidFile::acquire(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        drop(pid_file);
        assert!(!path.exists());
    }

    #[test]
    fn symlinks_are_refused() {
        let dir = temp_dir("symlink");
        let target = dir.join("target");
        std::fs::write(&target, "keep me").unwrap();
        let link = dir.join("d.pid");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = PidFile::acquire(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    }

    #[test]
    fn directories_are_refused() {
        let dir = temp_dir("dir");
        let err = PidFile::acquire(&dir).unwrap_err().to_string();
        assert!(err.contains(&dir.display().to_string()), "{err}");
    }
}
