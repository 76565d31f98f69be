//! `logging.file`: log output to a file that rotates by size (`max_file_size`, `max_files`) and
//! can be reopened on SIGUSR1 for an external logrotate.
//!
//! Rotation is written here rather than taken from a crate: it is a few renames, and the crates
//! that do it bring date and compression libraries (`chrono`, `flate2`) that a size rotation
//! without compression never calls (130 KB of every daemon's binary, docs/PERFORMANCE.md).

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by SIGUSR1; the writer reopens the file before its next write.
static REOPEN: AtomicBool = AtomicBool::new(false);

/// Asks the log file to be reopened (at the next line written).
pub(crate) fn request_reopen() {
    REOPEN.store(true, Ordering::Release);
}

/// The log file: `path`, rotated to `path.1`, `path.2`, ... once it reaches `max_size` bytes
/// (before the next line, so no line is ever split), keeping `max_files` files in all.
pub(crate) struct LogFile {
    path: PathBuf,
    max_size: u64,
    max_files: u32,
    file: Option<File>,
    /// Bytes in the file being written (what it held when opened, and what was written since).
    size: u64,
    /// The last write failed and that was reported; the next success is reported too.
    failing: bool,
}

impl LogFile {
    pub(crate) fn new(path: PathBuf, max_size: u64, max_files: u32) -> Self {
        Self {
            path,
            max_size: max_size.max(1),
            max_files: max_files.max(1),
            file: None,
            size: 0,
            failing: false,
        }
    }

    fn file(&mut self) -> std::io::Result<&mut File> {
        if REOPEN.swap(false, Ordering::AcqRel) {
            self.file = None;
        }
        if self.file.is_none() {
            // Made (or checked) here first, never through a link and only if it is ours.
            check_ours(&self.path)?;
            let file = open_for_append(&self.path)?;
            self.size = file.metadata()?.len();
            self.file = Some(file);
        }
        Ok(self.file.as_mut().expect("opened above"))
    }

    /// `path.n`.
    fn numbered(&self, n: u32) -> PathBuf {
        let mut name = OsString::from(self.path.as_os_str());
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// The current file becomes `path.1`, each older one moves up a number, and the one that
    /// would exceed `max_files` (and any left beyond it by an earlier, larger `max_files`) is
    /// removed; then a new, empty file is opened. Renames and removals act on names, never
    /// through a link.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        let kept = self.max_files - 1;
        let mut beyond = kept.max(1);
        if kept == 0 {
            gone(std::fs::remove_file(&self.path))?;
        } else {
            gone(std::fs::remove_file(self.numbered(kept)))?;
            for n in (1..kept).rev() {
                gone(std::fs::rename(self.numbered(n), self.numbered(n + 1)))?;
            }
            gone(std::fs::rename(&self.path, self.numbered(1)))?;
            beyond = kept + 1;
        }
        while std::fs::remove_file(self.numbered(beyond)).is_ok() {
            beyond += 1;
        }
        self.file = Some(open_for_append(&self.path)?);
        self.size = 0;
        Ok(())
    }

    fn write_line(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.file()?;
        if self.size >= self.max_size {
            self.rotate()?;
        }
        self.file()?.write_all(line)?;
        self.size += line.len() as u64;
        Ok(line.len())
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
    /// Writes `buf` (one whole line from the log writer) to the file, rotating first if the
    /// file has reached its size.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let outcome = self.write_line(buf);
        if outcome.is_err() {
            // Opened again at the next line: a recreated directory or freed space recovers.
            self.file = None;
        }
        self.note(outcome)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let outcome = self.file().and_then(|file| file.flush());
        self.note(outcome)
    }
}

/// Opens `path` to append, creating it (mode 0640) if needed, never through a symbolic link.
fn open_for_append(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// A file that was not there to move or remove is not an error.
fn gone(outcome: std::io::Result<()>) -> std::io::Result<()> {
    match outcome {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("proc-daemon-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn rotates_whole_lines_and_keeps_max_files() {
        let dir = scratch("rotation");
        let path = dir.join("d.log");
        let mut log = LogFile::new(path.clone(), 10, 3);
        for line in [
            "aaaaaaaaaaaa\n",
            "bbbb\n",
            "cccccccc\n",
            "dd\n",
            "eeeeeeeeeeee\n",
            "f\n",
        ] {
            log.write_all(line.as_bytes()).unwrap();
        }
        assert_eq!(names(&dir), ["d.log", "d.log.1", "d.log.2"]);
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(read("d.log.2"), "bbbb\ncccccccc\n");
        assert_eq!(read("d.log.1"), "dd\neeeeeeeeeeee\n");
        assert_eq!(read("d.log"), "f\n");
    }

    #[test]
    fn an_existing_file_counts_and_stale_numbers_go() {
        let dir = scratch("rotation-existing");
        let path = dir.join("d.log");
        std::fs::write(&path, "0123456789\n").unwrap();
        // Left by an earlier configuration that kept more files.
        for n in 1..=4 {
            std::fs::write(dir.join(format!("d.log.{n}")), format!("old {n}\n")).unwrap();
        }
        let mut log = LogFile::new(path, 10, 2);
        log.write_all(b"new\n").unwrap();
        assert_eq!(names(&dir), ["d.log", "d.log.1"]);
        assert_eq!(
            std::fs::read_to_string(dir.join("d.log.1")).unwrap(),
            "0123456789\n"
        );
    }

    #[test]
    fn one_file_in_all_starts_afresh() {
        let dir = scratch("rotation-single");
        let path = dir.join("d.log");
        let mut log = LogFile::new(path.clone(), 4, 1);
        log.write_all(b"first\n").unwrap();
        log.write_all(b"second\n").unwrap();
        assert_eq!(names(&dir), ["d.log"]);
        assert_eq!(std::fs::read_to_string(path).unwrap(), "second\n");
    }

    #[test]
    fn a_link_in_place_of_the_file_is_refused() {
        let dir = scratch("rotation-link");
        let target = dir.join("elsewhere");
        std::fs::write(&target, "").unwrap();
        let path = dir.join("d.log");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let mut log = LogFile::new(path, 10, 2);
        assert!(log.write_all(b"line\n").is_err());
        assert_eq!(std::fs::read_to_string(target).unwrap(), "");
    }
}
