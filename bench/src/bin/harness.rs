//! Runs every implementation for each N, several times, interleaved, and prints a Markdown table
//! of medians with ratios to the floor.
//!
//! `harness [runs] [N ...]` — by default 5 runs of N = 1, 1000, 10000, 100000. Expects the
//! implementations next to its own executable (`bench/run.sh` builds them).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The floor first (ratios are to it), then ours, then the peers (built by `bench/run.sh` in
/// `bench/peers/`, their own workspace).
const IMPLEMENTATIONS: [&str; 4] = ["idle-floor", "idle-ours", "idle-tgs", "idle-published"];

/// How long a process may take to exit after SIGTERM before it is called hung.
const STOP_PATIENCE: Duration = Duration::from_secs(60);
/// Marks a run that had to be killed; wait(2) never reports -1 as a status.
const HUNG: i32 = -1;

#[derive(Clone, Debug)]
struct Sample {
    start: Duration,
    stop: Duration,
    peak_rss_bytes: u64,
    /// How the process ended, if not with exit code 0 (the table says so instead of a time).
    unclean: Option<String>,
}

// The child is reaped with wait4(2), which also reports its peak RSS; `Child::wait` cannot.
#[allow(clippy::zombie_processes)]
fn run_once(program: &PathBuf, n: usize) -> Sample {
    let spawned = Instant::now();
    let mut child = Command::new(program)
        .arg(n.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("DAEMON_LOGGING_LEVEL", "warn")
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while line.trim() != "ready" {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "{} exited before reporting ready",
            program.display()
        );
    }
    let start = spawned.elapsed();
    let pid = i32::try_from(child.id()).unwrap();
    let signalled = Instant::now();
    let mut status = 0;
    // SAFETY: kill and wait4 on our own child; the rusage is written by the kernel.
    let usage = unsafe {
        libc::kill(pid, libc::SIGTERM);
        let mut usage: libc::rusage = std::mem::zeroed();
        // Polled (WNOHANG) so a process that never exits is recorded as hung, then killed.
        loop {
            let waited = libc::wait4(pid, &raw mut status, libc::WNOHANG, &raw mut usage);
            assert!(waited >= 0, "wait4 failed");
            if waited == pid {
                break;
            }
            if signalled.elapsed() > STOP_PATIENCE {
                libc::kill(pid, libc::SIGKILL);
                libc::wait4(pid, &raw mut status, 0, &raw mut usage);
                status = HUNG;
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        usage
    };
    let stop = signalled.elapsed();
    let unclean = if status == HUNG {
        Some(format!(
            "hung: still running {}s after SIGTERM",
            STOP_PATIENCE.as_secs()
        ))
    } else if libc::WIFEXITED(status) {
        let code = libc::WEXITSTATUS(status);
        (code != 0).then(|| format!("exit code {code}"))
    } else if libc::WIFSIGNALED(status) {
        Some(format!("killed by signal {}", libc::WTERMSIG(status)))
    } else {
        Some(format!("status {status:#x}"))
    };
    Sample {
        start,
        stop,
        peak_rss_bytes: u64::try_from(usage.ru_maxrss).unwrap() * 1024,
        unclean,
    }
}

fn median<T: Copy + PartialOrd>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map_or(5, |r| r.parse().expect("runs"));
    let counts: Vec<usize> = {
        let given: Vec<usize> = args.map(|n| n.parse().expect("N")).collect();
        if given.is_empty() {
            vec![1, 1_000, 10_000, 100_000]
        } else {
            given
        }
    };
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let peers = dir.join("../../bench/peers/target/release");
    let locate = |name: &str| {
        [dir.join(name), peers.join(name)]
            .into_iter()
            .find(|p| p.exists())
    };
    let available: Vec<&str> = IMPLEMENTATIONS
        .iter()
        .copied()
        .filter(|name| locate(name).is_some())
        .collect();

    // samples[implementation][count] = runs
    let mut samples = vec![vec![Vec::new(); counts.len()]; available.len()];
    for _ in 0..runs {
        for (c, &n) in counts.iter().enumerate() {
            for (i, name) in available.iter().enumerate() {
                samples[i][c].push(run_once(&locate(name).unwrap(), n));
            }
        }
    }

    println!(
        "| implementation | N | start to all running | SIGTERM to exit | peak RSS | bytes per subsystem |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let medians: Vec<Vec<(f64, f64, u64)>> = samples
        .iter()
        .map(|per_count| {
            per_count
                .iter()
                .map(|runs| {
                    (
                        median(runs.iter().map(|s| s.start.as_secs_f64() * 1e3).collect()),
                        median(runs.iter().map(|s| s.stop.as_secs_f64() * 1e3).collect()),
                        median(runs.iter().map(|s| s.peak_rss_bytes).collect()),
                    )
                })
                .collect()
        })
        .collect();
    let per_subsystem = |i: usize, c: usize| -> Option<f64> {
        let n = counts[c];
        let base = counts.iter().position(|&m| m == 1)?;
        (n > 1).then(|| {
            let grown = medians[i][c].2.saturating_sub(medians[i][base].2);
            #[allow(clippy::cast_precision_loss)]
            let bytes = grown as f64 / (n - 1) as f64;
            bytes
        })
    };
    for (c, &n) in counts.iter().enumerate() {
        for (i, name) in available.iter().enumerate() {
            let (start, stop, rss) = medians[i][c];
            let unclean = samples[i][c].iter().find_map(|s| s.unclean.clone());
            let (floor_start, floor_stop, _) = medians[0][c];
            let ratio = |value: f64, floor: f64| {
                if i == 0 {
                    String::new()
                } else {
                    format!(" ({:.2}x)", value / floor)
                }
            };
            let bytes = per_subsystem(i, c).map_or_else(
                || "–".to_owned(),
                |b| {
                    let floor = per_subsystem(0, c).unwrap_or(b);
                    format!("{b:.0} B{}", ratio(b, floor))
                },
            );
            #[allow(clippy::cast_precision_loss)]
            let rss_mib = rss as f64 / 1_048_576.0;
            println!(
                "| {name} | {n} | {start:.1} ms{} | {} | {rss_mib:.1} MiB | {bytes} |",
                ratio(start, floor_start),
                unclean.map_or_else(
                    || format!("{stop:.1} ms{}", ratio(stop, floor_stop)),
                    |how| format!("no clean stop: {how}"),
                ),
            );
        }
    }
}
