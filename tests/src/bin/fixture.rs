//! A daemon whose behaviour the process-level tests choose on the command line.
//!
//! `fixture <scenario> [key=value ...]`; every subsystem prints what it does on stdout, the
//! framework logs on stderr. Deadlines and the PID file come from `DAEMON_*` variables.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use proc_daemon::subsystem::RunFuture;
use proc_daemon::{
    DaemonBuilder, Error, Launcher, RestartLimit, RestartPolicy, ShutdownHandle, SubsystemFn,
};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_default();
    let options: HashMap<String, String> = args
        .filter_map(|a| a.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    if scenario == "impostor" {
        return impostor(&options["socket"], options.contains_key("silent"));
    }
    let prefix = std::env::var("FIXTURE_ENV_PREFIX").unwrap_or_else(|_| "DAEMON".to_owned());
    Launcher::new("fixture")
        .env_prefix(prefix)
        .run(move |daemon| async move {
            println!("setup: starting");
            // The same moment on standard error, for order checks against the daemon's logs.
            tracing::info!("fixture set-up begins");
            if let Some(ms) = options.get("setup_ms") {
                // Slow start-up: signals must still be handled while this runs.
                tokio::time::sleep(Duration::from_millis(ms.parse().unwrap())).await;
            }
            if options.contains_key("setup_panic") {
                panic!("set-up exploded: the cache is corrupt");
            }
            if options.contains_key("setup_error") {
                return Err(Error::other("set-up failed: database unreachable"));
            }
            println!("setup done");
            Ok(build(&scenario, &options, daemon))
        })
}

fn option<T: std::str::FromStr>(options: &HashMap<String, String>, key: &str, default: T) -> T {
    options
        .get(key)
        .map_or(default, |v| v.parse().ok().expect("option value"))
}

fn build(
    scenario: &str,
    options: &HashMap<String, String>,
    daemon: DaemonBuilder,
) -> DaemonBuilder {
    match scenario {
        "idle" => {
            let count = option(options, "count", 2u32);
            // Lines logged as the daemon stops: the exit must still write every one.
            let stop_burst = option(options, "stop_burst", 0u32);
            (0..count).fold(daemon, |daemon, i| {
                daemon.with_subsystem_fn(&format!("idle{i}"), move |shutdown| async move {
                    println!("idle{i}: running");
                    shutdown.cancelled().await;
                    for line in 0..stop_burst {
                        tracing::info!("burst line {line}");
                    }
                    println!("idle{i}: cancelled");
                    Ok(())
                })
            })
        }
        "runs" => daemon.with_subsystem(flaky(options)),
        "exclusive" => {
            // Proves single-instance: entering creates the marker exclusively, leaving removes it.
            let marker = std::path::PathBuf::from(&options["marker"]);
            daemon.with_subsystem_fn("exclusive", move |shutdown| {
                let marker = marker.clone();
                async move {
                    let created = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&marker);
                    if created.is_err() {
                        println!("exclusive: OVERLAP, another instance is running");
                        return Err(Error::other("two instances at once"));
                    }
                    println!("exclusive: entered");
                    shutdown.cancelled().await;
                    std::fs::remove_file(&marker).unwrap();
                    println!("exclusive: left");
                    Ok(())
                }
            })
        }
        "two" => daemon
            .with_subsystem(flaky(options).critical(option(options, "critical", true)))
            .with_subsystem_fn("steady", |shutdown| async move {
                println!("steady: running");
                shutdown.cancelled().await;
                println!("steady: cancelled");
                Ok(())
            }),
        // Not critical, restarted always: a configuration error still ends the daemon (78).
        "config-error" => daemon
            .with_subsystem(
                SubsystemFn::new("reader", |_shutdown| async move {
                    println!("reader: running");
                    Err(Error::config("app.port: expected a number from 1 to 65535"))
                })
                .restart_policy(RestartPolicy::Always)
                .critical(false),
            )
            .with_subsystem_fn("steady", |shutdown| async move {
                println!("steady: running");
                shutdown.cancelled().await;
                println!("steady: cancelled");
                Ok(())
            }),
        "stubborn" => daemon
            .with_subsystem_fn("polite", |shutdown| async move {
                println!("polite: running");
                shutdown.cancelled().await;
                println!("polite: cancelled");
                Ok(())
            })
            .with_subsystem_fn("stubborn", |_shutdown| async move {
                println!("stubborn: running");
                loop {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }),
        "own-timeout" => daemon.with_subsystem(
            SubsystemFn::new("quick-budget", |_shutdown| async move {
                println!("quick-budget: running");
                std::future::pending::<()>().await;
                Ok(())
            })
            .shutdown_timeout(Duration::from_millis(option(
                options,
                "budget_ms",
                100,
            ))),
        ),
        "blocking" => daemon.with_subsystem_fn("blocker", |_shutdown| async move {
            println!("blocker: running");
            loop {
                // Deliberately blocks its worker thread and never looks at the handle.
                std::thread::sleep(Duration::from_millis(20));
            }
        }),
        "wedged" => daemon.with_subsystem_fn("wedged", |_shutdown| async move {
            println!("wedged: running");
            // Holds standard error forever, so even the forced exit's log line blocks.
            let _stderr = std::io::stderr().lock();
            loop {
                std::thread::sleep(Duration::from_millis(20));
            }
        }),
        "slow-stop" => daemon.with_subsystem_fn("slow", |shutdown: ShutdownHandle| async move {
            println!("slow: running");
            shutdown.cancelled().await;
            println!("slow: cleaning up");
            tokio::time::sleep(Duration::from_secs(600)).await;
            Ok(())
        }),
        "health" => {
            // Healthy while the flag file does not exist.
            let flag = std::path::PathBuf::from(
                options.get("unhealthy_when").expect("unhealthy_when=PATH"),
            );
            let runs = Arc::new(AtomicU32::new(0));
            let blocks = options.contains_key("check_blocks");
            // A restarted run clears the flag itself, before its first health check: exactly
            // one health-check restart, however late the test is.
            let recover = options
                .contains_key("recover_on_restart")
                .then(|| flag.clone());
            daemon
                .with_subsystem_fn("ticker", |shutdown| async move {
                    // Shows time passing, so a test can wait for many intervals without sleeping.
                    let mut ticks = tokio::time::interval(Duration::from_millis(10));
                    for tick in 0.. {
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            _ = ticks.tick() => println!("ticker: tick {tick}"),
                        }
                    }
                    Ok(())
                })
                .with_subsystem(
                    SubsystemFn::new("checked", move |shutdown: ShutdownHandle| {
                        let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
                        if run > 1
                            && let Some(flag) = &recover
                        {
                            let _ = std::fs::remove_file(flag);
                        }
                        async move {
                            println!("checked: run {run}");
                            shutdown.cancelled().await;
                            println!("checked: cancelled in run {run}");
                            Ok(())
                        }
                    })
                    .health_check(move || {
                        if blocks {
                            println!("checked: health check blocking");
                            // A check stuck in a blocking call; it must not stall anything else.
                            std::thread::sleep(Duration::from_secs(3600));
                        }
                        let healthy = !flag.exists();
                        println!("checked: health {healthy}");
                        healthy
                    })
                    .health_check_interval(Duration::from_millis(option(
                        options,
                        "interval_ms",
                        50,
                    ))),
                )
        }
        "config-watch" => daemon.with_subsystem(config_watch {}),
        "hold-ready" => daemon.with_subsystem(slow_binder {}),
        "chatty" => {
            let count: u32 = option(options, "count", 100);
            daemon.with_subsystem_fn("chatty", move |shutdown| async move {
                for line in 0..count {
                    tracing::info!("fixture: line {line}");
                }
                println!("chatty: logged {count}");
                shutdown.cancelled().await;
                Ok(())
            })
        }
        // `after` that cannot be satisfied: `depends=a>b,b>c` (a runs after b, ...).
        "dependencies" => {
            let mut daemon = daemon;
            let mut names: Vec<&str> = Vec::new();
            let edges: Vec<(&str, &str)> = options["depends"]
                .split(',')
                .map(|edge| edge.split_once('>').expect("depends=a>b,..."))
                .collect();
            for (dependent, _) in &edges {
                if !names.contains(dependent) {
                    names.push(dependent);
                }
            }
            for name in names {
                let owned = name.to_owned();
                let mut subsystem =
                    SubsystemFn::new(name.to_owned(), move |shutdown: ShutdownHandle| {
                        let name = owned.clone();
                        async move {
                            println!("{name}: running");
                            shutdown.cancelled().await;
                            Ok(())
                        }
                    });
                for (_, dependency) in edges.iter().filter(|(dependent, _)| *dependent == name) {
                    subsystem = subsystem.after(*dependency);
                }
                daemon = daemon.with_subsystem(subsystem);
            }
            daemon
        }
        // Subsystems added and removed while the daemon runs: `manager` adds `tenant-1` and
        // `tenant-2` through the daemon's handle once it runs, and removes `tenant-2` when the
        // file `remove_when` appears.
        "tenants" => {
            let handle = daemon.handle();
            let remove_when = std::path::PathBuf::from(&options["remove_when"]);
            daemon.with_subsystem_fn("manager", move |shutdown| {
                let handle = handle.clone();
                let remove_when = remove_when.clone();
                async move {
                    for tenant in ["tenant-1", "tenant-2"] {
                        handle
                            .add_subsystem(SubsystemFn::new(
                                tenant,
                                move |shutdown: ShutdownHandle| async move {
                                    println!("{tenant}: running");
                                    shutdown.cancelled().await;
                                    println!("{tenant}: cancelled");
                                    Ok(())
                                },
                            ))
                            .map_err(|e| Error::other(e.to_string()))?;
                    }
                    let duplicate =
                        handle.add_subsystem(SubsystemFn::new("tenant-1", |_s| async { Ok(()) }));
                    println!("manager: adding tenant-1 again: {}", duplicate.unwrap_err());
                    // The fixture's own trigger, polled: the test creates the file.
                    loop {
                        tokio::select! {
                            () = shutdown.cancelled() => return Ok(()),
                            () = tokio::time::sleep(Duration::from_millis(10)) => {}
                        }
                        if remove_when.exists() {
                            break;
                        }
                    }
                    let ended = handle.remove_subsystem("tenant-2").await?;
                    println!("manager: tenant-2 removed, {}", ended.state);
                    shutdown.cancelled().await;
                    Ok(())
                }
            })
        }
        // Serves `hello from <pid>` on the `[listen]` socket `http` to each connection.
        "listen" => daemon.with_subsystem(greeter {}),
        // Answers `<pid> <line>` to each line on the `[listen]` socket `http`, one task per
        // connection, and finishes the connections it has when it is stopped.
        "echo" => daemon.with_subsystem(echo_server {}),
        // One singleton (`scheduler`) and one ordinary subsystem (`worker`), for `[cluster]`.
        "replica" => daemon
            .with_subsystem(scheduler {})
            .with_subsystem(worker {}),
        other => panic!("unknown scenario {other:?}"),
    }
}

/// Answers every connection on the `http` listener with one line.
#[proc_daemon::subsystem]
async fn greeter(context: proc_daemon::Context) -> proc_daemon::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let listener = context.tcp_listener("http")?;
    println!("greeter: listening on {}", listener.local_addr()?);
    if std::env::var_os("FIXTURE_SHOW_CHILD_ENV").is_some() {
        // What a process the daemon starts inherits of socket activation.
        let child = std::process::Command::new("sh")
            .args([
                "-c",
                "echo \"child sees LISTEN_PID=[$LISTEN_PID] LISTEN_FDS=[$LISTEN_FDS]\"",
            ])
            .output()?;
        print!("{}", String::from_utf8_lossy(&child.stdout));
    }
    loop {
        tokio::select! {
            () = context.shutdown().cancelled() => return Ok(()),
            accepted = listener.accept() => {
                let (mut stream, _) = accepted?;
                let line = format!("hello from {}\n", std::process::id());
                stream.write_all(line.as_bytes()).await?;
            }
        }
    }
}

/// Runs on the leading replica only; says when it starts and stops, with its fencing token.
#[proc_daemon::subsystem(singleton, shutdown_timeout = "1s")]
async fn scheduler(context: proc_daemon::Context) {
    println!(
        "scheduler: running on pid {} (fencing token {:?})",
        std::process::id(),
        context.fencing_token()
    );
    context.shutdown().cancelled().await;
    println!("scheduler: stopped on pid {}", std::process::id());
}

/// Runs on every replica; reports each change of the replica's standing in the election.
#[proc_daemon::subsystem]
async fn worker(context: proc_daemon::Context) {
    let pid = std::process::id();
    let mut leadership = context.leadership();
    println!("worker: running on pid {pid}");
    loop {
        tokio::select! {
            () = context.shutdown().cancelled() => return,
            changed = leadership.changed() => if changed.is_err() { return },
        }
        let standing = leadership.borrow_and_update().clone();
        println!(
            "worker: standing on pid {pid}: leading={} leader={:?} token={:?} reachable={}",
            standing.leading, standing.leader, standing.fencing_token, standing.reachable
        );
    }
}

/// Stops accepting when cancelled, then waits for the connections in hand to finish: what
/// a server must do for an upgrade to lose no request.
#[proc_daemon::subsystem]
async fn echo_server(context: proc_daemon::Context) -> proc_daemon::Result<()> {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let listener = context.tcp_listener("http")?;
    println!(
        "echo: pid {} listening on {}",
        std::process::id(),
        listener.local_addr()?
    );
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            () = context.shutdown().cancelled() => break,
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                connections.spawn(async move {
                    let (reading, mut writing) = stream.into_split();
                    let mut lines = tokio::io::BufReader::new(reading).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let answer = format!("{} {line}\n", std::process::id());
                        if writing.write_all(answer.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        }
    }
    let in_hand = connections.len();
    while connections.join_next().await.is_some() {}
    println!(
        "echo: pid {} stopped accepting; finished {in_hand} connection(s) in hand",
        std::process::id()
    );
    Ok(())
}

/// Ready only once the file named by `FIXTURE_READY_FLAG` exists (standing in for a socket
/// that takes a while to bind).
#[proc_daemon::subsystem(holds_readiness)]
async fn slow_binder(context: proc_daemon::Context) {
    let flag = std::path::PathBuf::from(
        std::env::var_os("FIXTURE_READY_FLAG").expect("FIXTURE_READY_FLAG"),
    );
    println!("binder: binding");
    while !flag.exists() {
        tokio::select! {
            () = context.shutdown().cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
    context.ready();
    println!("binder: ready");
    context.shutdown().cancelled().await;
}

/// Prints every configuration it is given; `[app] version` and `end` must agree, or the
/// configuration was applied half-written. Logs a debug line every 20 ms, to show the level.
#[proc_daemon::subsystem]
async fn config_watch(context: proc_daemon::Context) {
    fn report(config: &proc_daemon::Config) {
        let version = config.app.get("version").and_then(toml::Value::as_integer);
        let end = config.app.get("end").and_then(toml::Value::as_integer);
        match (version, end) {
            (Some(version), Some(end)) if version == end => println!(
                "config: version {version} timeout_ms={} level={}",
                config.shutdown.timeout_ms, config.logging.level
            ),
            _ => println!("config: PARTIAL version={version:?} end={end:?}"),
        }
    }
    report(&context.config());
    let shutdown = context.shutdown().clone();
    let mut ticks = tokio::time::interval(Duration::from_millis(20));
    for tick in 0u64.. {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = context.config_changed() => report(&context.config()),
            _ = ticks.tick() => {
                println!("config-watch: tick {tick}");
                tracing::debug!("fixture: debug tick {tick}");
            }
        }
    }
}

/// "flaky": run K prints `flaky: run K`; the first `fail` runs fail (`how` = err or panic), later
/// runs do `then` (ok, err, or wait for shutdown).
fn flaky(
    options: &HashMap<String, String>,
) -> SubsystemFn<impl Fn(ShutdownHandle) -> RunFuture + Send + Sync + 'static> {
    let fail: u32 = option(options, "fail", 0);
    let how: String = option(options, "how", "err".to_owned());
    let then: String = option(options, "then", "wait".to_owned());
    let policy = match option(options, "policy", "on_failure".to_owned()).as_str() {
        "never" => RestartPolicy::Never,
        "always" => RestartPolicy::Always,
        "on_failure" => RestartPolicy::OnFailure,
        "backoff" => RestartPolicy::ExponentialBackoff {
            initial_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
        },
        other => panic!("unknown policy {other}"),
    };
    let limit = RestartLimit::new(option(options, "max_restarts", 10), Duration::from_secs(60));
    let runs = Arc::new(AtomicU32::new(0));
    SubsystemFn::new("flaky", move |shutdown: ShutdownHandle| {
        let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
        let how = how.clone();
        let then = then.clone();
        Box::pin(async move {
            println!("flaky: run {run}");
            if run <= fail {
                if how == "panic" {
                    panic!("flaky exploded on run {run}");
                }
                return Err(Error::other(format!("flaky failed on run {run}")));
            }
            match then.as_str() {
                "ok" => Ok(()),
                "err" => Err(Error::other(format!("flaky failed on run {run}"))),
                _ => {
                    shutdown.cancelled().await;
                    println!("flaky: cancelled");
                    Ok(())
                }
            }
        }) as RunFuture
    })
    .restart_policy(policy)
    .restart_limit(limit)
}

/// Serves a control socket that is not the daemon's: it reads one command and claims to obey.
/// Serves one connection on `socket`: reads a line and answers "ok: stopping", or (`silent`)
/// closes without answering, as a daemon that ends mid-command does.
fn impostor(socket: &str, silent: bool) -> ExitCode {
    use std::io::{BufRead as _, Write as _};
    let listener = std::os::unix::net::UnixListener::bind(socket).expect("bind the impostor");
    println!("impostor: listening");
    if let Ok((stream, _)) = listener.accept() {
        let mut line = String::new();
        let _ = std::io::BufReader::new(&stream).read_line(&mut line);
        println!("impostor: read {:?}", line.trim());
        if !silent {
            let _ = (&stream).write_all(b"ok: stopping\n");
        }
    }
    ExitCode::SUCCESS
}
