//! Running subsystems: one supervisor task per subsystem (runs, restarts, health checks), the
//! daemon's lifecycle transitions, the dependency order, and the ordered stop with
//! per-subsystem budgets.

pub(crate) mod health;
pub(crate) mod lifecycle;
pub(crate) mod log_budget;
pub(crate) mod membership;
pub(crate) mod order;
pub(crate) mod run;
pub(crate) mod singleton;
pub(crate) mod stop;
pub(crate) mod supervisor;
