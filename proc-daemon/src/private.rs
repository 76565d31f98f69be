//! Support for macro-generated code. Reached only through `proc_daemon::__private`; not a
//! public API.

use std::cell::Cell;
use std::future::Future;

use crate::Error;
use crate::State;
use crate::subsystem::{HealthCheck, StateMap, StateNeed};

/// Holds a subsystem's error while [`ViaInto`], [`ViaStdError`] or [`ViaBoxedError`] converts
/// it, the first that applies (autoref specialisation: `(&&&&slot).take_daemon_error()` prefers
/// `Into<Error>`, then any `std::error::Error`, then anything that converts into
/// `Box<dyn Error + Send + Sync>` — `anyhow::Error`, `eyre::Report`, a boxed error, a `String`).
/// A type that fits none reaches [`ViaNothing`], whose bound names what is accepted.
pub struct ErrorSlot<E>(Cell<Option<E>>);

impl<E> std::fmt::Debug for ErrorSlot<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErrorSlot")
    }
}

impl<E> ErrorSlot<E> {
    /// Wraps `error`.
    pub const fn new(error: E) -> Self {
        Self(Cell::new(Some(error)))
    }

    fn take(&self) -> E {
        self.0.take().expect("error converted twice")
    }
}

/// Conversion for errors that convert into [`Error`] (keeping their kind and exit code).
pub trait ViaInto {
    /// The converted error.
    fn take_daemon_error(&self) -> Error;
}

impl<E: Into<Error>> ViaInto for &&&ErrorSlot<E> {
    fn take_daemon_error(&self) -> Error {
        self.take().into()
    }
}

/// Conversion for any other `std::error::Error` (keeping its message and sources).
pub trait ViaStdError {
    /// The converted error.
    fn take_daemon_error(&self) -> Error;
}

impl<E: std::error::Error + Send + Sync + 'static> ViaStdError for &&ErrorSlot<E> {
    fn take_daemon_error(&self) -> Error {
        Error::from_std(&self.take())
    }
}

/// Conversion for what is not a `std::error::Error` itself but converts into a boxed one:
/// `anyhow::Error` and `eyre::Report` (which deref to one), `Box<dyn Error + Send + Sync>`,
/// `String` (keeping the message and sources).
pub trait ViaBoxedError {
    /// The converted error.
    fn take_daemon_error(&self) -> Error;
}

impl<E: Into<Box<dyn std::error::Error + Send + Sync>>> ViaBoxedError for &ErrorSlot<E> {
    fn take_daemon_error(&self) -> Error {
        let boxed: Box<dyn std::error::Error + Send + Sync> = self.take().into();
        Error::from_std(&*boxed)
    }
}

/// Implemented by no type: the bound of [`ViaNothing`] that turns an error type fitting no
/// conversion into one diagnostic saying what is accepted (instead of rustc's "method exists but
/// its trait bounds were not satisfied").
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the error type of a subsystem or of the `#[daemon]` set-up",
    label = "this error type is not accepted",
    note = "accepted: a type that converts into `proc_daemon::Error`, any `std::error::Error + Send + Sync + 'static`, or a type that converts into `Box<dyn std::error::Error + Send + Sync>` (`anyhow::Error`, `eyre::Report`, `String`)",
    note = "implement `std::error::Error` for it (e.g. with `thiserror`), or map it: `.map_err(|e| proc_daemon::Error::other(format!(\"{{e:?}}\")))`"
)]
pub trait AcceptedErrorType {}

/// The last conversion route, for error types that fit none of the others: its bound,
/// [`AcceptedErrorType`], is never met, so using it is a compile error naming what is accepted.
pub trait ViaNothing<E> {
    /// Never called: the bound cannot be met.
    fn take_daemon_error(&self) -> Error
    where
        E: AcceptedErrorType;
}

impl<E> ViaNothing<E> for ErrorSlot<E> {
    fn take_daemon_error(&self) -> Error
    where
        E: AcceptedErrorType,
    {
        unreachable!("no type implements AcceptedErrorType")
    }
}

/// Marks a synchronous health check taking the `State<T>` types of `Args`.
#[derive(Debug)]
pub struct SyncCheck<Args>(std::marker::PhantomData<Args>);
/// Marks an asynchronous health check taking the `State<T>` types of `Args`.
#[derive(Debug)]
pub struct AsyncCheck<Args>(std::marker::PhantomData<Args>);

/// A function usable as `#[subsystem(health = ...)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a health check",
    label = "expected `fn() -> bool` or `async fn() -> bool`, taking nothing or `State<T>` values",
    note = "a health check returns `bool` (`true` = healthy); its parameters, if any, are up to three `proc_daemon::State<T>` the set-up provided"
)]
pub trait IntoHealthCheck<Kind> {
    /// The check, as the runtime runs it (on a blocking thread), with its `State<T>`
    /// parameters taken from `provided`; `None` if one is missing.
    fn build_health_check(&self, provided: &StateMap) -> Option<HealthCheck>;

    /// The `State<T>` types it takes.
    fn required_state(&self) -> Vec<StateNeed>;
}

macro_rules! health_checks {
    ($($arg:ident),*) => {
        impl<F, $($arg),*> IntoHealthCheck<SyncCheck<($($arg,)*)>> for F
        where
            F: Fn($(State<$arg>),*) -> bool + Clone + Send + Sync + 'static,
            $($arg: Send + Sync + 'static,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn build_health_check(&self, provided: &StateMap) -> Option<HealthCheck> {
                $(let $arg = provided.get::<$arg>()?;)*
                let check = self.clone();
                Some(Box::new(move || check($($arg.clone()),*)))
            }

            fn required_state(&self) -> Vec<StateNeed> {
                vec![$(StateNeed::of::<$arg>()),*]
            }
        }

        impl<F, Fut, $($arg),*> IntoHealthCheck<AsyncCheck<($($arg,)*)>> for F
        where
            F: Fn($(State<$arg>),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = bool> + Send,
            $($arg: Send + Sync + 'static,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn build_health_check(&self, provided: &StateMap) -> Option<HealthCheck> {
                $(let $arg = provided.get::<$arg>()?;)*
                let check = self.clone();
                // Checks run on tokio's blocking pool, where blocking on the runtime is allowed.
                Some(Box::new(move || {
                    tokio::runtime::Handle::current().block_on(check($($arg.clone()),*))
                }))
            }

            fn required_state(&self) -> Vec<StateNeed> {
                vec![$(StateNeed::of::<$arg>()),*]
            }
        }
    };
}

health_checks!();
health_checks!(A);
health_checks!(A, B);
health_checks!(A, B, C);

/// Builds a health check from the provided state.
type BuildCheck = Box<dyn Fn(&StateMap) -> Option<HealthCheck>>;

/// A `health = path` function, its kind erased: what it needs and how to build it.
pub struct HealthParts {
    needs: Vec<StateNeed>,
    build: BuildCheck,
}

impl std::fmt::Debug for HealthParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthParts")
            .field("needs", &self.needs)
            .finish_non_exhaustive()
    }
}

impl HealthParts {
    /// The check, with its `State<T>` parameters from `provided`; `None` if one is missing.
    #[must_use]
    pub fn build(&self, provided: &StateMap) -> Option<HealthCheck> {
        (self.build)(provided)
    }

    /// The `State<T>` types it takes.
    #[must_use]
    pub fn needs(self) -> Vec<StateNeed> {
        self.needs
    }
}

/// `health = path` becomes one call of `health_parts(path)`, so a wrong signature is one error,
/// reported at the path.
pub fn health_parts<Kind>(check: impl IntoHealthCheck<Kind> + 'static) -> HealthParts {
    HealthParts {
        needs: check.required_state(),
        build: Box::new(move |provided| check.build_health_check(provided)),
    }
}

/// A subsystem's `State<T>` parameter, from its run's context.
///
/// # Errors
/// Naming the type and the subsystem when the set-up did not provide a `T` (the daemon checks
/// before starting; a context made by hand may lack it).
pub fn state_parameter<T: Send + Sync + 'static>(
    context: &crate::Context,
    subsystem: &str,
) -> crate::Result<State<T>> {
    context
        .state::<T>()
        .ok_or_else(|| crate::subsystem::provided::missing(subsystem, std::any::type_name::<T>()))
}

/// The context of a subsystem run outside a daemon (a test calling `Subsystem::run`): the
/// default configuration.
pub fn detached_context(shutdown: crate::ShutdownHandle) -> crate::Context {
    crate::Context::new(shutdown, std::sync::Arc::new(crate::Config::default()))
}

/// The name of a subsystem named in `after = [...]`; taking the value makes a path that is not
/// a subsystem a compile error at that path.
pub fn subsystem_name(subsystem: &impl crate::Subsystem) -> String {
    subsystem.name().to_owned()
}

/// Runs a `blocking` subsystem's function on tokio's blocking pool; a panic in it is re-raised
/// here, where the supervisor catches it as the run's failure.
pub async fn run_blocking<R: Send + 'static>(run: impl FnOnce() -> R + Send + 'static) -> R {
    match tokio::task::spawn_blocking(run).await {
        Ok(result) => result,
        Err(error) => match error.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(error) => panic!("blocking subsystem task failed: {error}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("custom failure")]
    struct Custom;

    #[test]
    #[allow(clippy::needless_borrow)] // the quadruple borrow is what picks the conversion
    fn errors_convert_by_the_best_route() {
        let slot = ErrorSlot::new(Error::config("bad"));
        assert_eq!((&&&&slot).take_daemon_error().exit_code(), 78);
        let slot = ErrorSlot::new(std::io::Error::other("disk"));
        assert!(matches!((&&&&slot).take_daemon_error(), Error::Io(_)));
        let slot = ErrorSlot::new(Custom);
        assert_eq!((&&&&slot).take_daemon_error().to_string(), "custom failure");
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Custom);
        let slot = ErrorSlot::new(boxed);
        assert_eq!((&&&&slot).take_daemon_error().to_string(), "custom failure");
        let slot = ErrorSlot::new(String::from("plain words"));
        assert_eq!((&&&&slot).take_daemon_error().to_string(), "plain words");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn async_checks_run_on_a_blocking_thread() {
        async fn healthy() -> bool {
            tokio::task::yield_now().await;
            true
        }
        let none = StateMap::new();
        let check = health_parts(healthy).build(&none).unwrap();
        assert!(tokio::task::spawn_blocking(check).await.unwrap());
        let check = health_parts(|| false).build(&none).unwrap();
        assert!(!check());
    }

    #[test]
    fn checks_take_provided_state() {
        fn enough(limit: State<u32>, used: State<u64>) -> bool {
            u64::from(*limit) > *used
        }
        let mut provided = StateMap::new();
        provided.insert(10_u32);
        assert!(health_parts(enough).build(&provided).is_none());
        provided.insert(3_u64);
        assert!(health_parts(enough).build(&provided).unwrap()());
        assert_eq!(
            health_parts(enough).needs(),
            [StateNeed::of::<u32>(), StateNeed::of::<u64>()]
        );
    }

    #[tokio::test]
    async fn blocking_panics_are_re_raised() {
        let caught = tokio::spawn(run_blocking(|| panic!("stuck")))
            .await
            .unwrap_err();
        assert!(caught.is_panic());
        assert_eq!(run_blocking(|| 7).await, 7);
    }
}

/// The macros name the runtime as `::proc_daemon`; `extern crate self as proc_daemon` makes
/// that resolve inside this crate too, so its own tests can use them.
#[cfg(all(test, feature = "macros"))]
mod macros_inside_the_crate {
    use crate::{ShutdownHandle, Subsystem};

    #[crate::subsystem(restart = "never")]
    async fn inner(shutdown: ShutdownHandle) {
        let _ = shutdown.is_shutdown();
    }

    #[test]
    fn a_subsystem_defined_in_the_runtime_crate() {
        assert_eq!(inner {}.name(), "inner");
        assert_eq!(inner {}.restart_policy(), crate::RestartPolicy::Never);
    }
}
