//! The function stays an ordinary function: callable, testable; the struct is the subsystem.
use proc_daemon::{ShutdownHandle, Subsystem, subsystem};

#[subsystem(restart = "never", max_restarts = 3)]
async fn worker(shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
    shutdown.cancelled().await;
    Ok(())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let handle = ShutdownHandle::new();
        let direct = tokio::spawn(worker(handle.clone()));
        drop(handle);
        let _ = direct;
    });
    let value = worker {};
    assert_eq!(value.name(), "worker");
    assert_eq!(value.restart_policy(), proc_daemon::RestartPolicy::Never);
    assert_eq!(value.restart_limit().max_restarts, 3);
    assert!(value.critical());
}
