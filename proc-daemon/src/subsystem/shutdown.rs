//! The handle every subsystem receives to learn that the daemon is stopping.

use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// Tells a subsystem that shutdown has begun.
///
/// Cheap to clone (one reference count) and to poll; every handle of a daemon is cancelled at
/// the same instant when shutdown starts.
///
/// ```
/// use proc_daemon::ShutdownHandle;
///
/// async fn worker(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
///     loop {
///         tokio::select! {
///             () = shutdown.cancelled() => return Ok(()),
///             () = tokio::time::sleep(std::time::Duration::from_millis(10)) => { /* work */ }
///         }
///     }
/// }
/// # let _ = worker;
/// ```
#[derive(Clone, Debug, Default)]
pub struct ShutdownHandle {
    token: CancellationToken,
}

impl ShutdownHandle {
    /// A handle that is not cancelled yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle cancelled by `token` (for one run of a subsystem, a child of the daemon's).
    pub(crate) fn from_token(token: CancellationToken) -> Self {
        Self { token }
    }

    /// Completes once shutdown has begun (at once if it already has). The future is
    /// `tokio-util`'s (a public dependency type) so that awaiting it allocates nothing.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.token.cancelled()
    }

    /// Whether shutdown has begun.
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The underlying [`CancellationToken`], for code that composes with `tokio-util`.
    #[must_use]
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// Starts shutdown of everything sharing this handle.
    pub(crate) fn trigger(&self) {
        self.token.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn clones_see_cancellation() {
        let handle = ShutdownHandle::new();
        let clone = handle.clone();
        assert!(!clone.is_shutdown());
        handle.trigger();
        clone.cancelled().await;
        assert!(clone.is_shutdown());
    }
}
