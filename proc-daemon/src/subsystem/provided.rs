//! Application state: values the set-up step provides (a pool, a client), handed to
//! subsystems and health checks by type as [`State<T>`].

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A value the set-up provided, shared: what a `#[subsystem]` or health-check parameter of
/// type `State<T>` receives. Derefs to `T`; cloning it clones a reference count.
///
/// ```
/// use proc_daemon::State;
/// use proc_daemon::subsystem::StateMap;
///
/// struct Pool { size: usize }
///
/// let mut provided = StateMap::new();
/// provided.insert(Pool { size: 4 });
/// let pool: State<Pool> = provided.get().unwrap();
/// assert_eq!(pool.size, 4);
/// ```
pub struct State<T: ?Sized>(Arc<T>);

impl<T: ?Sized> State<T> {
    /// The shared value itself.
    #[must_use]
    pub fn into_arc(self) -> Arc<T> {
        self.0
    }
}

impl<T: ?Sized> Clone for State<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: ?Sized> std::ops::Deref for State<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for State<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("State").field(&&*self.0).finish()
    }
}

/// A type of state something needs (a subsystem's `State<T>` parameters and its health
/// check's), checked against what the set-up provided before anything starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateNeed {
    type_id: TypeId,
    type_name: &'static str,
}

impl StateNeed {
    /// The need for a `State<T>`.
    #[must_use]
    pub fn of<T: Send + Sync + 'static>() -> Self {
        Self {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
        }
    }

    /// The type's name, as `std::any::type_name` spells it.
    #[must_use]
    pub const fn type_name(&self) -> &'static str {
        self.type_name
    }
}

/// The values provided, one per type.
///
/// ```
/// let mut provided = proc_daemon::subsystem::StateMap::new();
/// provided.insert(String::from("db://primary"));
/// assert_eq!(&*provided.get::<String>().unwrap(), "db://primary");
/// assert!(provided.get::<u32>().is_none());
/// ```
#[derive(Clone, Default)]
pub struct StateMap {
    values: HashMap<TypeId, (Arc<dyn Any + Send + Sync>, &'static str)>,
}

impl std::fmt::Debug for StateMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set()
            .entries(self.values.values().map(|(_, name)| name))
            .finish()
    }
}

impl StateMap {
    /// No values.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Provides `value` as the `State<T>` of every subsystem and health check that asks for a
    /// `T`; returns whether it replaced an earlier `T`.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> bool {
        let name = std::any::type_name::<T>();
        self.values
            .insert(TypeId::of::<T>(), (Arc::new(value), name))
            .is_some()
    }

    /// The `T` provided, if any.
    #[must_use]
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<State<T>> {
        let (value, _) = self.values.get(&TypeId::of::<T>())?;
        value.clone().downcast::<T>().ok().map(State)
    }

    /// Whether `need` is met.
    #[must_use]
    pub fn has(&self, need: &StateNeed) -> bool {
        self.values.contains_key(&need.type_id)
    }

    /// [`insert`](Self::insert), warning when it replaces an earlier value (a set-up that
    /// provides a type twice has most likely made a mistake).
    pub(crate) fn provide<T: Send + Sync + 'static>(&mut self, value: T) {
        if self.insert(value) {
            tracing::warn!(
                "state `{}` was provided twice; subsystems get the later value",
                std::any::type_name::<T>()
            );
        }
    }

    /// Adds every value of `other`, replacing those of the same type.
    pub(crate) fn extend(&mut self, other: Self) {
        self.values.extend(other.values);
    }
}

tokio::task_local! {
    /// What [`provide`] calls in the set-up step add to.
    static PROVIDED: Arc<Mutex<StateMap>>;
}

/// Provides `value` to every subsystem and health check that takes a `State<T>` of its type.
/// Called in the set-up step — the body of `#[daemon]`'s `main`, or the future given to
/// [`Launcher::run`](crate::Launcher::run); the builder's equivalent is
/// [`DaemonBuilder::with_state`](crate::DaemonBuilder::with_state). Providing a type again
/// replaces the earlier value, with a warning.
///
/// ```no_run
/// use proc_daemon::{State, daemon, subsystem};
///
/// struct Pool { url: String }
///
/// #[subsystem]
/// async fn api(pool: State<Pool>, shutdown: proc_daemon::ShutdownHandle) {
///     println!("serving from {}", pool.url);
///     shutdown.cancelled().await;
/// }
///
/// #[daemon(subsystems = [api])]
/// async fn main() {
///     proc_daemon::provide(Pool { url: "db://primary".into() });
/// }
/// ```
///
/// # Panics
/// Outside a set-up step (on another task, or after start-up), where nothing would receive
/// the value.
pub fn provide<T: Send + Sync + 'static>(value: T) {
    PROVIDED
        .try_with(|provided| crate::lock::mutex(provided).provide(value))
        .unwrap_or_else(|_| {
            panic!(
                "proc_daemon::provide::<{}> was called outside a set-up step; call it in the body of #[daemon]'s main (on its own task), or use DaemonBuilder::with_state",
                std::any::type_name::<T>()
            )
        });
}

/// A `State<T>` that no one provided, for `subsystem`.
pub(crate) fn missing(subsystem: &str, type_name: &str) -> crate::Error {
    crate::Error::other(format!(
        "subsystem `{subsystem}` takes a `State<{type_name}>`, which the set-up did not provide; call `proc_daemon::provide(value)` in the set-up (the body of `#[daemon]`'s main) or `DaemonBuilder::with_state(value)`"
    ))
}

/// Runs a set-up step, collecting what it [`provide`]s.
pub(crate) async fn collect_provided<F: Future>(setup: F) -> (F::Output, StateMap) {
    let provided = Arc::new(Mutex::new(StateMap::new()));
    let output = PROVIDED.scope(provided.clone(), setup).await;
    let collected = std::mem::take(&mut *crate::lock::mutex(&provided));
    (output, collected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_set_up_step_collects_what_it_provides() {
        let ((), provided) = collect_provided(async {
            provide(7_u32);
            provide(String::from("client"));
        })
        .await;
        assert_eq!(*provided.get::<u32>().unwrap(), 7);
        assert!(provided.has(&StateNeed::of::<String>()));
        assert!(!provided.has(&StateNeed::of::<u64>()));
        assert_eq!(StateNeed::of::<u64>().type_name(), "u64");
    }

    #[test]
    fn provide_outside_a_set_up_step_says_where_to_call_it() {
        let panic = std::panic::catch_unwind(|| provide(1_u8)).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(
            message.contains("provide::<u8> was called outside a set-up step"),
            "{message}"
        );
    }

    #[test]
    fn inserting_a_type_again_replaces_it() {
        let mut provided = StateMap::new();
        assert!(!provided.insert(1_i32));
        assert!(provided.insert(2_i32));
        assert_eq!(*provided.get::<i32>().unwrap(), 2);
        assert_eq!(format!("{provided:?}"), "{\"i32\"}");
    }
}
