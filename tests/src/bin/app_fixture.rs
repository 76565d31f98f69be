//! A daemon with typed `[app]` settings (`#[daemon(app = Settings)]`): a bad `[app]` is a
//! configuration error at `--check-config`, at start and at reload.

use proc_daemon::{Context, daemon, subsystem};

#[derive(Debug, serde::Deserialize)]
struct Settings {
    port: u16,
}

#[subsystem]
async fn server(context: Context) -> anyhow::Result<()> {
    loop {
        // Parsed once per load, shared: no parse here.
        let settings = context.settings::<Settings>()?;
        println!("server: port {}", settings.port);
        tokio::select! {
            () = context.shutdown().cancelled() => return Ok(()),
            () = context.config_changed() => {}
        }
    }
}

#[daemon(name = "app-fixture", app = Settings, subsystems = [server])]
async fn main() {}
