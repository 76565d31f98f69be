//! The published crate's `[performance]` keys beyond sizing — `memory_pool_size`, `numa_aware`
//! and `lock_free` — applied at start-up. Each does its job where the feature it needs is built
//! in, and is otherwise named in one warning: never silently ignored, never a start-up failure.
//! (`numa_aware` itself acts where the runtime is built, in `scheduler::configure_runtime`.)

use crate::state::Shared;

pub(crate) fn apply(shared: &Shared) {
    let config = shared.config.get();
    let performance = &config.performance;
    if performance.memory_pool_size > 0 {
        match crate::process::allocator::reserve(performance.memory_pool_size) {
            Ok(()) => tracing::debug!(
                "performance.memory_pool_size: reserved {} bytes for the allocator",
                performance.memory_pool_size
            ),
            Err(why) => tracing::warn!("performance.memory_pool_size is ignored: {why}"),
        }
    }
    if performance.lock_free {
        #[cfg(feature = "lockfree-coordination")]
        shared.events.queue.enable();
        #[cfg(not(feature = "lockfree-coordination"))]
        tracing::warn!(
            "performance.lock_free is ignored: the lock-free event queue needs proc-daemon's `lockfree-coordination` feature"
        );
    }
    if performance.numa_aware && !cfg!(feature = "scheduler-hints") {
        tracing::warn!(
            "performance.numa_aware is ignored: placing threads on NUMA nodes needs proc-daemon's `scheduler-hints` feature"
        );
    }
}

#[cfg(all(test, feature = "lockfree-coordination"))]
mod tests {
    use crate::{Config, Daemon};

    async fn events_queued(lock_free: bool) -> usize {
        let mut config = Config::default();
        config.performance.lock_free = lock_free;
        let builder = Daemon::builder(config).with_task("once", |_| async { Ok(()) });
        let handle = builder.handle();
        builder.run().await.unwrap();
        std::iter::from_fn(|| handle.try_next_event()).count()
    }

    #[tokio::test]
    async fn lock_free_carries_events_on_the_queue_from_the_start() {
        // Running, then stopped: both on the queue without `enable_events`.
        assert_eq!(events_queued(true).await, 2);
        assert_eq!(events_queued(false).await, 0);
    }
}
