//! The accept loop the admin endpoint and the control socket share: each connection gets its
//! own task, and from the instant shutdown starts new connections are refused (the listener is
//! dropped with the loop), so no client can delay a shutdown.
//!
//! A failing `accept` backs off: at the file-descriptor limit (EMFILE, ENFILE) the pending
//! connection stays queued and `accept` fails again at once, so retrying without a pause would
//! spin a core and starve the connections that are being served. The pause doubles from 5 ms
//! to 1 s while accepts keep failing, and the failure is logged once per burst.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::state::Shared;

/// The pause after the first failed accept, and the longest pause.
const FIRST_PAUSE: Duration = Duration::from_millis(5);
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// Accepts connections with `accept` and hands each to its own `serve` task until shutdown
/// starts. `what` names the server in the log.
pub(crate) async fn accept_until_shutdown<S, Accepting, Serving>(
    shared: Arc<Shared>,
    what: &str,
    mut accept: impl FnMut() -> Accepting,
    serve: fn(S, Arc<Shared>) -> Serving,
) where
    Accepting: Future<Output = std::io::Result<S>>,
    Serving: Future<Output = ()> + Send + 'static,
{
    let mut failed: u32 = 0;
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            accepted = accept() => match accepted {
                Ok(stream) => {
                    if failed > 0 {
                        tracing::info!("{what}: accepting connections again after {failed} failed accept(s)");
                        failed = 0;
                    }
                    tokio::spawn(serve(stream, shared.clone()));
                }
                Err(err) => {
                    failed = failed.saturating_add(1);
                    if failed == 1 {
                        if exhausted(&err) {
                            tracing::warn!("{what}: cannot accept connections: {err}; retrying with a growing pause until it can");
                        } else {
                            tracing::debug!("{what}: accept failed: {err}");
                        }
                    }
                    tokio::select! {
                        () = shared.shutdown.cancelled() => return,
                        () = tokio::time::sleep(pause(failed)) => {}
                    }
                }
            },
        }
    }
}

/// Out of descriptors or memory: the condition lasts until something else frees them.
fn exhausted(err: &std::io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// The pause after the `failed`-th failure in a row.
fn pause(failed: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(1 << failed.saturating_sub(1).min(16))
        .min(LONGEST_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_up_to_a_second() {
        assert_eq!(pause(1), Duration::from_millis(5));
        assert_eq!(pause(2), Duration::from_millis(10));
        assert_eq!(pause(8), Duration::from_millis(640));
        assert_eq!(pause(9), LONGEST_PAUSE);
        assert_eq!(pause(u32::MAX), LONGEST_PAUSE);
        assert!(exhausted(&std::io::Error::from_raw_os_error(libc::EMFILE)));
        assert!(!exhausted(&std::io::Error::from_raw_os_error(
            libc::ECONNABORTED
        )));
    }
}
