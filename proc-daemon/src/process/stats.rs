//! This process's own resource use: from `/proc/self` on Linux, through `sysinfo` elsewhere.
//!
//! Linux keeps the direct read: one `read(2)` of `/proc/self/stat` costs a fraction of what
//! `sysinfo`'s refresh does (docs/PERFORMANCE.md, "Process readings"), and `/metrics` reads it
//! on every scrape.

/// One reading of the process's resource use.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct ProcessStats {
    /// User + system CPU time, in seconds.
    pub(crate) cpu_seconds: f64,
    /// Resident memory, in bytes.
    pub(crate) resident_bytes: u64,
    /// OS threads; 0 where the platform does not say (neither macOS nor FreeBSD: see
    /// [`thread_count`]).
    pub(crate) threads: u64,
}

impl ProcessStats {
    /// This process's resource use now; `None` where it cannot be read.
    pub(crate) fn read() -> Option<Self> {
        #[cfg(target_os = "linux")]
        return Self::from_proc();
        #[cfg(not(target_os = "linux"))]
        return Self::from_sysinfo();
    }

    /// Reads `/proc/self/stat`.
    #[cfg(target_os = "linux")]
    fn from_proc() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The fields after the parenthesised command name, which may itself contain spaces.
        let (_, rest) = stat.rsplit_once(')')?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let number = |index: usize| fields.get(index).and_then(|f| f.parse::<u64>().ok());
        // SAFETY: sysconf with valid names only reads system configuration.
        let (ticks, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        let (ticks, page) = (u64::try_from(ticks).ok()?, u64::try_from(page).ok()?);
        // stat(5) numbers fields from 1 with the name as field 2: utime is 14, stime 15,
        // num_threads 20, rss 24; here the first field after the name (state, 3) is index 0.
        let (user, system) = (number(11)?, number(12)?);
        #[allow(clippy::cast_precision_loss)]
        let cpu_seconds = (user + system) as f64 / ticks.max(1) as f64;
        Some(Self {
            cpu_seconds,
            resident_bytes: number(21)?.saturating_mul(page),
            threads: number(17)?,
        })
    }

    /// Reads through `sysinfo` (the path every platform but Linux takes; built on Linux too, so
    /// its tests run there).
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    fn from_sysinfo() -> Option<Self> {
        use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
        let pid = Pid::from_u32(std::process::id());
        let mut system = System::new();
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[pid]),
            false,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        let process = system.process(pid)?;
        #[allow(clippy::cast_precision_loss)]
        let cpu_seconds = process.accumulated_cpu_time() as f64 / 1000.0;
        Some(Self {
            cpu_seconds,
            resident_bytes: process.memory(),
            threads: thread_count().unwrap_or(0),
        })
    }

    /// Open file descriptors (`/proc/self/fd` on Linux, `/dev/fd` elsewhere), not counting the
    /// one the count itself opens.
    #[cfg(feature = "admin")]
    pub(crate) fn open_fds() -> Option<usize> {
        let directory = if cfg!(target_os = "linux") {
            "/proc/self/fd"
        } else {
            "/dev/fd"
        };
        let entries = std::fs::read_dir(directory).ok()?.count();
        Some(entries.saturating_sub(1))
    }
}

/// This process's threads, where the platform tells: `/proc/self/stat` on Linux (through
/// [`ProcessStats::from_proc`]), `proc_pidinfo(PROC_PIDTASKINFO)` on macOS, the `kinfo_proc`
/// of `sysctl(KERN_PROC_PID)` on FreeBSD. `sysinfo` counts threads on Linux only.
#[cfg_attr(target_os = "linux", allow(dead_code))]
fn thread_count() -> Option<u64> {
    #[cfg(target_os = "linux")]
    return ProcessStats::from_proc().map(|stats| stats.threads);
    #[cfg(target_os = "macos")]
    // SAFETY: proc_pidinfo writes at most `size` bytes into a zeroed proc_taskinfo.
    unsafe {
        let mut info: libc::proc_taskinfo = std::mem::zeroed();
        let size = i32::try_from(std::mem::size_of::<libc::proc_taskinfo>()).ok()?;
        let pid = i32::try_from(std::process::id()).ok()?;
        let written =
            libc::proc_pidinfo(pid, libc::PROC_PIDTASKINFO, 0, (&raw mut info).cast(), size);
        return (written == size).then(|| u64::try_from(info.pti_threadnum).unwrap_or(0));
    }
    #[cfg(target_os = "freebsd")]
    // SAFETY: sysctl writes at most `length` bytes into a zeroed kinfo_proc.
    unsafe {
        let pid = i32::try_from(std::process::id()).ok()?;
        let mut name = [libc::CTL_KERN, libc::KERN_PROC, libc::KERN_PROC_PID, pid];
        let mut info: libc::kinfo_proc = std::mem::zeroed();
        let mut length = std::mem::size_of::<libc::kinfo_proc>();
        let result = libc::sysctl(
            name.as_mut_ptr(),
            4,
            (&raw mut info).cast(),
            &raw mut length,
            std::ptr::null(),
            0,
        );
        return (result == 0).then(|| u64::try_from(info.ki_numthreads).unwrap_or(0));
    }
    #[allow(unreachable_code)]
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_plausible() {
        let stats = ProcessStats::read().unwrap();
        assert!(stats.resident_bytes > 100_000, "{stats:?}");
        assert!(stats.threads >= 1, "{stats:?}");
        // CPU time counts in clock ticks: spin until it moves, which it must within a bound.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut spins: u64 = 0;
        while ProcessStats::read().unwrap().cpu_seconds <= stats.cpu_seconds {
            assert!(
                std::time::Instant::now() < deadline,
                "cpu_seconds never grew"
            );
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
        #[cfg(feature = "admin")]
        assert!(ProcessStats::open_fds().unwrap() >= 3);
    }

    #[test]
    fn the_sysinfo_path_agrees_with_proc() {
        let direct = ProcessStats::read().unwrap();
        let portable = ProcessStats::from_sysinfo().unwrap();
        let direct_again = ProcessStats::read().unwrap();
        // Memory moves a little between the readings; CPU time only grows.
        let (low, high) = (
            direct.resident_bytes.min(direct_again.resident_bytes),
            direct.resident_bytes.max(direct_again.resident_bytes),
        );
        assert!(
            portable.resident_bytes >= low / 2 && portable.resident_bytes <= high * 2,
            "{portable:?} against {direct:?}"
        );
        assert!(
            portable.cpu_seconds >= direct.cpu_seconds - 0.02
                && portable.cpu_seconds <= direct_again.cpu_seconds + 0.02,
            "{portable:?} against {direct:?} .. {direct_again:?}"
        );
        // Other tests start and end threads meanwhile: a count, not an exact one.
        assert!(portable.threads >= 1, "{portable:?}");
    }
}
