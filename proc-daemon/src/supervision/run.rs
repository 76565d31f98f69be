//! One run of a subsystem: start it (a panic while creating its future is its failure),
//! poll it with panics caught, and — when it has a health check and health checks are on —
//! watch its health beside it, stopping the run within its budget when it turns unhealthy.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use super::health;
use crate::state::{Shared, SubsystemEntry};
use crate::subsystem::RunFuture;
use crate::{Context, ShutdownHandle};

/// One run with `handle` as its shutdown handle, under its health check if it has one (and
/// health checks are on).
pub(crate) fn run_once(shared: &Arc<Shared>, index: usize, handle: ShutdownHandle) -> RunOnce<'_> {
    let entry = &shared.entries()[index];
    let subsystem = &*entry.subsystem;
    let check = if shared.config.get().monitoring.health_checks {
        subsystem.health_check_with_state(&shared.provided())
    } else {
        None
    };
    match check {
        None => match start_run(shared, index, handle) {
            Ok(run) => RunOnce::Plain(run),
            Err(panic) => RunOnce::Panicked(Some(panic)),
        },
        // Boxed: the health machinery's state (an interval, a join handle) would otherwise be
        // carried by every supervisor, checked or not.
        Some(check) => RunOnce::Checked(Box::pin(run_checked(shared, index, handle, check.into()))),
    }
}

/// The future of [`run_once`]: as small as its largest variant, a boxed future.
pub(crate) enum RunOnce<'a> {
    Plain(CatchUnwind<'a>),
    Checked(Pin<Box<dyn Future<Output = Result<(), Arc<str>>> + Send + 'a>>),
    Panicked(Option<Arc<str>>),
}

impl Future for RunOnce<'_> {
    type Output = Result<(), Arc<str>>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Self::Plain(run) => Pin::new(run).poll(cx),
            Self::Checked(run) => run.as_mut().poll(cx),
            Self::Panicked(panic) => {
                Poll::Ready(Err(panic.take().expect("polled after completion")))
            }
        }
    }
}

async fn run_checked(
    shared: &Arc<Shared>,
    index: usize,
    handle: ShutdownHandle,
    check: health::SharedCheck,
) -> Result<(), Arc<str>> {
    let entry = &shared.entries()[index];
    let subsystem = &*entry.subsystem;
    // This run gets its own handle, so an unhealthy run can be stopped without stopping the
    // daemon; it is still cancelled by the daemon's shutdown (or, in dependency order, by its
    // own stop).
    let token = handle.token().child_token();
    let run = match start_run(shared, index, ShutdownHandle::from_token(token.clone())) {
        Ok(run) => run,
        Err(panic) => return Err(panic),
    };
    tokio::pin!(run);
    let own_interval = subsystem.health_check_interval();
    let settings = || {
        let monitoring = shared.config.get().monitoring.clone();
        (
            own_interval.unwrap_or_else(|| monitoring.health_check_interval()),
            monitoring.health_check_failures,
        )
    };
    let name = subsystem.name();
    let unhealthy = health::watch(check, settings, || entry.note_health_failure(), name);
    tokio::select! {
        outcome = &mut run => outcome,
        reason = unhealthy => {
            let budget = subsystem
                .shutdown_timeout()
                .unwrap_or_else(|| shared.config.get().shutdown.timeout());
            tracing::warn!(subsystem = name, "subsystem `{name}` is {reason}; stopping this run (it has {budget:?})");
            token.cancel();
            if tokio::time::timeout(budget, run).await.is_err() {
                tracing::error!(subsystem = name, "subsystem `{name}` did not stop within {budget:?} after failing its health check; its run was dropped");
            }
            Err(reason)
        }
    }
}

/// Starts one run; a panic while creating its future is its failure.
fn start_run(
    shared: &Arc<Shared>,
    index: usize,
    handle: ShutdownHandle,
) -> Result<CatchUnwind<'_>, Arc<str>> {
    let entry = &shared.entries()[index];
    let context = Context::live(
        handle,
        shared.config.subscribe(),
        #[cfg(feature = "metrics")]
        shared.metrics.clone(),
        shared.clone(),
        index,
        shared.provided(),
    );
    catch_unwind(AssertUnwindSafe(|| {
        entry.subsystem.run_with_context(context)
    }))
    .map(|future| CatchUnwind { future, entry })
    .map_err(|payload| {
        entry.note_panic();
        panic_message(payload.as_ref())
    })
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> Arc<str> {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)");
    format!("panicked: {text}").into()
}

/// Polls a run future; its error, or a panic (counted on the entry), becomes the run's failure
/// message.
pub(crate) struct CatchUnwind<'a> {
    future: RunFuture,
    entry: &'a SubsystemEntry,
}

impl Future for CatchUnwind<'_> {
    type Output = Result<(), Arc<str>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let future = &mut self.future;
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(()))) => Poll::Ready(Ok(())),
            Ok(Poll::Ready(Err(error))) => {
                if matches!(error, crate::Error::Config { .. }) {
                    self.entry.note_config_error();
                }
                Poll::Ready(Err(error.to_string().into()))
            }
            Err(payload) => {
                self.entry.note_panic();
                Poll::Ready(Err(panic_message(payload.as_ref())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_extracted() {
        let payload = catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
        assert_eq!(&*panic_message(payload.as_ref()), "panicked: boom 1");
        let payload = catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(
            &*panic_message(payload.as_ref()),
            "panicked: (non-string panic payload)"
        );
    }
}
