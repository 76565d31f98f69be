//! This process's own resource use, read from `/proc/self` (Linux).

/// One reading of the process's resource use.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct ProcessStats {
    /// User + system CPU time, in seconds.
    pub(crate) cpu_seconds: f64,
    /// Resident memory, in bytes.
    pub(crate) resident_bytes: u64,
    /// OS threads.
    pub(crate) threads: u64,
}

impl ProcessStats {
    /// Reads `/proc/self/stat`; `None` where it is not available.
    pub(crate) fn read() -> Option<Self> {
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

    /// Open file descriptors.
    #[cfg(feature = "admin")]
    pub(crate) fn open_fds() -> Option<usize> {
        std::fs::read_dir("/proc/self/fd").ok().map(Iterator::count)
    }
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
}
