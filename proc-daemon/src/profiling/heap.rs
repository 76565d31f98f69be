//! `HeapProfiler`: heap profiles with `dhat`, written as dhat JSON (open it in dhat's viewer,
//! `dh_view.html` from Valgrind, or read it as JSON). The `heap-profiling` feature installs
//! dhat's allocator as the global allocator (see the `allocator` module's notes); allocations
//! are recorded only while a profiler runs.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{Error, Result};

/// The file written when `start` is given no path.
const DEFAULT_FILE: &str = "dhat-heap.json";

static RUNNING: AtomicBool = AtomicBool::new(false);

/// A running heap profile.
///
/// ```no_run
/// use proc_daemon::profiling::heap::HeapProfiler;
///
/// let profiler = HeapProfiler::start(Some("heap.json"))?;
/// // ... the work to profile ...
/// let written = profiler.stop()?;
/// assert_eq!(written, std::path::Path::new("heap.json"));
/// # Ok::<(), proc_daemon::Error>(())
/// ```
pub struct HeapProfiler {
    profiler: Option<dhat::Profiler>,
    path: PathBuf,
}

impl std::fmt::Debug for HeapProfiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeapProfiler")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl HeapProfiler {
    /// Starts recording allocations; [`stop`](Self::stop) writes them to `path` (default
    /// `dhat-heap.json` in the working directory).
    ///
    /// # Errors
    /// [`Error::Profiling`] when a heap profile is already running.
    pub fn start(path: Option<impl Into<PathBuf>>) -> Result<Self> {
        if RUNNING.swap(true, Ordering::AcqRel) {
            return Err(Error::profiling(
                "heap profile: another profile is already running in this process",
            ));
        }
        let path = path.map_or_else(|| PathBuf::from(DEFAULT_FILE), Into::into);
        let profiler = dhat::Profiler::builder().file_name(&path).build();
        Ok(Self {
            profiler: Some(profiler),
            path,
        })
    }

    /// Stops recording and writes the profile; returns the file's path.
    ///
    /// # Errors
    /// [`Error::Profiling`] naming the file when it was not written.
    pub fn stop(mut self) -> Result<PathBuf> {
        // dhat writes the file when its profiler is dropped.
        drop(self.profiler.take());
        if self.path.is_file() {
            Ok(self.path.clone())
        } else {
            Err(Error::profiling(format!(
                "heap profile: {} was not written",
                self.path.display()
            )))
        }
    }
}

impl Drop for HeapProfiler {
    fn drop(&mut self) {
        drop(self.profiler.take());
        RUNNING.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_is_written_and_parses_as_dhat_json() {
        let path =
            std::env::temp_dir().join(format!("proc-daemon-heap-{}.json", std::process::id()));
        let profiler = HeapProfiler::start(Some(&path)).unwrap();
        assert!(
            HeapProfiler::start(None::<PathBuf>).is_err(),
            "one profile at a time"
        );
        let kept: Vec<Vec<u8>> = (0..100).map(|i| vec![0u8; 1000 + i]).collect();
        std::hint::black_box(&kept);
        assert_eq!(profiler.stop().unwrap(), path);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(json["dhatFileVersion"].is_number(), "{json}");
        let total_bytes: u64 = json["pps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pp| pp["tb"].as_u64().unwrap())
            .sum();
        assert!(total_bytes >= 100 * 1000, "recorded {total_bytes} bytes");
        std::fs::remove_file(path).unwrap();
    }
}
