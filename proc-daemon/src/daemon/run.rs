//! One run of a daemon, in order: signals, logging, console, scheduler hints, PID file, metrics
//! and resource tracking, the admin endpoint and control socket, the config-file watch; then
//! every subsystem under its supervisor; then the ordered stop and the outcome.

use std::sync::Arc;

use tokio::task::AbortHandle;
use tokio_util::task::TaskTracker;

use super::{DaemonBuilder, RunReport};
use crate::process::pidfile::PidFile;
use crate::process::{inherited, logging, signal, systemd};
use crate::state::{Dependencies, Shared, ShutdownReason};
use crate::subsystem::StateMap;
use crate::supervision::lifecycle::{Running, request_shutdown, subsystem_started};
use crate::supervision::stop::{first_ten, shut_down};
use crate::supervision::supervisor::supervise;
use crate::{Config, Error, Result, SubsystemState};

/// How long the end of a run waits for control-socket answers still being written.
const ANSWERS_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

pub(super) async fn run_to_end(builder: DaemonBuilder) -> Result<RunReport> {
    let DaemonBuilder {
        shared,
        pid_file,
        signals,
        logging_started,
        config_checked,
        locked_pid_file,
        provided,
        in_process,
    } = builder;
    let _signals = match signals {
        Some(attached) => Some(attached),
        None if in_process => None,
        None => {
            signal::install()?;
            Some(signal::attach(&shared))
        }
    };
    if !config_checked && let Some(check) = shared.config.origin().app_check {
        let mut config = Config::clone(&shared.config.get());
        config.set_typed_app(check(&config)?);
        shared.config.replace(Arc::new(config));
    }
    let mut provided = provided;
    // Bound here unless the launcher bound them before set-up.
    if !shared.config.get().listen.is_empty()
        && provided
            .get::<crate::process::listeners::Listeners>()
            .is_none()
    {
        provided.insert(crate::process::listeners::open(&shared.config.get())?);
    }
    check_provided(&shared, &provided)?;
    if let Some(order) = shared.with_entries(Dependencies::resolve)? {
        shared.set_dependencies(order);
    }
    shared.set_provided(provided);
    let _running = Running::start(&shared);
    #[cfg(feature = "lockfree-coordination")]
    super::manager::register(&shared);
    // The launcher did these before logging (and so before the log file) started.
    if !logging_started && !in_process {
        crate::process::privileges::apply_umask_and_directory(&shared.config.get())?;
        logging::init(&shared.config.get());
    }
    #[cfg(feature = "console")]
    crate::observe::console::init(&shared.config.get());
    #[cfg(feature = "scheduler-hints")]
    crate::process::scheduler::apply_process_hints(&shared.config.get());
    crate::process::tuning::apply(&shared);
    crate::process::limits::apply(&shared.config.get())?;
    // The lock taken before set-up, unless set-up chose another PID file. Kept by the handover
    // (an upgrade passes it on) and released when this function returns.
    let pid_file = match (locked_pid_file, pid_file) {
        (Some(locked), Some(path)) if locked.path() == path => Some(locked),
        (_, path) => path
            .as_deref()
            .map(PidFile::acquire_or_passed_on)
            .transpose()?,
    };
    let _release_pid_file = ReleasePidFile(&shared);
    if let Some(pid_file) = pid_file {
        shared.handover.keep_pid_file(Box::new(pid_file));
    }
    if let (Some(parent), Some((_, pipe))) = (inherited::upgrading_from(), inherited::take("ready"))
    {
        shared.handover.expect_parent(parent, pipe.into());
    }
    // The PID file and the log file are open: nothing after this needs root (a no-op when the
    // launcher dropped privileges already).
    if !in_process {
        crate::process::privileges::drop_privileges(&shared.config.get())?;
    }
    shared.mark_started_now();
    #[cfg(feature = "metrics")]
    start_metrics(&shared);
    #[cfg(feature = "admin")]
    let _admin = match shared.config.get().admin.clone() {
        Some(admin) => Some(crate::observe::admin::start(admin.bind, shared.clone()).await?),
        None => None,
    };
    #[cfg(feature = "ipc")]
    let _ipc = {
        let config = shared.config.get();
        config
            .ipc
            .enabled
            .then(|| crate::ipc::start(config.ipc.socket_path(&config.name), shared.clone()))
            .transpose()?
    };
    #[cfg(feature = "config-watch")]
    let _watcher = match shared.config.origin().path {
        Some(path) if shared.config.get().hot_reload => {
            crate::process::watcher::watch(&path, &shared.config)
        }
        _ => {
            if shared.config.get().hot_reload {
                tracing::warn!(
                    "hot_reload = true, but the configuration was not read from a file (defaults and environment only); there is nothing to watch"
                );
            }
            None
        }
    };

    // Elected (or following) before the subsystems start, so singletons know where they run.
    #[cfg(feature = "cluster")]
    let election = match shared.config.get().cluster.clone() {
        Some(cluster) => Some(crate::cluster::election::Election::start(&shared, &cluster).await?),
        None => None,
    };
    // The sockets are kept by systemd across `systemctl restart` (with FileDescriptorStoreMax=).
    if let Some(listeners) = shared
        .provided()
        .get::<crate::process::listeners::Listeners>()
    {
        systemd::store_listeners(listeners.descriptors());
    }
    // What an upgraded-from daemon passed and nothing took (a `[listen]` entry since removed).
    inherited::close_unclaimed();

    let tracker = TaskTracker::new();
    let aborts = start_subsystems(&shared, &tracker);
    tracker.close();
    let started = aborts.iter().flatten().count();
    let names = shared
        .entries()
        .iter()
        .zip(&aborts)
        .filter(|(_, abort)| abort.is_some())
        .map(|(entry, _)| format!("`{}`", entry.name()));
    tracing::info!(
        "daemon `{}` started {started} subsystem(s) (pid {}): {}",
        shared.config.get().name,
        std::process::id(),
        first_ten(names, started)
    );
    shared.set_initial_aborts(aborts);

    // Pings stop when this task stops being polled: a wedged runtime gets restarted.
    let watchdog_pings = systemd::watchdog_interval()
        .map(|interval| tokio::spawn(systemd::keep_watchdog_fed(interval)));
    tokio::select! {
        () = tracker.wait() => request_shutdown(&shared, ShutdownReason::AllStopped),
        () = shared.shutdown.cancelled() => {}
    }
    let overrun = shut_down(&shared, &tracker).await;
    shared.release_aborts();
    // An answer already computed (`ok: stopping`, `ok: upgraded`) still reaches its client; a
    // client that does not read it does not hold the exit up.
    shared.answers.close();
    let _ = tokio::time::timeout(ANSWERS_GRACE, shared.answers.wait()).await;
    // Every singleton has stopped: another replica may lead at once.
    #[cfg(feature = "cluster")]
    if let Some(election) = election {
        election.resign().await;
    }
    #[cfg(feature = "metrics")]
    if let Some(resources) = crate::lock::mutex(&shared.resources).as_ref() {
        resources.stop();
    }
    if let Some(pings) = watchdog_pings {
        pings.abort();
    }

    if let Some(failure) = shared.take_failure() {
        return Err(failure);
    }
    if !overrun.is_empty() {
        return Err(Error::shutdown(format!(
            "{} did not stop within the shutdown timeout and had to be aborted",
            overrun.join(", ")
        )));
    }
    tracing::info!(
        "daemon `{}` stopped cleanly in {:?}",
        shared.config.get().name,
        shared.time_stopping()
    );
    Ok(RunReport::new(
        shared
            .shutdown_reason()
            .unwrap_or(ShutdownReason::Requested),
        shared.config.get(),
        shared.clone(),
    ))
}

/// Releases the PID file when the run ends, however it ends: removed, unless an upgrade handed
/// it on.
struct ReleasePidFile<'a>(&'a Shared);

impl Drop for ReleasePidFile<'_> {
    fn drop(&mut self) {
        self.0.handover.release_pid_file();
    }
}

/// `metrics` crate macros record into the daemon's collector (with `enable_metrics`), and
/// resources are sampled (with `track_resources`) until the daemon's run ends.
#[cfg(feature = "metrics")]
fn start_metrics(shared: &Shared) {
    let monitoring = shared.config.get().monitoring.clone();
    if monitoring.enable_metrics && crate::metrics::install_as_global_recorder(&shared.metrics) {
        tracing::debug!("`metrics` crate macros now record into the daemon's /metrics");
    }
    if !monitoring.track_resources {
        return;
    }
    let tracker = crate::resources::ResourceTracker::with_interval(
        std::time::Duration::from_millis(monitoring.metrics_interval_ms),
    );
    let sampler = tracker.clone();
    tokio::spawn(async move { sampler.start().await });
    *crate::lock::mutex(&shared.resources) = Some(tracker);
}

/// Spawns one supervisor per subsystem; returns their abort handles (`None` for subsystems
/// not started because shutdown began during start-up).
fn start_subsystems(shared: &Arc<Shared>, tracker: &TaskTracker) -> Vec<Option<AbortHandle>> {
    let entries = shared.freeze_entries();
    // From here on, subsystems may be added (and removed) while the daemon runs: a subsystem
    // of the starting set may add one as soon as it runs.
    shared.set_runtime(tracker.clone());
    // One more than the subsystems, released below, so that start-up is complete only once
    // every subsystem has been spawned (and at once when there are none).
    shared.expect_starts(entries.len());
    let mut aborts = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        if shared.is_stopping() {
            // A signal arrived during start-up: what has started is stopped, the rest never runs.
            entry.transition(SubsystemState::Stopped, None, &shared.events);
            entry.mark_exited();
            aborts.push(None);
            continue;
        }
        let task = tracker.spawn(supervise(shared.clone(), index));
        aborts.push(Some(task.abort_handle()));
    }
    subsystem_started(shared);
    aborts
}

/// Every `State<T>` a subsystem or its health check takes was provided; otherwise nothing
/// starts, and the error names the type and the subsystem.
fn check_provided(shared: &Shared, provided: &StateMap) -> Result<()> {
    shared.with_entries(|entries| {
        for entry in entries {
            let subsystem = &entry.subsystem;
            if let Some(need) = subsystem
                .required_state()
                .into_iter()
                .find(|need| !provided.has(need))
            {
                return Err(crate::subsystem::provided::missing(
                    subsystem.name(),
                    need.type_name(),
                ));
            }
        }
        Ok(())
    })
}
