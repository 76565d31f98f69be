//! The daemon's status as JSON: what `/status` (admin endpoint) and `ctl status` (control
//! socket) answer.

use crate::daemon::Shared;

/// Name, pid, uptime, readiness, configuration source, reloads and every subsystem's state.
pub(crate) fn to_json(shared: &Shared) -> serde_json::Value {
    let config = shared.config.get();
    let reloads = shared.config.counts();
    let subsystems: Vec<serde_json::Value> = shared
        .entries()
        .iter()
        .map(|entry| {
            let failures = entry.failure_record();
            serde_json::json!({
                "name": entry.name(),
                "state": entry.state().as_str(),
                "critical": entry.subsystem.critical(),
                "restarts": entry.restarts(),
                "panics": failures.panics,
                "health_check_failures": failures.health_failures,
                "last_error": failures.last_error.as_deref(),
            })
        })
        .collect();
    let readiness = shared.readiness();
    serde_json::json!({
        "name": config.name,
        "pid": std::process::id(),
        "uptime_seconds": shared.uptime().as_secs_f64(),
        "ready": readiness.is_ok(),
        "not_ready_because": readiness.err(),
        "shutting_down": shared.shutdown.is_shutdown(),
        "config_source": shared
            .config
            .path()
            .map_or_else(|| "defaults and environment".to_owned(), |p| p.display().to_string()),
        "reloads": { "applied": reloads.applied, "failed": reloads.failed },
        "allocator": crate::allocator::name(),
        "subsystems": subsystems,
    })
}
