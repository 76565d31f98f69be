//! What must happen on every way out of the process, including the forced ones that never
//! return to `main`: PID files removed, log output flushed, and an exit that cannot hang.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

static PID_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// How long a forced exit waits for its log line and flush before ending the process anyway.
const FLUSH_BUDGET: Duration = Duration::from_millis(500);

pub(crate) fn register_pid_file(path: &Path) {
    lock().push(path.to_path_buf());
}

pub(crate) fn unregister_pid_file(path: &Path) {
    lock().retain(|p| p != path);
}

fn lock() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    crate::lock::mutex(&PID_FILES)
}

/// Removes every registered PID file. Only tries the list's lock: a thread stuck while holding
/// it must not keep us from exiting.
pub(crate) fn remove_pid_files() {
    if let Ok(files) = PID_FILES.try_lock() {
        for path in files.iter() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Removes PID files, then logs `message` and exits with `code` (flushing output) on a thread of
/// its own, so the caller stays free if logging or flushing blocks on a lock a stuck thread
/// holds. Returns at once.
pub(crate) fn begin_exit(code: u8, message: String) {
    remove_pid_files();
    let spawned = std::thread::Builder::new()
        .name("proc-daemon-exit".into())
        .spawn(move || {
            tracing::error!("{message}");
            crate::process::logging::flush();
            std::process::exit(i32::from(code))
        });
    if spawned.is_err() {
        hard_exit(code, b"proc-daemon: exiting (no thread left to log on)\n");
    }
}

/// [`begin_exit`], and if the process is still here after [`FLUSH_BUDGET`], [`hard_exit`].
pub(crate) fn exit_now(code: u8, message: String) -> ! {
    begin_exit(code, message);
    // A bound, not a synchronisation: normally the exit thread ends the process long before.
    std::thread::sleep(FLUSH_BUDGET);
    hard_exit(
        code,
        b"proc-daemon: output did not flush in time; exiting without it\n",
    )
}

/// Writes `message` to standard error with a raw `write(2)` and ends the process with
/// `_exit(2)`: needs no lock and no Rust state, so it works even if every other thread is
/// wedged.
pub(crate) fn hard_exit(code: u8, message: &[u8]) -> ! {
    // SAFETY: write(2) on fd 2 with a valid buffer, then _exit(2); both are async-signal-safe.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
        libc::_exit(i32::from(code))
    }
}
