//! Scheduler hints of `[performance]`, read back from `/proc` of a running daemon.

use std::time::{Duration, Instant};

use tests::{Exit, PATIENCE, Process};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

/// `(thread name, status file, stat file)` for every thread of `pid`.
fn threads(pid: i32) -> Vec<(String, String, String)> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|task| {
            let dir = task.unwrap().path();
            let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap_or_default();
            (read("comm").trim().to_owned(), read("status"), read("stat"))
        })
        .collect()
}

/// The threads once at least two runtime threads exist and each has pinned itself: a thread
/// shows in `/proc` as soon as it is created, but pins itself only when it first runs, which on
/// a loaded machine can come after the subsystems are running on the other worker. Polls (the
/// affinity in `/proc` is the observable event); after `PATIENCE`, the last reading.
fn pinned_workers(pid: i32) -> Vec<(String, String, String)> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let threads = threads(pid);
        let workers: Vec<&str> = threads
            .iter()
            .filter(|(name, ..)| name.starts_with("fixture-worker"))
            .map(|(_, status, _)| field(status, "Cpus_allowed_list:"))
            .collect();
        let pinned = workers.len() >= 2 && workers.iter().all(|cpu| cpu.parse::<usize>().is_ok());
        if pinned || Instant::now() >= deadline {
            return threads;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn field<'a>(status: &'a str, name: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_default()
        .trim()
}

/// The nice value: field 19 of `stat`, counted after the parenthesised command name.
fn nice(stat: &str) -> i32 {
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(16).unwrap().parse().unwrap()
}

fn cpus_of_this_machine() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// A CPU this test may use (a container's CPU set need not contain CPU 0).
fn an_allowed_cpu() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let list = field(&status, "Cpus_allowed_list:");
    list.split([',', '-']).next().unwrap().to_owned()
}

#[test]
fn nice_and_cpu_affinity_apply_to_every_thread() {
    let cpu = an_allowed_cpu();
    let mut daemon = Process::start(
        FIXTURE,
        &["idle"],
        &[
            ("DAEMON_PERFORMANCE_NICE", "5"),
            ("DAEMON_PERFORMANCE_CPU_AFFINITY", &cpu),
            ("DAEMON_PERFORMANCE_WORKER_THREADS", "2"),
        ],
    );
    daemon.wait_for("all 2 subsystem(s) are running");
    let threads = threads(daemon.pid());
    // The signal thread and the watchdog start before the hints; the runtime's workers after.
    assert!(threads.len() >= 3, "{threads:?}");
    for (name, status, stat) in &threads {
        assert_eq!(field(status, "Cpus_allowed_list:"), cpu, "thread {name}");
        assert_eq!(nice(stat), 5, "thread {name}");
    }
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn thread_pinning_gives_each_runtime_thread_one_cpu() {
    let mut daemon = Process::start(
        FIXTURE,
        &["idle"],
        &[
            ("DAEMON_PERFORMANCE_THREAD_PINNING", "true"),
            ("DAEMON_PERFORMANCE_WORKER_THREADS", "2"),
        ],
    );
    daemon.wait_for("all 2 subsystem(s) are running");
    let threads = pinned_workers(daemon.pid());
    let workers: Vec<&(String, String, String)> = threads
        .iter()
        .filter(|(name, ..)| name.starts_with("fixture-worker"))
        .collect();
    assert!(workers.len() >= 2, "{threads:?}");
    let mut pinned_to: Vec<&str> = workers
        .iter()
        .map(|(_, status, _)| field(status, "Cpus_allowed_list:"))
        .collect();
    for cpu in &pinned_to {
        assert!(
            cpu.parse::<usize>().is_ok(),
            "a runtime thread may run on {cpu:?}"
        );
    }
    pinned_to.sort_unstable();
    pinned_to.dedup();
    // Round-robin: with two CPUs the two workers do not share one.
    assert_eq!(pinned_to.len(), workers.len().min(cpus_of_this_machine()));
    // The main thread is not pinned.
    let main = threads.iter().find(|(name, ..)| name == "fixture").unwrap();
    if cpus_of_this_machine() > 1 {
        assert!(
            field(&main.1, "Cpus_allowed_list:")
                .parse::<usize>()
                .is_err()
        );
    }
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn a_refused_hint_is_logged_and_the_daemon_runs_on() {
    // Valid configuration, but no such CPU on this machine: the kernel refuses the set.
    let mut daemon = Process::start(
        FIXTURE,
        &["idle"],
        &[
            ("DAEMON_PERFORMANCE_CPU_AFFINITY", "1000"),
            ("DAEMON_LOGGING_LEVEL", "debug"),
        ],
    );
    daemon.wait_for("scheduler hint: CPUs [1000] for thread");
    daemon.wait_for("all 2 subsystem(s) are running");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}
