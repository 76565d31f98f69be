//! What the daemon tells the outside: the admin HTTP endpoint, the control socket, the status
//! document both serve, the Prometheus exposition and the console lines.

#[cfg(feature = "admin")]
pub(crate) mod admin;
#[cfg(feature = "console")]
pub(crate) mod console;
#[cfg(feature = "admin")]
pub(crate) mod exposition;
#[cfg(feature = "ipc")]
pub mod ipc;
#[cfg(any(feature = "admin", feature = "ipc"))]
pub(crate) mod serve;
#[cfg(any(feature = "admin", feature = "ipc"))]
pub(crate) mod status;
