//! Signals: caught from the first moment of the process and handed to the running daemon.
//!
//! Handlers are installed once per process by [`install`] (the daemon calls it first thing;
//! call it yourself even earlier if you like). A dedicated thread receives the signals, so they
//! are handled even when every runtime worker is blocked. A shutdown signal that arrives before a
//! daemon is running is remembered and starts the shutdown as soon as one is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::Signals;

use crate::error::exit_code;
use crate::process::{cleanup, log_file, logging, reload, upgrade};
use crate::state::{Shared, ShutdownReason, signal_name};
use crate::supervision::lifecycle::request_shutdown;

/// Which signals the daemon acts on. A signal that is turned off gets its default action (for
/// all of these: the process ends, by the signal).
///
/// ```
/// use proc_daemon::SignalConfig;
///
/// let signals = SignalConfig::new().sigquit(false);
/// assert!(signals.handles(libc::SIGTERM));
/// assert!(!signals.handles(libc::SIGQUIT));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalConfig {
    bits: u8,
}

const TERM: u8 = 1;
const INT: u8 = 2;
const QUIT: u8 = 4;
const HUP: u8 = 8;
const USR1: u8 = 16;
const USR2: u8 = 32;

impl Default for SignalConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl SignalConfig {
    /// Every signal handled: SIGTERM, SIGINT, SIGQUIT start a graceful shutdown; SIGHUP asks for
    /// a configuration reload; SIGUSR1 asks for log files to be reopened; SIGUSR2 asks for an
    /// upgrade (the executable started anew, taking over the sockets).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            bits: TERM | INT | QUIT | HUP | USR1 | USR2,
        }
    }

    const fn with(self, bit: u8, on: bool) -> Self {
        Self {
            bits: if on {
                self.bits | bit
            } else {
                self.bits & !bit
            },
        }
    }

    /// Whether SIGTERM starts a graceful shutdown.
    #[must_use]
    pub const fn sigterm(self, on: bool) -> Self {
        self.with(TERM, on)
    }

    /// Whether SIGINT starts a graceful shutdown.
    #[must_use]
    pub const fn sigint(self, on: bool) -> Self {
        self.with(INT, on)
    }

    /// Whether SIGQUIT starts a graceful shutdown.
    #[must_use]
    pub const fn sigquit(self, on: bool) -> Self {
        self.with(QUIT, on)
    }

    /// Whether SIGHUP is handled (reload) rather than ending the process.
    #[must_use]
    pub const fn sighup(self, on: bool) -> Self {
        self.with(HUP, on)
    }

    /// Whether SIGUSR1 is handled (reopen logs) rather than ending the process.
    #[must_use]
    pub const fn sigusr1(self, on: bool) -> Self {
        self.with(USR1, on)
    }

    /// Whether SIGUSR2 is handled (upgrade) rather than ending the process.
    #[must_use]
    pub const fn sigusr2(self, on: bool) -> Self {
        self.with(USR2, on)
    }

    /// Whether `signal` is acted on.
    #[must_use]
    pub const fn handles(self, signal: i32) -> bool {
        let bit = match signal {
            SIGTERM => TERM,
            SIGINT => INT,
            SIGQUIT => QUIT,
            SIGHUP => HUP,
            SIGUSR1 => USR1,
            SIGUSR2 => USR2,
            _ => 0,
        };
        self.bits & bit != 0
    }

    pub(crate) const fn to_bits(self) -> u8 {
        self.bits
    }

    pub(crate) const fn from_bits(bits: u8) -> Self {
        Self { bits }
    }
}

const fn is_shutdown_signal(signal: i32) -> bool {
    matches!(signal, SIGTERM | SIGINT | SIGQUIT)
}

/// Where signals go: the attached daemon, or a note for the next one.
struct Dispatch {
    target: Option<Arc<Shared>>,
    /// A shutdown signal received while no daemon was attached.
    pending: Option<i32>,
    /// Shutdown signals the attached daemon has received.
    received: u32,
}

static DISPATCH: Mutex<Dispatch> = Mutex::new(Dispatch {
    target: None,
    pending: None,
    received: 0,
});
static INSTALLED: OnceLock<()> = OnceLock::new();

fn dispatch() -> std::sync::MutexGuard<'static, Dispatch> {
    crate::lock::mutex(&DISPATCH)
}

/// Installs the process's handlers for SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1 and SIGUSR2 and starts
/// the thread that receives them. Idempotent and cheap after the first call.
///
/// From this moment none of these signals can kill the process by its default action while the
/// daemon is starting: a shutdown signal received before [`crate::DaemonBuilder::run`] is
/// remembered and honoured as soon as it runs.
///
/// ```
/// proc_daemon::signal::install().unwrap();
/// proc_daemon::signal::install().unwrap(); // a no-op
/// ```
///
/// # Errors
/// The error of `sigaction` or of spawning the thread.
pub fn install() -> std::io::Result<()> {
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _guard = crate::lock::mutex(&INSTALLING);
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let mut signals = with_signals_blocked(|| Signals::new(HANDLED))?;
    // Spawned while a load-time block still holds: the thread only reads the handlers' pipe.
    std::thread::Builder::new()
        .name("proc-daemon-signals".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            for signal in signals.forever() {
                deliver(signal);
            }
        })?;
    if BLOCKED_AT_LOAD.load(Ordering::Acquire) {
        // The handlers exist: what was held since load time is delivered now, to them.
        set_handled_mask(libc::SIG_UNBLOCK);
    }
    let _ = INSTALLED.set(());
    Ok(())
}

static BLOCKED_AT_LOAD: AtomicBool = AtomicBool::new(false);

/// Blocks the handled signals on the calling thread until [`install`] has put their handlers in
/// place. `#[daemon]` registers this as a load-time constructor (`.init_array`), so a SIGTERM
/// sent right after `exec` stays pending instead of ending the process by its default action
/// before `main` runs; only the dynamic loader's own work comes before it. At load time the
/// process has one thread, and every thread it starts before `install` inherits the block.
pub extern "C" fn block_until_installed() {
    set_handled_mask(libc::SIG_BLOCK);
    BLOCKED_AT_LOAD.store(true, Ordering::Release);
}

/// Whether [`block_until_installed`] ran (before `main`, under `#[daemon]`).
pub(crate) fn blocked_at_load() -> bool {
    BLOCKED_AT_LOAD.load(Ordering::Acquire)
}

fn set_handled_mask(how: libc::c_int) {
    // SAFETY: plain sigset manipulation on a stack value, and pthread_sigmask on this thread;
    // both are async-signal-safe and need nothing of std, so this may run before `main`.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut set);
        for signal in HANDLED {
            libc::sigaddset(&raw mut set, signal);
        }
        libc::pthread_sigmask(how, &raw const set, std::ptr::null_mut());
    }
}

const HANDLED: [i32; 6] = [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2];

/// Runs `register` with the handled signals blocked on this thread. Between `sigaction` and the
/// moment the handler's table knows the signal, a delivered signal would be dropped; blocked, it
/// stays pending in the kernel and is delivered when the mask is restored. (Threads that exist
/// already and do not block it could still take it in that window: install before spawning
/// threads, as `Launcher` and `#[daemon]` do.)
fn with_signals_blocked<T>(register: impl FnOnce() -> T) -> T {
    // SAFETY: plain sigset manipulation on stack values, and pthread_sigmask on this thread.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut previous: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut block);
        for signal in HANDLED {
            libc::sigaddset(&raw mut block, signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &raw const block, &raw mut previous);
        let result = register();
        libc::pthread_sigmask(libc::SIG_SETMASK, &raw const previous, std::ptr::null_mut());
        result
    }
}

fn deliver(signal: i32) {
    let mut dispatch = dispatch();
    let Some(target) = dispatch.target.clone() else {
        if is_shutdown_signal(signal) {
            if let Some(first) = dispatch.pending {
                drop(dispatch);
                force_exit(first, signal);
            }
            dispatch.pending = Some(signal);
        }
        return;
    };
    let config = SignalConfig::from_bits(target.signal_bits.load(Ordering::Acquire));
    if !config.handles(signal) {
        drop(dispatch);
        tracing::warn!(
            "received {}; it is not handled, so it ends the process",
            signal_name(signal)
        );
        let _ = signal_hook::low_level::emulate_default_handler(signal);
        return;
    }
    if is_shutdown_signal(signal) {
        dispatch.received += 1;
        let received = dispatch.received;
        drop(dispatch);
        if received == 1 {
            request_shutdown(&target, ShutdownReason::Signal(signal));
        } else {
            force_exit(signal, signal);
        }
        return;
    }
    drop(dispatch);
    match signal {
        // Reloaded here, off the runtime: it needs no worker and is done when the next signal
        // is read. A failed reload is logged and counted by `reload`; the daemon carries on.
        SIGHUP => {
            let _ = reload::reload(&target.config, "SIGHUP");
        }
        SIGUSR1 => {
            if logging::writes_to_file() {
                log_file::request_reopen();
                tracing::info!("received SIGUSR1: reopening the log file");
            } else {
                tracing::info!("received SIGUSR1: logs go to standard error; nothing to reopen");
            }
        }
        // The upgrade's outcome is logged by `upgrade`; nobody else waits for it.
        SIGUSR2 => upgrade::start(&target, "SIGUSR2", drop),
        _ => {}
    }
}

fn force_exit(first: i32, second: i32) -> ! {
    let code = exit_code::forced_by_signal(second);
    cleanup::exit_now(
        code,
        format!(
            "received {} during shutdown (after {}); exiting now with code {code}",
            signal_name(second),
            signal_name(first),
        ),
    )
}

/// Sends signals to `shared` until the returned guard is dropped. A shutdown signal received
/// before now starts its shutdown at once.
pub(crate) fn attach(shared: &Arc<Shared>) -> Attachment {
    let mut dispatch = dispatch();
    dispatch.target = Some(shared.clone());
    dispatch.received = 0;
    if let Some(signal) = dispatch.pending.take() {
        dispatch.received = 1;
        drop(dispatch);
        request_shutdown(shared, ShutdownReason::Signal(signal));
    }
    Attachment(shared.clone())
}

/// Detaches the daemon from signal delivery when dropped.
#[derive(Debug)]
pub(crate) struct Attachment(Arc<Shared>);

impl Drop for Attachment {
    fn drop(&mut self) {
        let mut dispatch = dispatch();
        if dispatch
            .target
            .as_ref()
            .is_some_and(|t| Arc::ptr_eq(t, &self.0))
        {
            dispatch.target = None;
            dispatch.received = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_toggles_each_signal() {
        let config = SignalConfig::new().sigint(false).sighup(false);
        assert!(config.handles(SIGTERM) && config.handles(SIGQUIT) && config.handles(SIGUSR1));
        assert!(!config.handles(SIGINT) && !config.handles(SIGHUP));
        assert!(config.handles(SIGUSR2));
        assert!(!config.sigusr2(false).handles(SIGUSR2));
        assert!(config.sigint(true).handles(SIGINT));
    }

    #[test]
    fn names() {
        assert_eq!(signal_name(SIGTERM), "SIGTERM");
        assert_eq!(signal_name(SIGQUIT), "SIGQUIT");
        assert_eq!(signal_name(SIGUSR2), "SIGUSR2");
        assert_eq!(signal_name(libc::SIGWINCH), "signal");
    }
}
