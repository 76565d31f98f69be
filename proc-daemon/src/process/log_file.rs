//! `logging.file`: log output to a file that rotates by size (`max_file_size`, `max_files`) and
//! can be reopened on SIGUSR1 for an external logrotate.

use std::io::Write;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate, compression::Compression};

/// Set by SIGUSR1; the writer reopens the file before its next write.
static REOPEN: AtomicBool = AtomicBool::new(false);

/// Asks the log file to be reopened (at the next line written).
pub(crate) fn request_reopen() {
    REOPEN.store(true, Ordering::Release);
}

/// The log file: `path`, rotated to `path.1`, `path.2`, ... once it passes `max_size` bytes
/// (after a complete line, so no line is ever split), keeping `max_files` files in all.
pub(crate) struct LogFile {
    path: PathBuf,
    max_size: usize,
    max_files: usize,
    file: Option<FileRotate<AppendCount>>,
    /// The last write failed and that was reported; the next success is reported too.
    failing: bool,
}

impl LogFile {
    pub(crate) fn new(path: PathBuf, max_size: u64, max_files: u32) -> Self {
        Self {
            path,
            max_size: usize::try_from(max_size).unwrap_or(usize::MAX).max(1),
            max_files: usize::try_from(max_files).unwrap_or(usize::MAX).max(1),
            file: None,
            failing: false,
        }
    }

    fn file(&mut self) -> std::io::Result<&mut FileRotate<AppendCount>> {
        if REOPEN.swap(false, Ordering::AcqRel) {
            self.file = None;
        }
        if self.file.is_none() {
            // The file is made (or checked) here first, never through a link and only if it
            // is ours; `FileRotate` would otherwise panic on a missing directory.
            check_ours(&self.path)?;
            // Its own opens (after each rotation) never follow a link either.
            let mut options = std::fs::OpenOptions::new();
            options
                .read(true)
                .create(true)
                .append(true)
                .mode(0o640)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
            self.file = Some(FileRotate::new(
                &self.path,
                // Rotated files, besides the one being written.
                AppendCount::new(self.max_files - 1),
                ContentLimit::BytesSurpassed(self.max_size),
                Compression::None,
                Some(options),
            ));
        }
        Ok(self.file.as_mut().expect("opened above"))
    }

    /// Reports the first failure of a burst, and the recovery, on standard error (the log
    /// itself cannot carry them).
    fn note<T>(&mut self, outcome: std::io::Result<T>) -> std::io::Result<T> {
        match &outcome {
            Err(err) if !self.failing => {
                self.failing = true;
                crate::process::output::err_line(&format!(
                    "proc-daemon: log file {}: {err}; log lines are lost until it can be written (SIGUSR1 reopens it)",
                    self.path.display()
                ));
            }
            Ok(_) if self.failing => {
                self.failing = false;
                crate::process::output::err_line(&format!(
                    "proc-daemon: log file {}: writing again",
                    self.path.display()
                ));
            }
            _ => {}
        }
        outcome
    }
}

/// Creates `path` if needed without following a symbolic link, and checks that it is a regular
/// file owned by this process's user.
fn check_ours(path: &Path) -> std::io::Result<()> {
    let file = super::no_follow::open_regular(
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640),
        path,
    )?;
    let meta = file.metadata()?;
    // SAFETY: geteuid has no preconditions.
    let own = unsafe { libc::geteuid() };
    if meta.uid() != own {
        return Err(std::io::Error::other(format!(
            "is owned by uid {}, not by this process's uid {own}; refusing to write to it",
            meta.uid()
        )));
    }
    Ok(())
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let outcome = self.file().and_then(|file| file.write(buf));
        if outcome.is_err() {
            // Opened again at the next line: a recreated directory or freed space recovers.
            self.file = None;
        }
        self.note(outcome)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let outcome = self.file().and_then(Write::flush);
        self.note(outcome)
    }
}
