//! The `Subsystem` trait: what the daemon asks of a unit of work.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::provided::{StateMap, StateNeed};
use crate::{Context, RestartLimit, RestartPolicy, Result, ShutdownHandle};

/// The future one run of a subsystem returns.
pub type RunFuture = Pin<Box<dyn Future<Output = Result<()>> + Send>>;

/// A health check: `true` while healthy.
pub type HealthCheck = Box<dyn Fn() -> bool + Send + Sync>;

/// A long-running piece of work supervised by the daemon.
///
/// Only [`run`](Subsystem::run) and [`name`](Subsystem::name) are required; everything else has a
/// default. `#[subsystem]` implements this trait for an async function.
///
/// ```
/// use proc_daemon::{RestartPolicy, ShutdownHandle, Subsystem, subsystem::RunFuture};
///
/// struct Ticker;
///
/// impl Subsystem for Ticker {
///     fn name(&self) -> &str {
///         "ticker"
///     }
///
///     fn run(&self, shutdown: ShutdownHandle) -> RunFuture {
///         Box::pin(async move {
///             shutdown.cancelled().await;
///             Ok(())
///         })
///     }
///
///     fn restart_policy(&self) -> RestartPolicy {
///         RestartPolicy::Always
///     }
/// }
/// # let _ = Ticker;
/// ```
pub trait Subsystem: Send + Sync + 'static {
    /// Starts one run. Called again for every restart.
    fn run(&self, shutdown: ShutdownHandle) -> RunFuture;

    /// Starts one run with access to the daemon's [`Context`]; this is what the daemon calls.
    /// The default hands [`run`](Subsystem::run) the context's shutdown handle.
    fn run_with_context(&self, context: Context) -> RunFuture {
        self.run(context.into_shutdown())
    }

    /// The name used in logs, events, metrics and status.
    fn name(&self) -> &str;

    /// A health check for this subsystem, if it has one.
    fn health_check(&self) -> Option<HealthCheck> {
        None
    }

    /// The health check, given the state the set-up provided (what the daemon calls). The
    /// default is [`health_check`](Subsystem::health_check); `#[subsystem]` overrides it when
    /// its health function takes `State<T>` parameters.
    fn health_check_with_state(&self, state: &StateMap) -> Option<HealthCheck> {
        let _ = state;
        self.health_check()
    }

    /// The types of provided state its runs and health check take, checked before anything
    /// starts: a type the set-up did not provide stops the start with an error naming it and
    /// this subsystem. `#[subsystem]` lists its `State<T>` parameters here. Default: none.
    fn required_state(&self) -> Vec<StateNeed> {
        Vec::new()
    }

    /// How often the health check runs; `None` uses `monitoring.health_check_interval_ms`.
    fn health_check_interval(&self) -> Option<Duration> {
        None
    }

    /// Whether each run declares itself ready with [`Context::ready`] (after binding a socket,
    /// say) instead of being ready as soon as it starts; such a subsystem overrides
    /// [`run_with_context`](Subsystem::run_with_context) (or, with `#[subsystem]`, takes a
    /// `Context` and sets `holds_readiness`). Default: `false`.
    fn holds_readiness(&self) -> bool {
        false
    }

    /// What to do when a run ends. Default: [`RestartPolicy::OnFailure`].
    fn restart_policy(&self) -> RestartPolicy {
        RestartPolicy::OnFailure
    }

    /// How many restarts are allowed how quickly. Default: [`RestartLimit::default`].
    fn restart_limit(&self) -> RestartLimit {
        RestartLimit::default()
    }

    /// Whether this subsystem runs only on the replica that leads the cluster (`[cluster]`,
    /// feature `cluster`): it starts when this replica is elected, and is stopped (within its
    /// stop budget) when it stops leading. Without `[cluster]` the daemon is its own leader.
    /// Default: `false`.
    fn singleton(&self) -> bool {
        false
    }

    /// Whether the daemon shuts down (and exits 1) when this subsystem ends as failed.
    /// Default: `true`.
    fn critical(&self) -> bool {
        true
    }

    /// This subsystem's own stop budget; `None` uses `shutdown.timeout_ms` from the config.
    /// For a subsystem others depend on, the budget counts from when its own stop begins,
    /// after its dependents have stopped.
    fn shutdown_timeout(&self) -> Option<Duration> {
        None
    }

    /// The names of the subsystems this one runs after (`#[subsystem(after = [db])]`). It
    /// starts only when each of them is ready (running, or — with
    /// [`holds_readiness`](Subsystem::holds_readiness) — once it said so), and on shutdown its
    /// handle is cancelled first: theirs only once it has stopped (or was aborted at its own
    /// deadline). An unknown name or a cycle stops the start with a configuration error (exit
    /// 78) naming it. Default: none.
    fn dependencies(&self) -> Vec<String> {
        Vec::new()
    }

    /// Whether this subsystem is restarted when one of its [`dependencies`](Subsystem::dependencies)
    /// restarts: its run is stopped, and started again once the dependency is ready (Erlang/OTP's
    /// `rest_for_one`). Such a restart is not a failure: it is not held against the restart
    /// limit. Default: `true`.
    fn restarts_with_dependencies(&self) -> bool {
        true
    }
}
