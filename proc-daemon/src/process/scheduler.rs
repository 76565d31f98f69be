//! Scheduler hints (feature `scheduler-hints`; `scheduler-hints-unix` is the published crate's
//! name for the same thing): the nice value and CPU set of `[performance]`, applied with system
//! calls — `setpriority(2)` and `sched_setaffinity(2)` on every thread of the process — and
//! per-thread CPU pinning of the tokio runtime. Linux only, like the rest of the runtime.
//!
//! A hint the system refuses is logged at debug level and ignored: a daemon must not fail to
//! start because a container does not grant `CAP_SYS_NICE` or pins it to other CPUs.
//!
//! [`DaemonBuilder::run`](crate::DaemonBuilder::run) applies the process hints, and
//! [`build_runtime`](crate::build_runtime) the runtime hints; an application that builds its
//! own runtime calls [`apply_runtime_hints`] on its builder:
//!
//! ```
//! use proc_daemon::{Config, scheduler};
//!
//! let mut config = Config::default();
//! config.performance.thread_pinning = true;
//! let mut builder = tokio::runtime::Builder::new_multi_thread();
//! scheduler::apply_runtime_hints(&mut builder, &config);
//! let runtime = builder.enable_all().build().unwrap();
//! let cpus = runtime.block_on(async {
//!     tokio::spawn(async { scheduler::allowed_cpus() }).await.unwrap()
//! });
//! assert_eq!(cpus.len(), 1); // a worker runs on exactly one CPU
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::Config;

/// Whether some runtime of this process was built with [`apply_runtime_hints`].
static RUNTIME_HINTS_APPLIED: AtomicBool = AtomicBool::new(false);

/// Applies `performance.nice` and `performance.cpu_affinity` to every thread of the process
/// (threads started later inherit them). Refusals are logged at debug level.
pub fn apply_process_hints(config: &Config) {
    let performance = &config.performance;
    if performance.thread_pinning && !RUNTIME_HINTS_APPLIED.load(Ordering::Relaxed) {
        tracing::warn!(
            "performance.thread_pinning only pins runtimes built by proc_daemon::build_runtime \
             (what #[daemon] and Launcher use) or with scheduler::apply_runtime_hints; \
             this daemon runs on a runtime built without it"
        );
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
    if !performance.cpu_affinity.is_empty() {
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
pub fn apply_runtime_hints(builder: &mut tokio::runtime::Builder, config: &Config) {
    if !config.performance.thread_pinning {
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

/// The CPUs the calling thread may run on.
#[must_use]
pub fn allowed_cpus() -> Vec<usize> {
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
}

/// The ids of the process's threads (only the calling one if `/proc` cannot be read).
fn process_threads() -> Vec<libc::pid_t> {
    std::fs::read_dir("/proc/self/task").map_or_else(
        // SAFETY: gettid has no preconditions.
        |_| vec![unsafe { libc::gettid() }],
        |tasks| {
            tasks
                .filter_map(|task| task.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        },
    )
}

/// Linux keeps the nice value per thread; `PRIO_PROCESS` with a thread id sets that thread's.
fn set_nice(tid: libc::pid_t, nice: i32) -> std::io::Result<()> {
    let who = libc::id_t::try_from(tid).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    // SAFETY: setpriority takes plain integers.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, who, nice) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Restricts thread `tid` (0: the calling thread) to `cpus`.
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
    fn a_refused_cpu_set_is_an_error_not_a_panic() {
        // A CPU this machine does not have: the kernel refuses an empty effective set.
        std::thread::spawn(|| assert!(set_affinity(0, &[1023]).is_err()))
            .join()
            .unwrap();
    }

    #[test]
    fn pinning_without_a_hinted_runtime_is_warned_about() {
        #[derive(Clone, Default)]
        struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .finish();
        let mut config = Config::default();
        config.performance.thread_pinning = true;
        // No test in this binary builds a runtime with the hints.
        tracing::subscriber::with_default(subscriber, || apply_process_hints(&config));
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(
            logged.contains(
                "performance.thread_pinning only pins runtimes built by proc_daemon::build_runtime"
            ),
            "{logged}"
        );
    }

    #[test]
    fn the_calling_process_has_threads() {
        // SAFETY: gettid has no preconditions.
        assert!(process_threads().contains(&unsafe { libc::gettid() }));
    }
}
