//! The daemon's status as JSON: what `/status` (admin endpoint) and `ctl status` (control
//! socket) answer. Each subsystem is its [`SubsystemStatus`](crate::SubsystemStatus),
//! serialised.

use crate::state::Shared;

/// Name, pid, uptime, readiness, configuration source, reloads and every subsystem's state.
pub(crate) fn to_json(shared: &Shared) -> serde_json::Value {
    let config = shared.config.get();
    let reloads = shared.config.counts();
    let readiness = shared.readiness();
    serde_json::json!({
        "name": config.name,
        "pid": std::process::id(),
        "uptime_seconds": shared.uptime().as_secs_f64(),
        "ready": readiness.is_ok(),
        "not_ready_because": readiness.err(),
        "shutting_down": shared.shutdown.is_shutdown(),
        "config_source": shared.config.origin().describe(),
        "reloads": { "applied": reloads.applied, "failed": reloads.failed },
        "allocator": crate::process::allocator::name(),
        "subsystems": shared.statuses(),
    })
}
