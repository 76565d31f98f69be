//! Status lines for a person at a terminal (feature `console`): when standard error is a
//! terminal, the daemon adds one line when it is up, when a subsystem restarts or fails, when
//! it starts stopping and when it has stopped — coloured unless `NO_COLOR` is set or
//! `logging.color = false`. When standard error is not a terminal (systemd, Kubernetes, a
//! pipe), nothing is added: the logs already say it all for machines.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use nu_ansi_term::Color;

use crate::Config;

const OFF: u8 = 0;
const PLAIN: u8 = 1;
const COLOUR: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(OFF);

/// Decides, once per run, whether and how lines are shown.
pub(crate) fn init(config: &Config) {
    let mode = if !std::io::stderr().is_terminal() {
        OFF
    } else if crate::process::logging::colour_on_stderr(config) {
        COLOUR
    } else {
        PLAIN
    };
    MODE.store(mode, Ordering::Relaxed);
}

fn show(mark: &str, colour: Color, text: &str) {
    let line = match MODE.load(Ordering::Relaxed) {
        OFF => return,
        COLOUR => format!("{} {text}\n", colour.bold().paint(mark)),
        _ => format!("{mark} {text}\n"),
    };
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

pub(crate) fn running(name: &str, subsystems: usize) {
    let plural = if subsystems == 1 { "" } else { "s" };
    show(
        "●",
        Color::Green,
        &format!(
            "{name} is running: {subsystems} subsystem{plural} (pid {})",
            std::process::id()
        ),
    );
}

pub(crate) fn restarting(subsystem: &str, restart: u32, after: Duration) {
    show(
        "↻",
        Color::Yellow,
        &format!("subsystem `{subsystem}` restarting (restart {restart}, after {after:?})"),
    );
}

pub(crate) fn failed(subsystem: &str, error: &str) {
    show(
        "✗",
        Color::Red,
        &format!("subsystem `{subsystem}` failed: {error}"),
    );
}

pub(crate) fn stopping(name: &str, reason: &str) {
    show(
        "●",
        Color::Yellow,
        &format!("{name} is stopping ({reason})"),
    );
}

pub(crate) fn stopped<T>(name: &str, outcome: &crate::Result<T>, took: Duration) {
    let took = Duration::from_micros(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
    match outcome {
        Ok(_) => show(
            "●",
            Color::Green,
            &format!("{name} stopped cleanly in {took:?}"),
        ),
        Err(err) => show(
            "✗",
            Color::Red,
            &format!("{name} stopped in {took:?}: {err}"),
        ),
    }
}
