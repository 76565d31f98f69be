//! The PID file: locked for the daemon's life so a second instance cannot start.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::process::cleanup;
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
        let io_error = |cause: std::io::Error| Error::PidFile {
            path: path.clone(),
            cause,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|err| {
                if err.raw_os_error() == Some(libc::ELOOP) {
                    io_error(std::io::Error::other(
                        "is a symbolic link; refusing to follow it",
                    ))
                } else {
                    io_error(err)
                }
            })?;
        if !file.metadata().map_err(io_error)?.is_file() {
            return Err(io_error(std::io::Error::other("is not a regular file")));
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut contents = String::new();
                let _ = file.read_to_string(&mut contents);
                return Err(Error::AlreadyRunning {
                    pid: contents.trim().parse().unwrap_or(0),
                    path,
                });
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(io_error(err)),
        }
        let mut previous = String::new();
        let _ = file.read_to_string(&mut previous);
        if let Ok(pid) = previous.trim().parse::<u32>() {
            tracing::info!(
                "taking over stale PID file {} (process {pid} is gone)",
                path.display()
            );
        }
        file.set_len(0).map_err(io_error)?;
        file.rewind().map_err(io_error)?;
        writeln!(file, "{}", std::process::id()).map_err(io_error)?;
        file.sync_data().map_err(io_error)?;
        cleanup::register_pid_file(&path);
        Ok(Self { path, file })
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
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
    use super::*;

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
