//! The daemon's built-in metrics in Prometheus text format 0.0.4: every subsystem's state,
//! restarts, panics and failed health checks; reloads by result; upgrades by outcome;
//! readiness, uptime; and the process collector's `process_*` series read from `/proc`.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::SubsystemState;
use crate::process::stats::ProcessStats;
use crate::state::{Shared, SubsystemStatus};
use crate::toolkit::text_format::{escape_label, write_family};

const STATES: [SubsystemState; 6] = [
    SubsystemState::Starting,
    SubsystemState::Running,
    SubsystemState::Stopping,
    SubsystemState::Stopped,
    SubsystemState::Failed,
    SubsystemState::Restarting,
];

/// Reads one per-subsystem counter.
type Count = fn(&SubsystemStatus) -> u32;

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    write_family(out, name, kind, help);
}

/// Renders every built-in series.
pub(crate) fn render(shared: &Shared, uptime: Duration, ready: bool) -> String {
    let mut out = String::with_capacity(4096);
    let subsystems = shared.statuses();

    family(
        &mut out,
        "proc_daemon_subsystem_state",
        "gauge",
        "1 for the state each subsystem is in, 0 for the others.",
    );
    for subsystem in &subsystems {
        let name = escape_label(&subsystem.name);
        let current = subsystem.state;
        for state in STATES {
            let _ = writeln!(
                out,
                "proc_daemon_subsystem_state{{subsystem=\"{name}\",state=\"{state}\"}} {}",
                u8::from(state == current)
            );
        }
    }
    let counters: [(&str, &str, Count); 3] = [
        (
            "proc_daemon_subsystem_restarts_total",
            "Restarts of each subsystem.",
            |subsystem| subsystem.restarts,
        ),
        (
            "proc_daemon_subsystem_panics_total",
            "Panics caught in each subsystem.",
            |subsystem| subsystem.panics,
        ),
        (
            "proc_daemon_subsystem_health_check_failures_total",
            "Failed or hung health checks of each subsystem.",
            |subsystem| subsystem.health_check_failures,
        ),
    ];
    for (metric, help, value) in counters {
        family(&mut out, metric, "counter", help);
        for subsystem in &subsystems {
            let _ = writeln!(
                out,
                "{metric}{{subsystem=\"{}\"}} {}",
                escape_label(&subsystem.name),
                value(subsystem)
            );
        }
    }
    let reloads = shared.config.counts();
    family(
        &mut out,
        "proc_daemon_config_reloads_total",
        "counter",
        "Configuration reloads by result.",
    );
    let _ = writeln!(
        out,
        "proc_daemon_config_reloads_total{{result=\"applied\"}} {}",
        reloads.applied
    );
    let _ = writeln!(
        out,
        "proc_daemon_config_reloads_total{{result=\"failed\"}} {}",
        reloads.failed
    );
    family(
        &mut out,
        "proc_daemon_config_reload_seconds",
        "gauge",
        "How long the last configuration reload took.",
    );
    let _ = writeln!(
        out,
        "proc_daemon_config_reload_seconds {}",
        reloads.last_duration.as_secs_f64()
    );
    let upgrades = shared.handover.counts();
    family(
        &mut out,
        "proc_daemon_upgrades_total",
        "counter",
        "Upgrades to a new process (ctl upgrade, SIGUSR2) by outcome.",
    );
    let _ = writeln!(
        out,
        "proc_daemon_upgrades_total{{outcome=\"succeeded\"}} {}",
        upgrades.succeeded
    );
    let _ = writeln!(
        out,
        "proc_daemon_upgrades_total{{outcome=\"failed\"}} {}",
        upgrades.failed
    );
    if shared.config.get().cluster.is_some() {
        family(
            &mut out,
            "proc_daemon_cluster_leader",
            "gauge",
            "1 while this replica leads the cluster's election.",
        );
        let _ = writeln!(
            out,
            "proc_daemon_cluster_leader {}",
            u8::from(shared.leadership.now().leading)
        );
        family(
            &mut out,
            "proc_daemon_cluster_leadership_changes_total",
            "counter",
            "Times this replica became or stopped being the leader.",
        );
        let _ = writeln!(
            out,
            "proc_daemon_cluster_leadership_changes_total {}",
            shared.leadership.changes()
        );
    }
    family(
        &mut out,
        "proc_daemon_ready",
        "gauge",
        "1 when every subsystem is running and the daemon is not stopping.",
    );
    let _ = writeln!(out, "proc_daemon_ready {}", u8::from(ready));
    family(
        &mut out,
        "proc_daemon_uptime_seconds",
        "gauge",
        "Seconds since the daemon started.",
    );
    let _ = writeln!(out, "proc_daemon_uptime_seconds {}", uptime.as_secs_f64());
    process(&mut out, uptime);
    #[cfg(feature = "metrics")]
    if let Some(usage) = shared.resource_usage() {
        family(
            &mut out,
            "proc_daemon_process_cpu_percent",
            "gauge",
            "CPU use over the last sampling interval, in percent of one core.",
        );
        let _ = writeln!(out, "proc_daemon_process_cpu_percent {}", usage.cpu_percent);
    }
    #[cfg(feature = "metrics")]
    out.push_str(&shared.metrics.render());
    out
}

/// The conventional process collector series, from `/proc/self`.
fn process(out: &mut String, uptime: Duration) {
    if let Some(stats) = ProcessStats::read() {
        family(
            out,
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
        );
        let _ = writeln!(out, "process_cpu_seconds_total {}", stats.cpu_seconds);
        family(
            out,
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
        );
        let _ = writeln!(
            out,
            "process_resident_memory_bytes {}",
            stats.resident_bytes
        );
        family(
            out,
            "process_threads",
            "gauge",
            "Number of OS threads in the process.",
        );
        let _ = writeln!(out, "process_threads {}", stats.threads);
    }
    if let Some(fds) = ProcessStats::open_fds() {
        family(
            out,
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
        );
        let _ = writeln!(out, "process_open_fds {fds}");
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    family(
        out,
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
    );
    let _ = writeln!(
        out,
        "process_start_time_seconds {}",
        now.saturating_sub(uptime).as_secs_f64()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_series_are_present() {
        let mut out = String::new();
        process(&mut out, Duration::from_secs(1));
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_threads",
            "process_open_fds",
            "process_start_time_seconds",
        ] {
            assert!(
                out.contains(&format!("\n{name} ")),
                "{name} missing:\n{out}"
            );
        }
    }
}
