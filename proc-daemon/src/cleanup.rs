//! What must happen on every way out of the process, including the forced ones that never
//! return to `main`: PID files removed, log output flushed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

static PID_FILES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub(crate) fn register_pid_file(path: &Path) {
    lock().push(path.to_path_buf());
}

pub(crate) fn unregister_pid_file(path: &Path) {
    lock().retain(|p| p != path);
}

fn lock() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PID_FILES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes registered PID files and flushes standard streams, then exits with `code`.
/// Used by paths that cannot return to `main`: a second signal, the force deadline.
pub(crate) fn exit_now(code: u8) -> ! {
    // `try_lock`: a thread stuck while holding the list must not keep us from exiting.
    if let Ok(files) = PID_FILES.try_lock() {
        for path in files.iter() {
            let _ = std::fs::remove_file(path);
        }
    }
    let _ = std::io::stderr().flush();
    let _ = std::io::stdout().flush();
    std::process::exit(i32::from(code))
}
