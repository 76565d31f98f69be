//! Waiting for a supervisor to end (what removing a subsystem does), at no cost to the
//! supervisors while nobody waits: ending 100 000 supervisors at shutdown must not take a
//! shared lock 100 000 times to wake no one.

use std::sync::atomic::{AtomicUsize, Ordering, fence};

use tokio::sync::Notify;

/// Supervisors report their end here; waiters wait for the one they care about.
#[derive(Debug, Default)]
pub(crate) struct ExitWatch {
    waiting: AtomicUsize,
    ended: Notify,
}

impl ExitWatch {
    /// A supervisor has ended; its entry is already marked exited.
    pub(crate) fn supervisor_ended(&self) {
        // Pairs with the fence in `wait_until`: either this sees the waiter, or the waiter's
        // check sees the exit marked before it.
        fence(Ordering::SeqCst);
        if self.waiting.load(Ordering::Relaxed) > 0 {
            self.ended.notify_waiters();
        }
    }

    /// Returns once `ended` holds, checked again after every supervisor's end.
    pub(crate) async fn wait_until(&self, ended: impl Fn() -> bool) {
        let _waiting = Waiting::register(&self.waiting);
        loop {
            let notified = self.ended.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if ended() {
                return;
            }
            notified.await;
        }
    }
}

/// Counts one waiter while it exists.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn register(waiting: &'a AtomicUsize) -> Self {
        waiting.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        Self(waiting)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiter_sees_an_end_reported_at_any_moment() {
        for _ in 0..2_000 {
            let watch = Arc::new(ExitWatch::default());
            let exited = Arc::new(AtomicBool::new(false));
            let supervisor = {
                let (watch, exited) = (watch.clone(), exited.clone());
                tokio::spawn(async move {
                    exited.store(true, Ordering::Release);
                    watch.supervisor_ended();
                })
            };
            let wait = watch.wait_until(|| exited.load(Ordering::Acquire));
            tokio::time::timeout(std::time::Duration::from_secs(10), wait)
                .await
                .expect("the end was missed");
            supervisor.await.unwrap();
            assert_eq!(watch.waiting.load(Ordering::Relaxed), 0);
        }
    }

    #[tokio::test]
    async fn a_waiter_wakes_at_the_next_end_and_stops_counting_itself() {
        let watch = Arc::new(ExitWatch::default());
        // Nobody waits: nothing to wake, nothing counted.
        watch.supervisor_ended();
        assert_eq!(watch.waiting.load(Ordering::Relaxed), 0);
        let exited = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (watch, exited) = (watch.clone(), exited.clone());
            tokio::spawn(async move { watch.wait_until(|| exited.load(Ordering::Acquire)).await })
        };
        // On this one-thread runtime the waiter runs to its first wait when this task yields.
        while watch.waiting.load(Ordering::Relaxed) == 0 {
            tokio::task::yield_now().await;
        }
        // Another supervisor's end: woken, checked, still waiting.
        watch.supervisor_ended();
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        exited.store(true, Ordering::Release);
        watch.supervisor_ended();
        tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
            .await
            .expect("the end was missed")
            .unwrap();
        assert_eq!(watch.waiting.load(Ordering::Relaxed), 0);
    }
}
