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
        "cluster": cluster(shared, &config),
    })
}

/// This replica's standing in the election, when `[cluster]` is configured.
fn cluster(shared: &Shared, config: &crate::Config) -> serde_json::Value {
    let Some(cluster) = &config.cluster else {
        return serde_json::Value::Null;
    };
    let standing = shared.leadership.now();
    serde_json::json!({
        "role": if standing.leading { "leader" } else { "follower" },
        "instance": cluster.instance_name(),
        "leader": standing.leader,
        "fencing_token": standing.fencing_token,
        "etcd_reachable": standing.reachable,
        "lease_ttl_ms": cluster.lease_ttl_ms,
        "leadership_changes": shared.leadership.changes(),
    })
}
