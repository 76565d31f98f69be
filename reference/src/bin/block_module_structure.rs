//! The reference's "Module Structure" list: every public module it names, by its path.

use proc_daemon::{
    Config, Daemon, ShutdownHandle, Subsystem, coord, ipc, lock, metrics, profiling, resources,
    scheduler, signal, timing,
};

fn main() {
    // Each path resolves to what the reference says it holds.
    let _: fn() -> std::io::Result<()> = signal::install;
    let _ = lock::mutex::<()>;
    let _ = resources::ResourceTracker::new;
    let _ = metrics::MetricsCollector::new;
    let _ = profiling::CpuProfiler::start;
    let _ = coord::chan::unbounded::<()>;
    let _ = timing::now;
    let _ = scheduler::apply_process_hints;
    let _ = ipc::request;
    let _ = Daemon::builder;
    let _ = Config::new;
    let _ = ShutdownHandle::new;
    fn _is_a_trait(_: &dyn Subsystem) {}
}
