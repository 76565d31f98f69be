//! Opening the files the daemon writes (PID file, log file) the way a root daemon beside local
//! users must: never through a symbolic link at the final component, and only a regular file.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Opens `path` with `options` plus `O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK` (a FIFO planted
/// there must not block the open); a link or a non-file is an error that says so.
pub(crate) fn open_regular(options: &mut OpenOptions, path: &Path) -> std::io::Result<File> {
    let file = options
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| {
            if err.raw_os_error() == Some(libc::ELOOP) {
                std::io::Error::other("is a symbolic link; refusing to follow it")
            } else {
                err
            }
        })?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("is not a regular file"));
    }
    Ok(file)
}
