//! The last two shutdown deadlines, enforced by a thread outside the async runtime so that no
//! blocked task or wedged worker can keep the process alive past them.
//!
//! One watchdog thread serves the whole process; it is started with the first shutdown and
//! sleeps until the earliest armed deadline, so arming and disarming cost a lock, not a thread.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::error::exit_code;
use crate::process::cleanup;

/// What the watchdog needs to know of a daemon: which subsystems have not finished, to name
/// them when it forces the exit.
pub(crate) trait Unfinished: Send + Sync {
    /// The unfinished subsystems' names, for the log (empty if none).
    fn unfinished(&self) -> String;
}

struct Armed {
    id: u64,
    force: Duration,
    force_at: Instant,
    kill_at: Instant,
    forced: bool,
    daemon: Arc<dyn Unfinished>,
}

struct Deadlines {
    armed: Vec<Armed>,
    next_id: u64,
    /// When the thread will next wake by itself (`None`: only when notified).
    wakes_at: Option<Instant>,
}

static DEADLINES: Mutex<Deadlines> = Mutex::new(Deadlines {
    armed: Vec::new(),
    next_id: 0,
    wakes_at: None,
});
static WAKE: Condvar = Condvar::new();
static THREAD: OnceLock<bool> = OnceLock::new();

fn deadlines() -> MutexGuard<'static, Deadlines> {
    crate::lock::mutex(&DEADLINES)
}

/// Disarms the deadlines armed with `ticket` (the daemon finished in time).
pub(crate) fn disarm(ticket: u64) {
    deadlines().armed.retain(|armed| armed.id != ticket);
}

/// Arms the deadlines of one shutdown that starts now: at `force` the process exits (PID file
/// removed, output flushed) if `daemon` has not finished; at `kill` it ends with `_exit`,
/// whatever it is doing. Returns the ticket to [`disarm`] them with.
pub(crate) fn arm(daemon: Arc<dyn Unfinished>, force: Duration, kill: Duration) -> u64 {
    let running = *THREAD.get_or_init(|| {
        std::thread::Builder::new()
            .name("proc-daemon-watchdog".into())
            .stack_size(128 * 1024)
            .spawn(watch)
            .inspect_err(|err| {
                tracing::error!("could not start the shutdown watchdog thread: {err}")
            })
            .is_ok()
    });
    let now = Instant::now();
    let mut deadlines = deadlines();
    let id = deadlines.next_id;
    deadlines.next_id += 1;
    if running {
        let force_at = now + force;
        deadlines.armed.push(Armed {
            id,
            force,
            force_at,
            kill_at: now + kill.max(force),
            forced: false,
            daemon,
        });
        // Waking the thread costs a context switch; it is only needed if it would otherwise
        // sleep past this deadline.
        if deadlines
            .wakes_at
            .is_none_or(|wakes_at| force_at < wakes_at)
        {
            WAKE.notify_one();
        }
    }
    id
}

fn watch() {
    let mut deadlines = deadlines();
    loop {
        let now = Instant::now();
        for armed in &mut deadlines.armed {
            if now >= armed.kill_at {
                kill();
            }
            if !armed.forced && now >= armed.force_at {
                armed.forced = true;
                force_exit(armed.force, &*armed.daemon);
            }
        }
        let next = deadlines
            .armed
            .iter()
            .map(|armed| {
                if armed.forced {
                    armed.kill_at
                } else {
                    armed.force_at
                }
            })
            .min();
        deadlines.wakes_at = next;
        deadlines = match next {
            None => WAKE
                .wait(deadlines)
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            Some(at) => {
                WAKE.wait_timeout(deadlines, at.saturating_duration_since(now))
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0
            }
        };
    }
}

/// Starts the orderly forced exit; the watchdog stays free to `kill` at the last deadline if
/// that exit hangs (a lock held by a stuck thread, an `atexit` handler).
fn force_exit(force: Duration, daemon: &dyn Unfinished) {
    // PID files first (inside `begin_exit`), before anything that can block.
    let stuck = daemon.unfinished();
    cleanup::begin_exit(
        exit_code::SHUTDOWN_OVERRUN,
        format!(
            "shutdown did not finish within force_timeout_ms ({force:?}); exiting without \
             waiting for: {}",
            if stuck.is_empty() {
                "runtime threads".to_owned()
            } else {
                stuck
            }
        ),
    );
}

fn kill() -> ! {
    cleanup::hard_exit(
        exit_code::SHUTDOWN_OVERRUN,
        b"proc-daemon: shutdown.kill_timeout_ms reached; ending the process now\n",
    )
}
