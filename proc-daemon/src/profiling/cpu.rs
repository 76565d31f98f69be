//! `CpuProfiler`: sampling CPU profiles with `pprof`, written as pprof protobuf (what `go tool
//! pprof`, `pprof` and most profile viewers read) or as a flame graph SVG.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use pprof::protos::Message as _;

use crate::{Error, Result};

/// The default sampling rate: 99 Hz, off the beat of timers that fire at round rates.
const DEFAULT_FREQUENCY: i32 = 99;

/// One profile at a time per process: the sampler is driven by a process-wide signal timer.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// A running CPU profile; every thread of the process is sampled until it is stopped.
///
/// ```no_run
/// use proc_daemon::profiling::CpuProfiler;
///
/// let profiler = CpuProfiler::start()?;
/// // ... the work to profile ...
/// profiler.stop_to_file("cpu.pb")?; // then: pprof -http=: cpu.pb
/// # Ok::<(), proc_daemon::Error>(())
/// ```
pub struct CpuProfiler {
    /// Always `Some` until dropped: taken in `drop` so the sampler's memory is freed before it
    /// is handed back to the system.
    guard: Option<pprof::ProfilerGuard<'static>>,
}

impl std::fmt::Debug for CpuProfiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuProfiler").finish_non_exhaustive()
    }
}

impl CpuProfiler {
    /// Starts sampling at 99 Hz.
    ///
    /// # Errors
    /// [`Error::Profiling`] when a profile is already running or the sampler cannot start.
    pub fn start() -> Result<Self> {
        Self::start_with_frequency(DEFAULT_FREQUENCY)
    }

    /// Starts sampling `hertz` times per second of CPU time.
    ///
    /// # Errors
    /// [`Error::Profiling`] when a profile is already running, `hertz` is not positive, or the
    /// sampler cannot start.
    pub fn start_with_frequency(hertz: i32) -> Result<Self> {
        if hertz <= 0 {
            return Err(Error::profiling(format!(
                "CPU profile: the sampling frequency must be positive, not {hertz}"
            )));
        }
        if RUNNING.swap(true, Ordering::AcqRel) {
            return Err(Error::profiling(
                "CPU profile: another profile is already running in this process",
            ));
        }
        pprof::ProfilerGuardBuilder::default()
            .frequency(hertz)
            // Unwinding through these from a signal handler can deadlock (pprof's advice).
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
            .map(|guard| Self { guard: Some(guard) })
            .map_err(|err| {
                RUNNING.store(false, Ordering::Release);
                Error::profiling(format!("CPU profile: cannot start the sampler: {err}"))
            })
    }

    /// Stops and returns the profile as pprof protobuf bytes.
    ///
    /// # Errors
    /// [`Error::Profiling`] when the samples cannot be turned into a profile.
    pub fn stop(self) -> Result<Vec<u8>> {
        let report = self.report()?;
        let profile = report
            .pprof()
            .map_err(|err| Error::profiling(format!("CPU profile: cannot encode it: {err}")))?;
        Ok(profile.encode_to_vec())
    }

    /// Stops and writes the profile to `path` as pprof protobuf.
    ///
    /// # Errors
    /// [`Error::Profiling`] naming the file when it cannot be written.
    pub fn stop_to_file(self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.stop()?;
        std::fs::write(path, bytes).map_err(|err| {
            Error::profiling(format!(
                "CPU profile: cannot write {}: {err}",
                path.display()
            ))
        })
    }

    /// Stops and writes the profile to `path` as a flame graph (SVG).
    ///
    /// # Errors
    /// [`Error::Profiling`] naming the file when it cannot be written.
    pub fn stop_to_flamegraph(self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let report = self.report()?;
        let fail = |err: &dyn std::fmt::Display| {
            Error::profiling(format!(
                "CPU profile: cannot write {}: {err}",
                path.display()
            ))
        };
        let file = std::fs::File::create(path).map_err(|e| fail(&e))?;
        report.flamegraph(file).map_err(|e| fail(&e))
    }

    fn report(&self) -> Result<pprof::Report> {
        let guard = self.guard.as_ref().expect("the guard lives until drop");
        guard
            .report()
            .build()
            .map_err(|err| Error::profiling(format!("CPU profile: cannot build the report: {err}")))
    }
}

impl Drop for CpuProfiler {
    fn drop(&mut self) {
        // Dropping the guard stops the sampler.
        drop(self.guard.take());
        release_memory();
        RUNNING.store(false, Ordering::Release);
    }
}

/// What a profile leaves behind. Symbolising parses the binary's debug information into a
/// process-wide cache that `backtrace` keeps for ever; a report needs it only while it is built.
/// The sample table of the profile just stopped is freed too, and the pages go back to the
/// system at once rather than whenever glibc next trims.
fn release_memory() {
    backtrace::clear_symbol_cache();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of the allocator's arenas to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn busy_work(until: std::time::Instant) -> u64 {
        let mut x = 1u64;
        while std::time::Instant::now() < until {
            for i in 0..10_000u64 {
                x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
            }
        }
        x
    }

    // One test drives the profiler: it is process-wide.
    #[test]
    fn a_profile_is_written_parsed_back_and_exclusive() {
        let profiler = CpuProfiler::start_with_frequency(999).unwrap();
        assert!(
            CpuProfiler::start().is_err(),
            "a second profile must be refused"
        );
        busy_work(std::time::Instant::now() + std::time::Duration::from_millis(300));
        let bytes = profiler.stop().unwrap();
        let profile = pprof::protos::Profile::decode(bytes.as_slice()).unwrap();
        assert!(
            !profile.sample.is_empty(),
            "no samples in 300 ms of busy work"
        );
        assert!(
            profile.string_table.iter().any(|s| s.contains("busy_work")),
            "the busy function is not in the profile"
        );

        let dir = std::env::temp_dir().join(format!("proc-daemon-cpu-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let profiler = CpuProfiler::start_with_frequency(999).unwrap();
        busy_work(std::time::Instant::now() + std::time::Duration::from_millis(200));
        profiler.stop_to_flamegraph(dir.join("cpu.svg")).unwrap();
        let svg = std::fs::read_to_string(dir.join("cpu.svg")).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("busy_work"));

        assert!(CpuProfiler::start_with_frequency(0).is_err());
        let err = CpuProfiler::start()
            .unwrap()
            .stop_to_file(dir.join("missing/cpu.pb"))
            .unwrap_err();
        assert!(err.to_string().contains("missing/cpu.pb"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
