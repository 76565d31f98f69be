//! `logging.file`: log output to a file that rotates by size (`max_file_size`, `max_files`) and
//! can be reopened on SIGUSR1 for an external logrotate.

use std::io::Write;
use std::path::PathBuf;
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
}

impl LogFile {
    pub(crate) fn new(path: PathBuf, max_size: u64, max_files: u32) -> Self {
        Self {
            path,
            max_size: usize::try_from(max_size).unwrap_or(usize::MAX).max(1),
            max_files: usize::try_from(max_files).unwrap_or(usize::MAX).max(1),
            file: None,
        }
    }

    fn file(&mut self) -> &mut FileRotate<AppendCount> {
        if REOPEN.swap(false, Ordering::AcqRel) {
            self.file = None;
        }
        self.file.get_or_insert_with(|| {
            FileRotate::new(
                &self.path,
                // Rotated files, besides the one being written.
                AppendCount::new(self.max_files - 1),
                ContentLimit::BytesSurpassed(self.max_size),
                Compression::None,
                None,
            )
        })
    }
}

impl Write for LogFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file().flush()
    }
}
