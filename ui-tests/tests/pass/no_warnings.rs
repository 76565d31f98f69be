//! Generated code is warning-free even under strict lints.
#![deny(warnings, missing_docs, missing_debug_implementations, unreachable_pub, unused_qualifications)]

use proc_daemon::{ShutdownHandle, daemon, subsystem};

/// A documented, public subsystem.
#[subsystem(restart = "never")]
pub async fn documented(shutdown: ShutdownHandle) -> Result<(), std::io::Error> {
    let _ = shutdown.is_shutdown();
    Ok(())
}

#[daemon(subsystems = [documented])]
async fn main() {}
