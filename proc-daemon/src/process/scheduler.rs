//! Scheduler hints (feature `scheduler-hints`; `scheduler-hints-unix` is the published crate's
//! name for the same thing): the nice value and CPU set of `[performance]`, applied with system
//! calls — `setpriority(2)` and `sched_setaffinity(2)` on every thread of the process — and
//! per-thread CPU pinning of the tokio runtime.
//!
//! CPU sets are Linux's: on macOS and the BSDs `performance.cpu_affinity`, `thread_pinning` and
//! `numa_aware` are logged as unsupported at start-up and change nothing, and `nice` applies to
//! the whole process (`setpriority(PRIO_PROCESS, 0)`) rather than to each thread.
//!
//! A hint the system refuses is logged at debug level and ignored: a daemon must not fail to
//! start because a container does not grant `CAP_SYS_NICE` or pins it to other CPUs.
//!
//! [`DaemonBuilder::run`](crate::DaemonBuilder::run) applies the process hints, and
//! [`build_runtime`](crate::build_runtime) the runtime hints; an application that builds its
//! own runtime calls [`configure_runtime`] on its builder:
//!
//! ```
//! use proc_daemon::{Config, scheduler};
//!
//! let mut config = Config::default();
//! config.performance.thread_pinning = true;
//! let mut builder = tokio::runtime::Builder::new_multi_thread();
//! scheduler::configure_runtime(&mut builder, &config);
//! let runtime = builder.enable_all().build().unwrap();
//! let cpus = runtime.block_on(async {
//!     tokio::spawn(async { scheduler::allowed_cpus() }).await.unwrap()
//! });
//! assert_eq!(cpus.len(), 1); // a worker runs on exactly one CPU
//! ```

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::Config;

/// Whether some runtime of this process was built with [`configure_runtime`].
static RUNTIME_HINTS_APPLIED: AtomicBool = AtomicBool::new(false);

/// Applies `performance.nice` and `performance.cpu_affinity` to every thread of the process
/// (threads started later inherit them). Refusals are logged at debug level.
pub fn apply_process_hints(config: &Config) {
    let performance = &config.performance;
    if let Some(warning) =
        unapplied_runtime_hint(performance, RUNTIME_HINTS_APPLIED.load(Ordering::Relaxed))
    {
        tracing::warn!("{warning}");
    }
    for warning in unsupported_hints(performance, CPU_SETS) {
        tracing::warn!("{warning}");
    }
    if performance.nice.is_none() && performance.cpu_affinity.is_empty() {
        return;
    }
    let threads = process_threads();
    if let Some(nice) = performance.nice {
        for &tid in &threads {
            if let Err(err) = set_nice(tid, nice) {
                tracing::debug!("scheduler hint: nice {nice} for thread {tid} refused: {err}");
            }
        }
    }
    if !performance.cpu_affinity.is_empty() && CPU_SETS {
        for &tid in &threads {
            if let Err(err) = set_affinity(tid, &performance.cpu_affinity) {
                tracing::debug!(
                    "scheduler hint: CPUs {:?} for thread {tid} refused: {err}",
                    performance.cpu_affinity
                );
            }
        }
    }
}

/// With `performance.thread_pinning`, pins each thread the runtime starts to one CPU,
/// round-robin over the CPUs the process may use when the thread starts. It takes tokio's
/// runtime `Builder` (a public dependency type) for programs that build their runtime
/// themselves.
///
/// With `performance.numa_aware` (and no `thread_pinning`), places the threads on the machine's
/// NUMA nodes in turn: each may run on the CPUs of its node.
pub fn configure_runtime(builder: &mut tokio::runtime::Builder, config: &Config) {
    if !CPU_SETS {
        // `apply_process_hints` says so; counted as applied so that it does not also warn
        // about a runtime built without them.
        RUNTIME_HINTS_APPLIED.store(true, Ordering::Relaxed);
        return;
    }
    if !config.performance.thread_pinning {
        if config.performance.numa_aware {
            place_on_numa_nodes(builder, numa_nodes(Path::new("/sys")));
        }
        return;
    }
    RUNTIME_HINTS_APPLIED.store(true, Ordering::Relaxed);
    let next = Arc::new(AtomicUsize::new(0));
    builder.on_thread_start(move || {
        let cpus = allowed_cpus();
        if cpus.is_empty() {
            return;
        }
        let cpu = cpus[next.fetch_add(1, Ordering::Relaxed) % cpus.len()];
        if let Err(err) = set_affinity(0, &[cpu]) {
            tracing::debug!("scheduler hint: pinning a runtime thread to CPU {cpu} refused: {err}");
        }
    });
}

/// Whether this platform has CPU sets (`sched_setaffinity(2)`): Linux only.
const CPU_SETS: bool = cfg!(target_os = "linux");

/// The warnings for the hints a platform without CPU sets lacks (none with them).
fn unsupported_hints(performance: &crate::PerformanceConfig, cpu_sets: bool) -> Vec<String> {
    if cpu_sets {
        return Vec::new();
    }
    [
        ("cpu_affinity", !performance.cpu_affinity.is_empty()),
        ("thread_pinning", performance.thread_pinning),
        ("numa_aware", performance.numa_aware),
    ]
    .into_iter()
    .filter(|&(_, set)| set)
    .map(|(key, _)| {
        format!(
            "performance.{key} needs CPU sets, which {} does not have; it is ignored",
            std::env::consts::OS
        )
    })
    .collect()
}

/// The warning for a runtime hint that asks for a runtime built with the hints, when none was
/// (`hinted_runtime`).
fn unapplied_runtime_hint(
    performance: &crate::PerformanceConfig,
    hinted_runtime: bool,
) -> Option<&'static str> {
    if hinted_runtime {
        None
    } else if performance.thread_pinning {
        Some(
            "performance.thread_pinning only pins runtimes built by proc_daemon::build_runtime \
             (what #[daemon] and Launcher use) or with scheduler::configure_runtime; this \
             daemon runs on a runtime built without it",
        )
    } else if performance.numa_aware {
        Some(
            "performance.numa_aware only places the threads of runtimes built by \
             proc_daemon::build_runtime or with scheduler::configure_runtime; this daemon \
             runs on a runtime built without it",
        )
    } else {
        None
    }
}

/// Each thread the runtime starts may run on the CPUs of the next node of `nodes`.
fn place_on_numa_nodes(builder: &mut tokio::runtime::Builder, nodes: Vec<Vec<usize>>) {
    if nodes.is_empty() {
        tracing::warn!(
            "performance.numa_aware: no NUMA nodes found under /sys/devices/system/node; threads are not placed"
        );
        return;
    }
    RUNTIME_HINTS_APPLIED.store(true, Ordering::Relaxed);
    tracing::debug!(
        "performance.numa_aware: placing runtime threads on {} NUMA node(s)",
        nodes.len()
    );
    let next = AtomicUsize::new(0);
    builder.on_thread_start(move || {
        let node = &nodes[next.fetch_add(1, Ordering::Relaxed) % nodes.len()];
        if let Err(err) = set_affinity(0, node) {
            tracing::debug!(
                "scheduler hint: placing a runtime thread on CPUs {node:?} refused: {err}"
            );
        }
    });
}

/// The CPUs of each NUMA node, from `<sys>/devices/system/node/node<N>/cpulist`, in node order;
/// nodes without CPUs are left out.
fn numa_nodes(sys: &Path) -> Vec<Vec<usize>> {
    let Ok(entries) = std::fs::read_dir(sys.join("devices/system/node")) else {
        return Vec::new();
    };
    let mut nodes: Vec<(usize, Vec<usize>)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let number: usize = entry
                .file_name()
                .to_str()?
                .strip_prefix("node")?
                .parse()
                .ok()?;
            let list = std::fs::read_to_string(entry.path().join("cpulist")).ok()?;
            let cpus = crate::config::parse_cpu_list(list.trim()).ok()?;
            (!cpus.is_empty()).then_some((number, cpus))
        })
        .collect();
    nodes.sort();
    nodes.into_iter().map(|(_, cpus)| cpus).collect()
}

/// Places the calling thread as [`configure_runtime`] places a runtime's threads: pinned to
/// one CPU with `performance.thread_pinning`, on a NUMA node with `performance.numa_aware`
/// (nothing otherwise). The configuration is [`Config::new`]'s — defaults and the `DAEMON_*`
/// environment. For threads an application starts itself; the published crate's function of
/// this name took no arguments and did nothing.
///
/// ```
/// proc_daemon::scheduler::apply_runtime_hints(); // neither hint is set: nothing changes
/// ```
pub fn apply_runtime_hints() {
    let Ok(config) = Config::new() else {
        return;
    };
    let performance = &config.performance;
    let cpus = allowed_cpus();
    let placement = if performance.thread_pinning {
        cpus.first().map(|&cpu| vec![cpu])
    } else if performance.numa_aware {
        numa_nodes(Path::new("/sys"))
            .into_iter()
            .find(|node| node.iter().any(|cpu| cpus.contains(cpu)))
    } else {
        None
    };
    if let Some(placement) = placement
        && let Err(err) = set_affinity(0, &placement)
    {
        tracing::debug!("scheduler hint: placing this thread on CPUs {placement:?} refused: {err}");
    }
}

/// The CPUs the calling thread may run on. Off Linux, which has no CPU sets here, every CPU
/// (`0..available_parallelism`).
#[must_use]
pub fn allowed_cpus() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &raw mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
    #[cfg(not(target_os = "linux"))]
    (0..std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)).collect()
}

/// The ids of the process's threads (only the calling one if `/proc` cannot be read). Off
/// Linux the nice value is the process's: one id, 0, meaning this process.
fn process_threads() -> Vec<libc::pid_t> {
    #[cfg(target_os = "linux")]
    return std::fs::read_dir("/proc/self/task").map_or_else(
        // SAFETY: gettid has no preconditions.
        |_| vec![unsafe { libc::gettid() }],
        |tasks| {
            tasks
                .filter_map(|task| task.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        },
    );
    #[cfg(not(target_os = "linux"))]
    vec![0]
}

/// Linux keeps the nice value per thread; `PRIO_PROCESS` with a thread id sets that thread's
/// (elsewhere, with 0, the process's).
fn set_nice(tid: libc::pid_t, nice: i32) -> std::io::Result<()> {
    // The parameters' types differ between platforms (an enum and `id_t` on glibc, ints on
    // FreeBSD): converted to whatever this one's `setpriority` takes.
    #[allow(clippy::useless_conversion)]
    let who = tid
        .try_into()
        .map_err(|_| std::io::ErrorKind::InvalidInput)?;
    #[allow(clippy::cast_lossless, clippy::unnecessary_cast)]
    let which = libc::PRIO_PROCESS as _;
    // SAFETY: setpriority takes plain integers.
    if unsafe { libc::setpriority(which, who, nice) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Restricts thread `tid` (0: the calling thread) to `cpus`. Unsupported off Linux.
#[cfg(not(target_os = "linux"))]
fn set_affinity(_tid: libc::pid_t, _cpus: &[usize]) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Restricts thread `tid` (0: the calling thread) to `cpus`.
#[cfg(target_os = "linux")]
fn set_affinity(tid: libc::pid_t, cpus: &[usize]) -> std::io::Result<()> {
    // SAFETY: CPU_SET on a zeroed set with indices below CPU_SETSIZE (validated with the
    // configuration); sched_setaffinity reads the set's size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus.iter().filter(|&&cpu| cpu < libc::CPU_SETSIZE as usize) {
            libc::CPU_SET(cpu, &mut set);
        }
        if libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &raw const set) == 0
        {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn a_thread_can_be_pinned_and_reads_its_set_back() {
        std::thread::spawn(|| {
            let first = allowed_cpus()[0];
            set_affinity(0, &[first]).unwrap();
            assert_eq!(allowed_cpus(), vec![first]);
        })
        .join()
        .unwrap();
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_refused_cpu_set_is_an_error_not_a_panic() {
        // A CPU this machine does not have: the kernel refuses an empty effective set.
        std::thread::spawn(|| assert!(set_affinity(0, &[1023]).is_err()))
            .join()
            .unwrap();
    }

    #[test]
    fn hints_a_platform_lacks_are_named_in_warnings() {
        let mut config = Config::default();
        config.performance.nice = Some(5);
        assert!(unsupported_hints(&config.performance, false).is_empty());
        config.performance.cpu_affinity = vec![0];
        config.performance.thread_pinning = true;
        let os = std::env::consts::OS;
        assert_eq!(
            unsupported_hints(&config.performance, false),
            [
                format!(
                    "performance.cpu_affinity needs CPU sets, which {os} does not have; it is ignored"
                ),
                format!(
                    "performance.thread_pinning needs CPU sets, which {os} does not have; it is ignored"
                ),
            ]
        );
        assert!(unsupported_hints(&config.performance, true).is_empty());
    }

    #[test]
    fn hints_without_a_hinted_runtime_are_warned_about() {
        let mut config = Config::default();
        assert_eq!(unapplied_runtime_hint(&config.performance, false), None);
        config.performance.numa_aware = true;
        assert!(
            unapplied_runtime_hint(&config.performance, false)
                .unwrap()
                .starts_with("performance.numa_aware only places")
        );
        config.performance.thread_pinning = true;
        let warning = unapplied_runtime_hint(&config.performance, false).unwrap();
        assert!(
            warning.starts_with(
                "performance.thread_pinning only pins runtimes built by proc_daemon::build_runtime"
            ),
            "{warning}"
        );
        assert_eq!(unapplied_runtime_hint(&config.performance, true), None);
    }

    #[test]
    fn numa_nodes_are_read_from_sysfs_in_node_order() {
        let sys = std::env::temp_dir().join(format!("proc-daemon-fake-sys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&sys);
        for (node, cpus) in [("node1", "2-3\n"), ("node0", "0,1\n"), ("node2", "\n")] {
            let dir = sys.join("devices/system/node").join(node);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("cpulist"), cpus).unwrap();
        }
        std::fs::create_dir_all(sys.join("devices/system/node/power")).unwrap();
        assert_eq!(numa_nodes(&sys), vec![vec![0, 1], vec![2, 3]]);
        assert!(numa_nodes(&sys.join("missing")).is_empty());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn numa_aware_runtime_threads_run_on_their_node() {
        let nodes = numa_nodes(Path::new("/sys"));
        if nodes.is_empty() {
            eprintln!("skipped: this machine shows no NUMA nodes");
            return;
        }
        let mut config = Config::default();
        config.performance.numa_aware = true;
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(1);
        configure_runtime(&mut builder, &config);
        let runtime = builder.enable_all().build().unwrap();
        let cpus =
            runtime.block_on(async { tokio::spawn(async { allowed_cpus() }).await.unwrap() });
        assert!(
            cpus.iter().all(|cpu| nodes[0].contains(cpu)),
            "{cpus:?} not within {:?}",
            nodes[0]
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_calling_process_has_threads() {
        // SAFETY: gettid has no preconditions.
        assert!(process_threads().contains(&unsafe { libc::gettid() }));
    }
}
