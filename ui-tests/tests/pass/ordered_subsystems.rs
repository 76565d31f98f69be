// `after` names other `#[subsystem]`s by path, here and in a module; the run ends by itself
// (each returns at once), in dependency order.
use proc_daemon::{ShutdownHandle, daemon, subsystem};

mod storage {
    use proc_daemon::subsystem;

    #[subsystem(name = "database", restart = "never")]
    pub async fn db() {}
}

#[subsystem(restart = "never", after = [storage::db])]
async fn cache() {}

#[subsystem(restart = "never", after = [storage::db, cache], restarts_with_dependencies = false)]
async fn api(shutdown: ShutdownHandle) {
    let _ = shutdown.is_shutdown();
}

#[daemon(subsystems = [api, cache, storage::db])]
async fn main() {
    use proc_daemon::Subsystem;
    assert_eq!(api {}.dependencies(), ["database", "cache"]);
    assert!(!api {}.restarts_with_dependencies());
    assert!(cache {}.restarts_with_dependencies());
}
