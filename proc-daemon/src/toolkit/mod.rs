//! Optional building blocks an application uses directly, each behind its feature: metrics,
//! resource tracking, lock-free channels and the event queue, high-resolution timing.

#[cfg(feature = "lockfree-coordination")]
pub mod coord;
pub mod lock;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "metrics")]
pub mod resources;
#[cfg(any(feature = "admin", feature = "metrics"))]
pub(crate) mod text_format;
#[cfg(feature = "high-res-timing")]
pub mod timing;
#[cfg(not(feature = "high-res-timing"))]
pub(crate) mod timing;
