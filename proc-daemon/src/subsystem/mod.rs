//! The unit of work a daemon supervises, and everything a subsystem's author touches: the
//! [`Subsystem`](crate::Subsystem) trait, closures as subsystems, lifecycle states, restart
//! policies, the shutdown handle and the per-run context. Nothing here knows about a running
//! daemon.
//!
//! This module holds what implementing [`Subsystem`](crate::Subsystem) by hand needs beyond
//! the types at the crate root: the future a run returns, the health-check type, and the provided state a subsystem declares
//! it needs ([`StateMap`], [`StateNeed`]); and the
//! published crate's event enum, `subsystem::SubsystemEvent`, which
//! [`SubsystemManager`](crate::SubsystemManager) returns.

pub(crate) mod context;
pub(crate) mod contract;
#[cfg(feature = "lockfree-coordination")]
pub(crate) mod event;
pub(crate) mod function;
pub(crate) mod provided;
pub(crate) mod restart;
pub(crate) mod shutdown;
pub(crate) mod state;

pub use contract::{HealthCheck, RunFuture};
#[cfg(feature = "lockfree-coordination")]
pub use event::SubsystemEvent;
pub use provided::{StateMap, StateNeed};
