//! Runs every implementation on every workload, several times, interleaved, and prints Markdown
//! tables of medians with ratios to the floor.
//!
//! `harness [runs] [N ...]` — by default 5 runs, idle N = 1, 1000, 10000, 100000, then the
//! restart and cleanup workloads (`BENCH_WORKLOADS=idle,added,cleanup` picks some;
//! `BENCH_IMPLEMENTATIONS=ours` runs only ours beside the floor). Expects the implementations next to its own executable or in
//! `bench/peers/target/release` (`bench/run.sh` builds them).

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bench_workload::CLEANUP;

/// The floor first (ratios are to it), then ours (closures, then `#[subsystem]` types), then
/// the peers.
const IMPLEMENTATIONS: [&str; 5] = ["floor", "ours", "ours-macro", "tgs", "published"];

/// How long a process may take to exit after SIGTERM before it is called hung.
const STOP_PATIENCE: Duration = Duration::from_secs(60);
/// How long the restart workload runs between `ready` and SIGTERM.
const RESTART_WINDOW: Duration = Duration::from_secs(5);
/// Marks a run that had to be killed; wait(2) never reports -1 as a status.
const HUNG: i32 = -1;

#[derive(Clone, Debug, Default)]
struct Sample {
    start: Duration,
    stop: Duration,
    peak_rss_bytes: u64,
    /// Private (anonymous) resident memory once `ready` was printed: the heap, stacks and
    /// tasks, without the executable's and libraries' pages that peak RSS also counts.
    anon_rss_bytes: u64,
    cpu: Duration,
    /// `runs <count>` as printed at exit.
    runs: Option<u64>,
    /// How the process ended, if not with exit code 0 (the table says so instead of a time).
    unclean: Option<String>,
    /// The implementation's own word that it cannot run the workload.
    unsupported: Option<String>,
}

fn cpu_time(usage: &libc::rusage) -> Duration {
    let micros = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap())
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap())
    };
    micros(usage.ru_utime) + micros(usage.ru_stime)
}

/// Waits for the child, blocking in `wait4` (so the stop time is not rounded to a polling
/// interval), while a watchman kills it if it is still running [`STOP_PATIENCE`] after the
/// signal; returns its wait status (or [`HUNG`]) and resource usage.
fn reap(pid: i32, signalled: Instant) -> (i32, libc::rusage) {
    let (reaped, watched) = std::sync::mpsc::channel::<()>();
    let watchman = std::thread::spawn(move || {
        let patience = STOP_PATIENCE.saturating_sub(signalled.elapsed());
        let hung = watched.recv_timeout(patience).is_err();
        if hung {
            // SAFETY: our own child, not reaped yet (the main thread is still waiting for it).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        hung
    });
    let mut status = 0;
    // SAFETY: wait4 on our own child; the rusage is written by the kernel.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let waited = libc::wait4(pid, &raw mut status, 0, &raw mut usage);
        assert_eq!(waited, pid, "wait4 failed");
        usage
    };
    let _ = reaped.send(());
    if watchman.join().unwrap() {
        status = HUNG;
    }
    (status, usage)
}

fn describe_unclean(status: i32) -> Option<String> {
    if status == HUNG {
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
    }
}

/// Starts `program` with `args`, waits for `ready`, keeps it running for `hold`, sends
/// SIGTERM and measures.
// The child is reaped with wait4(2), which also reports its peak RSS and CPU time;
// `Child::wait` cannot.
#[allow(clippy::zombie_processes)]
fn run_once(program: &PathBuf, args: &[String], hold: Duration) -> Sample {
    let spawned = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env("DAEMON_LOGGING_LEVEL", "warn")
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let pid = i32::try_from(child.id()).unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while line.trim() != "ready" {
        line.clear();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "{} exited before reporting ready",
            program.display()
        );
        if let Some(reason) = line.trim().strip_prefix("unsupported: ") {
            reap(pid, Instant::now());
            return Sample {
                unsupported: Some(reason.to_owned()),
                ..Sample::default()
            };
        }
    }
    let start = spawned.elapsed();
    let anon_rss_bytes = anonymous_rss(pid);
    std::thread::sleep(hold); // the workload's measurement window, not synchronisation
    let signalled = Instant::now();
    // SAFETY: signalling our own child, which has not been reaped yet.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let (status, usage) = reap(pid, signalled);
    let stop = signalled.elapsed();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let runs = rest
        .lines()
        .find_map(|l| l.strip_prefix("runs ").and_then(|n| n.trim().parse().ok()));
    Sample {
        start,
        stop,
        peak_rss_bytes: u64::try_from(usage.ru_maxrss).unwrap() * 1024,
        anon_rss_bytes,
        cpu: cpu_time(&usage),
        runs,
        unclean: describe_unclean(status),
        unsupported: None,
    }
}

/// `RssAnon` of a running process, from `/proc/PID/status` (0 where there is none).
fn anonymous_rss(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let kib = line.strip_prefix("RssAnon:")?.trim().strip_suffix("kB")?;
                kib.trim().parse::<u64>().ok()
            })
        })
        .map_or(0, |kib| kib * 1024)
}

fn median<T: Copy + PartialOrd>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `value` with its ratio to the floor's, unless it is the floor.
fn with_ratio(value: String, implementation: usize, ratio: f64) -> String {
    if implementation == 0 {
        value
    } else {
        format!("{value} ({ratio:.2}x)")
    }
}

/// What to print instead of a measurement when a run could not make one.
fn failure(runs: &[Sample]) -> Option<String> {
    runs.iter().find_map(|s| {
        s.unsupported.clone().or_else(|| {
            s.unclean
                .as_ref()
                .map(|how| format!("no clean stop: {how}"))
        })
    })
}

struct Implementations {
    names: Vec<&'static str>,
    paths: Vec<PathBuf>,
}

impl Implementations {
    fn find() -> Self {
        let dir = std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        let peers = dir.join("../../bench/peers/target/release");
        // `BENCH_IMPLEMENTATIONS=ours` (comma-separated) runs only those beside the floor.
        let chosen = std::env::var("BENCH_IMPLEMENTATIONS").ok();
        let (names, paths) = IMPLEMENTATIONS
            .iter()
            .filter(|&&name| {
                name == "floor"
                    || chosen
                        .as_deref()
                        .is_none_or(|chosen| chosen.split(',').any(|c| c.trim() == name))
            })
            .filter_map(|&name| {
                [dir.join(name), peers.join(name)]
                    .into_iter()
                    .find(|p| p.exists())
                    .map(|path| (name, path))
            })
            .unzip();
        Self { names, paths }
    }

    /// `samples[implementation][case]`, each case run `runs` times, implementations interleaved.
    fn measure(&self, runs: usize, cases: &[Vec<String>], hold: Duration) -> Vec<Vec<Vec<Sample>>> {
        let mut samples = vec![vec![Vec::new(); cases.len()]; self.paths.len()];
        for _ in 0..runs {
            for (c, args) in cases.iter().enumerate() {
                for (i, path) in self.paths.iter().enumerate() {
                    samples[i][c].push(run_once(path, args, hold));
                }
            }
        }
        samples
    }
}

fn idle_table(
    implementations: &Implementations,
    runs: usize,
    counts: &[usize],
    (workload, title): (&str, &str),
) {
    let cases: Vec<Vec<String>> = counts
        .iter()
        .map(|n| vec![workload.to_owned(), n.to_string()])
        .collect();
    let samples = implementations.measure(runs, &cases, Duration::ZERO);
    let medians: Vec<Vec<(f64, f64, u64, u64)>> = samples
        .iter()
        .map(|per_count| {
            per_count
                .iter()
                .map(|runs| {
                    (
                        median(runs.iter().map(|s| millis(s.start)).collect()),
                        median(runs.iter().map(|s| millis(s.stop)).collect()),
                        median(runs.iter().map(|s| s.peak_rss_bytes).collect()),
                        median(runs.iter().map(|s| s.anon_rss_bytes).collect()),
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
    println!("### {title}\n");
    println!(
        "| implementation | N | start to all running | SIGTERM to exit | peak RSS | anonymous RSS at ready | bytes per subsystem |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (c, &n) in counts.iter().enumerate() {
        for (i, name) in implementations.names.iter().enumerate() {
            if let Some(reason) = samples[i][c].iter().find_map(|s| s.unsupported.as_ref()) {
                println!("| {name} | {n} | {reason} | – | – | – | – |");
                continue;
            }
            let (start, stop, rss, anon) = medians[i][c];
            let (floor_start, floor_stop, _, floor_anon) = medians[0][c];
            let bytes = per_subsystem(i, c).map_or_else(
                || "–".to_owned(),
                |b| {
                    let floor = per_subsystem(0, c).unwrap_or(b);
                    with_ratio(format!("{b:.0} B"), i, b / floor)
                },
            );
            #[allow(clippy::cast_precision_loss)]
            let rss_mib = rss as f64 / 1_048_576.0;
            #[allow(clippy::cast_precision_loss)]
            let (anon_mib, anon_over) = (
                anon as f64 / 1_048_576.0,
                (anon as f64 - floor_anon as f64) / 1_048_576.0,
            );
            let anon = if i == 0 {
                format!("{anon_mib:.2} MiB")
            } else {
                format!("{anon_mib:.2} MiB ({anon_over:+.2})")
            };
            println!(
                "| {name} | {n} | {} | {} | {rss_mib:.1} MiB | {anon} | {bytes} |",
                with_ratio(format!("{start:.1} ms"), i, start / floor_start),
                failure(&samples[i][c]).unwrap_or_else(|| with_ratio(
                    format!("{stop:.1} ms"),
                    i,
                    stop / floor_stop
                )),
            );
        }
    }
}

fn restart_table(implementations: &Implementations, runs: usize) {
    let samples = implementations.measure(runs, &[vec!["restart".to_owned()]], RESTART_WINDOW);
    let rate = |runs: &[Sample]| {
        #[allow(clippy::cast_precision_loss)]
        let per_second = |s: &Sample| {
            s.runs.unwrap_or(0).saturating_sub(1) as f64 / RESTART_WINDOW.as_secs_f64()
        };
        median(runs.iter().map(per_second).collect::<Vec<f64>>())
    };
    let cpu_per_restart = |runs: &[Sample]| {
        median(
            runs.iter()
                .map(|s| {
                    #[allow(clippy::cast_precision_loss)]
                    let restarts = s.runs.unwrap_or(0).saturating_sub(1).max(1) as f64;
                    s.cpu.as_secs_f64() * 1e6 / restarts
                })
                .collect::<Vec<f64>>(),
        )
    };
    println!(
        "\n### Restart throughput: one subsystem failing at once, for {} s\n",
        RESTART_WINDOW.as_secs()
    );
    println!("| implementation | restarts per second | CPU per restart | CPU used |");
    println!("|---|---:|---:|---:|");
    let floor_rate = rate(&samples[0][0]);
    let floor_cpu = cpu_per_restart(&samples[0][0]);
    for (i, name) in implementations.names.iter().enumerate() {
        let runs = &samples[i][0];
        if let Some(why) = failure(runs) {
            println!("| {name} | {why} | – | – |");
            continue;
        }
        let per_second = rate(runs);
        if per_second == 0.0 {
            println!("| {name} | 0: ran once, never restarted | – | – |");
            continue;
        }
        let cpu = median(
            runs.iter()
                .map(|s| s.cpu.as_secs_f64())
                .collect::<Vec<f64>>(),
        );
        let cpu_per = cpu_per_restart(runs);
        println!(
            "| {name} | {} | {} | {:.0} % of a core |",
            with_ratio(format!("{per_second:.0}"), i, per_second / floor_rate),
            with_ratio(format!("{cpu_per:.2} µs"), i, cpu_per / floor_cpu),
            cpu * 100.0 / RESTART_WINDOW.as_secs_f64(),
        );
    }
}

fn cleanup_table(implementations: &Implementations, runs: usize) {
    let samples = implementations.measure(runs, &[vec!["cleanup".to_owned()]], Duration::ZERO);
    println!(
        "\n### Shutdown with one subsystem that takes {} ms to clean up\n",
        CLEANUP.as_millis()
    );
    println!("| implementation | SIGTERM to exit | beyond the clean-up |");
    println!("|---|---:|---:|");
    for (i, name) in implementations.names.iter().enumerate() {
        let runs = &samples[i][0];
        if let Some(why) = failure(runs) {
            println!("| {name} | {why} | – |");
            continue;
        }
        let stop = median(runs.iter().map(|s| millis(s.stop)).collect::<Vec<f64>>());
        println!(
            "| {name} | {stop:.1} ms | {:.1} ms |",
            stop - millis(CLEANUP)
        );
    }
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
    let implementations = Implementations::find();
    assert_eq!(
        implementations.names.first(),
        Some(&"floor"),
        "the floor must be built"
    );
    let wanted =
        std::env::var("BENCH_WORKLOADS").unwrap_or_else(|_| "idle,added,restart,cleanup".into());
    let wants = |workload: &str| wanted.split(',').any(|w| w.trim() == workload);
    if wants("idle") {
        idle_table(&implementations, runs, &counts, ("idle", "Idle subsystems"));
    }
    if wants("added") {
        idle_table(
            &implementations,
            runs,
            &counts,
            (
                "added",
                "Idle subsystems added at run time (by a first subsystem, once it runs)",
            ),
        );
    }
    if wants("restart") {
        restart_table(&implementations, runs);
    }
    if wants("cleanup") {
        cleanup_table(&implementations, runs);
    }
}
