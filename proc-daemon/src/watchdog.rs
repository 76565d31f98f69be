//! The last two shutdown deadlines, enforced by a thread outside the async runtime so that no
//! blocked task or wedged worker can keep the process alive past them.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use crate::cleanup;
use crate::daemon::Shared;
use crate::error::exit_code;

/// Armed when shutdown starts; disarmed when dropped (the daemon finished in time).
pub(crate) struct Watchdog {
    _disarm: mpsc::Sender<()>,
}

/// Starts the watchdog: at `force` after now the process exits (PID file removed, logs
/// flushed) if the daemon has not finished; at `kill` it ends the process with `_exit`, whatever
/// it is doing.
pub(crate) fn arm(shared: Arc<Shared>, force: Duration, kill: Duration) -> Watchdog {
    let (disarm, disarmed) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("proc-daemon-watchdog".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            let started = std::time::Instant::now();
            if disarmed.recv_timeout(force) != Err(mpsc::RecvTimeoutError::Timeout) {
                return;
            }
            let stuck = shared.unfinished_subsystems();
            let _ = std::thread::Builder::new()
                .name("proc-daemon-force-exit".into())
                .spawn(move || {
                    tracing::error!(
                        "shutdown did not finish within force_timeout_ms ({force:?}); exiting \
                         without waiting for: {}",
                        if stuck.is_empty() {
                            "runtime threads".to_owned()
                        } else {
                            stuck
                        }
                    );
                    cleanup::exit_now(exit_code::SHUTDOWN_OVERRUN)
                });
            std::thread::sleep(kill.saturating_sub(started.elapsed()));
            let message = b"proc-daemon: kill_timeout_ms reached; ending the process now\n";
            // SAFETY: write(2) and _exit(2) are async-signal-safe and need no Rust state; this is
            // the one exit that must work even if every other thread is wedged holding locks.
            unsafe {
                libc::write(2, message.as_ptr().cast(), message.len());
                libc::_exit(i32::from(exit_code::SHUTDOWN_OVERRUN));
            }
        });
    if let Err(err) = spawned {
        tracing::error!("could not start the shutdown watchdog thread: {err}");
    }
    Watchdog { _disarm: disarm }
}
