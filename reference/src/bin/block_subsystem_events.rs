//! The reference's "Subsystem Events" block, as published; only the `main` around it (and what
//! it assumes from the surrounding text) is added.

#[tokio::main]
async fn main() -> proc_daemon::Result<()> {
    // ---- the block, as published ----
    #[cfg(feature = "lockfree-coordination")]
    {
        use proc_daemon::SubsystemManager;

        let manager = SubsystemManager::new();
        manager.enable_events();

        // Poll events without blocking
        if let Some(ev) = manager.try_next_event() {
            match ev {
                proc_daemon::subsystem::SubsystemEvent::StateChanged {
                    id,
                    name,
                    state,
                    at,
                } => {
                    println!("[{:?}] {} -> {:?}", at, name, state);
                }
            }
        }
    }
    // ---- end of the block ----
    Ok(())
}
