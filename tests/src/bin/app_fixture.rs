//! A daemon with typed `[app]` settings (`#[daemon(app = Settings)]`): a bad `[app]` is a
//! configuration error at `--check-config`, at start and at reload. With
//! `APP_FIXTURE_WITHOUT_STATE=1` its set-up provides nothing, and the start must stop naming
//! the missing `State<Banner>`.

use proc_daemon::{Context, ShutdownHandle, State, daemon, subsystem};

/// Provided by the set-up.
struct Banner(&'static str);

#[subsystem]
async fn banner(banner: State<Banner>, shutdown: ShutdownHandle) {
    println!("banner: {}", banner.0);
    shutdown.cancelled().await;
}

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

#[daemon(name = "app-fixture", app = Settings, subsystems = [server, banner])]
async fn main() {
    if std::env::var_os("APP_FIXTURE_WITHOUT_STATE").is_none() {
        proc_daemon::provide(Banner("provided by the set-up"));
    }
}
