use proc_daemon::{ShutdownHandle, daemon, subsystem};

#[subsystem(restart = "never")]
async fn never() {}

#[subsystem(restart = "always", max_restarts = 2, within = "1m", critical = false)]
async fn always(_shutdown: ShutdownHandle) -> proc_daemon::Result<()> {
    Ok(())
}

#[subsystem(restart = "on_failure")]
async fn on_failure() -> std::io::Result<()> {
    Ok(())
}

#[subsystem(restart = "exponential_backoff", initial_delay = "10ms", max_delay = "1s")]
async fn backoff(shutdown: ShutdownHandle) -> Result<(), std::fmt::Error> {
    let _ = shutdown.is_shutdown();
    Ok(())
}

#[daemon(subsystems = [never, always, on_failure, backoff])]
async fn main() -> proc_daemon::Result<()> {
    Ok(())
}
