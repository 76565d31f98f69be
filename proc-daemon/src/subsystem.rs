//! The unit of work a daemon supervises.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

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
        self.run(context.shutdown().clone())
    }

    /// The name used in logs, events, metrics and status.
    fn name(&self) -> &str;

    /// A health check for this subsystem, if it has one.
    fn health_check(&self) -> Option<HealthCheck> {
        None
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

    /// Whether the daemon shuts down (and exits 1) when this subsystem ends as failed.
    /// Default: `true`.
    fn critical(&self) -> bool {
        true
    }

    /// This subsystem's own stop budget; `None` uses `shutdown.timeout_ms` from the config.
    fn shutdown_timeout(&self) -> Option<Duration> {
        None
    }
}

/// Where a subsystem is in its life.
///
/// `Starting → Running → Stopping → Stopped`, or `Failed`, with `Restarting` between runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SubsystemState {
    /// Registered, its first run not yet started.
    Starting = 0,
    /// A run is in progress.
    Running = 1,
    /// Shutdown has begun and the run has not ended yet.
    Stopping = 2,
    /// Ended without failure.
    Stopped = 3,
    /// Ended as failed: the run failed and no restart followed, or it was aborted.
    Failed = 4,
    /// Between two runs (including a backoff delay).
    Restarting = 5,
}

impl SubsystemState {
    pub(crate) const fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Starting,
            1 => Self::Running,
            2 => Self::Stopping,
            3 => Self::Stopped,
            5 => Self::Restarting,
            _ => Self::Failed,
        }
    }

    /// Whether the subsystem has ended for good.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Stopped | Self::Failed)
    }

    /// The lower-case name used in logs and status output.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
            Self::Restarting => "restarting",
        }
    }
}

impl fmt::Display for SubsystemState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A subsystem made from a closure, with its options set by chained calls.
///
/// ```
/// use proc_daemon::{RestartPolicy, SubsystemFn};
///
/// let ticker = SubsystemFn::new("ticker", |shutdown| async move {
///     shutdown.cancelled().await;
///     Ok(())
/// })
/// .restart_policy(RestartPolicy::Always)
/// .critical(false);
/// # let _ = ticker;
/// ```
pub struct SubsystemFn<F> {
    // `Box<str>`, not `Cow`: 8 bytes less on every closure subsystem, which matters at 100 000.
    name: Box<str>,
    run: F,
    /// `None` while every option has its default, so a plain closure subsystem stays small.
    options: Option<Box<FnOptions>>,
}

#[derive(Clone)]
struct FnOptions {
    policy: RestartPolicy,
    limit: RestartLimit,
    critical: bool,
    shutdown_timeout: Option<Duration>,
    health: Option<std::sync::Arc<dyn Fn() -> bool + Send + Sync>>,
    health_interval: Option<Duration>,
}

impl Default for FnOptions {
    fn default() -> Self {
        Self {
            policy: RestartPolicy::OnFailure,
            limit: RestartLimit::default(),
            critical: true,
            shutdown_timeout: None,
            health: None,
            health_interval: None,
        }
    }
}

impl fmt::Debug for FnOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnOptions")
            .field("policy", &self.policy)
            .field("limit", &self.limit)
            .field("critical", &self.critical)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("health_check", &self.health.is_some())
            .field("health_interval", &self.health_interval)
            .finish()
    }
}

impl<F, Fut> SubsystemFn<F>
where
    F: Fn(ShutdownHandle) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    /// A subsystem named `name` whose every run calls `run`.
    pub fn new(name: impl Into<Cow<'static, str>>, run: F) -> Self {
        Self {
            name: match name.into() {
                Cow::Borrowed(name) => name.into(),
                Cow::Owned(name) => name.into_boxed_str(),
            },
            run,
            options: None,
        }
    }

    fn options_mut(&mut self) -> &mut FnOptions {
        self.options.get_or_insert_with(Box::default)
    }

    /// Sets the restart policy.
    #[must_use]
    pub fn restart_policy(mut self, policy: RestartPolicy) -> Self {
        self.options_mut().policy = policy;
        self
    }

    /// Sets the restart intensity limit.
    #[must_use]
    pub fn restart_limit(mut self, limit: RestartLimit) -> Self {
        self.options_mut().limit = limit;
        self
    }

    /// Sets whether a failure ends the daemon.
    #[must_use]
    pub fn critical(mut self, critical: bool) -> Self {
        self.options_mut().critical = critical;
        self
    }

    /// Sets this subsystem's own stop budget.
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.options_mut().shutdown_timeout = Some(timeout);
        self
    }

    /// Sets a health check.
    #[must_use]
    pub fn health_check(mut self, check: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        self.options_mut().health = Some(std::sync::Arc::new(check));
        self
    }

    /// Sets how often the health check runs.
    #[must_use]
    pub fn health_check_interval(mut self, interval: Duration) -> Self {
        self.options_mut().health_interval = Some(interval);
        self
    }
}

impl<F> fmt::Debug for SubsystemFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubsystemFn")
            .field("name", &self.name)
            .field("options", self.options())
            .finish_non_exhaustive()
    }
}

static DEFAULT_OPTIONS: std::sync::LazyLock<FnOptions> =
    std::sync::LazyLock::new(FnOptions::default);

impl<F> SubsystemFn<F> {
    fn options(&self) -> &FnOptions {
        self.options.as_deref().unwrap_or(&DEFAULT_OPTIONS)
    }
}

impl<F, Fut> Subsystem for SubsystemFn<F>
where
    F: Fn(ShutdownHandle) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    fn run(&self, shutdown: ShutdownHandle) -> RunFuture {
        Box::pin((self.run)(shutdown))
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn health_check(&self) -> Option<HealthCheck> {
        let check = self.options().health.clone()?;
        Some(Box::new(move || check()))
    }

    fn health_check_interval(&self) -> Option<Duration> {
        self.options().health_interval
    }

    fn restart_policy(&self) -> RestartPolicy {
        self.options().policy
    }

    fn restart_limit(&self) -> RestartLimit {
        self.options().limit
    }

    fn critical(&self) -> bool {
        self.options().critical
    }

    fn shutdown_timeout(&self) -> Option<Duration> {
        self.options().shutdown_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_u8() {
        use SubsystemState::*;
        for state in [Starting, Running, Stopping, Stopped, Failed, Restarting] {
            assert_eq!(SubsystemState::from_u8(state as u8), state);
        }
        assert!(Stopped.is_terminal() && Failed.is_terminal() && !Running.is_terminal());
    }

    #[test]
    fn subsystem_fn_reports_its_options() {
        let sub = SubsystemFn::new("w", |_| async { Ok(()) })
            .restart_policy(RestartPolicy::Always)
            .critical(false)
            .shutdown_timeout(Duration::from_secs(2))
            .health_check(|| false);
        let sub: &dyn Subsystem = &sub;
        assert_eq!(sub.name(), "w");
        assert_eq!(sub.restart_policy(), RestartPolicy::Always);
        assert!(!sub.critical());
        assert_eq!(sub.shutdown_timeout(), Some(Duration::from_secs(2)));
        assert!(!(sub.health_check().unwrap())());
    }
}
