//! The tokio runtime a daemon runs on, sized by `[performance]`.

use crate::Config;

/// Builds the multi-threaded tokio runtime `[performance]` asks for (with `scheduler-hints`,
/// `thread_pinning` included). It returns tokio's own `Runtime` (a public dependency type):
/// the daemon runs on tokio, and a program that builds its runtime itself needs the real one.
///
/// ```
/// let runtime = proc_daemon::build_runtime(&proc_daemon::Config::default()).unwrap();
/// assert_eq!(runtime.block_on(async { 1 + 1 }), 2);
/// ```
///
/// # Errors
/// The I/O error of creating the runtime's threads or drivers.
pub fn build_runtime(config: &Config) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .enable_all()
        .thread_name(format!("{}-worker", config.name));
    if config.performance.worker_threads > 0 {
        builder.worker_threads(config.performance.worker_threads);
    }
    #[cfg(feature = "scheduler-hints")]
    crate::process::scheduler::configure_runtime(&mut builder, config);
    builder.build()
}
