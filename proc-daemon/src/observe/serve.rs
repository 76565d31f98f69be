//! The accept loop the admin endpoint and the control socket share: each connection gets its
//! own task, and from the instant shutdown starts new connections are refused (the listener is
//! dropped with the loop), so no client can delay a shutdown.

use std::future::Future;
use std::sync::Arc;

use crate::state::Shared;

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
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            accepted = accept() => match accepted {
                Ok(stream) => {
                    tokio::spawn(serve(stream, shared.clone()));
                }
                Err(err) => tracing::debug!("{what}: accept failed: {err}"),
            },
        }
    }
}
