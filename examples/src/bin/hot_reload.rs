// Hot reload: the greeter reads its greeting and pace from the `[app]` table of
// `examples/hot_reload.toml` and follows every change of that file while it runs — no restart,
// no signal. A broken edit is logged with its file, line and column, and the last good
// configuration stays in force. (SIGHUP reloads too, with or without `hot_reload`.)
//
// ```text
// cargo run -p examples --bin hot_reload
// # in another terminal: edit examples/hot_reload.toml, e.g. greeting = "bonjour"
// ```

use std::io::Write as _; // writeln! to a closed stdout returns an error; println! would panic
use std::time::Duration;

use proc_daemon::{Context, daemon, subsystem};

/// The `[app]` table of `hot_reload.toml`.
#[derive(serde::Deserialize)]
struct Greeting {
    greeting: String,
    every_ms: u64,
}

#[subsystem]
async fn greeter(context: Context) -> proc_daemon::Result<()> {
    let shutdown = context.shutdown().clone();
    let mut app: Greeting = context.app()?;
    let _ = writeln!(
        std::io::stdout(),
        "greeter: {} (every {} ms)",
        app.greeting,
        app.every_ms
    );
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = context.config_changed() => {
                // A change that does not fit `Greeting` keeps the previous one.
                match context.app::<Greeting>() {
                    Ok(new) => {
                        app = new;
                        let _ = writeln!(std::io::stdout(), "greeter: now {} (every {} ms)", app.greeting, app.every_ms);
                    }
                    Err(err) => {
                        let _ = writeln!(std::io::stderr(), "greeter: keeping {:?}: {err}", app.greeting);
                    }
                }
            }
            () = tokio::time::sleep(Duration::from_millis(app.every_ms)) => {
                let _ = writeln!(std::io::stdout(), "greeter: {}", app.greeting);
            }
        }
    }
    let _ = writeln!(std::io::stdout(), "greeter: stopped");
    Ok(())
}

#[daemon(
    name = "hot_reload",
    config = concat!(env!("CARGO_MANIFEST_DIR"), "/hot_reload.toml"),
    subsystems = [greeter]
)]
fn main() {}
