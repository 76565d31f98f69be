//! The examples, run as users run them.

use tests::{Exit, Process, http_get, scratch_dir};

#[test]
fn simple_and_its_hand_written_twin_stop_cleanly_on_sigterm_and_sigint() {
    for (program, signal) in [
        (env!("CARGO_BIN_EXE_simple"), libc::SIGTERM),
        (env!("CARGO_BIN_EXE_simple"), libc::SIGINT),
        (env!("CARGO_BIN_EXE_builder"), libc::SIGTERM),
    ] {
        let dir = scratch_dir(&format!("simple-{signal}-{}", program.len()));
        let pid_file = dir.join("simple.pid");
        let mut daemon = Process::start(
            program,
            &[],
            &[("DAEMON_PID_FILE", pid_file.to_str().unwrap())],
        );
        daemon.wait_for("worker: started");
        assert!(pid_file.exists());
        daemon.signal(signal);
        daemon.expect_exit(Exit::Code(0));
        daemon.wait_for("worker: shutdown requested");
        assert!(!pid_file.exists(), "PID file left behind");
    }
}

#[test]
fn simple_survives_a_closed_stdout() {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_simple"));
    command.stdout(tests::broken_pipe());
    let mut daemon = Process::spawn_with_stdout(command);
    daemon.wait_for("all 1 subsystem(s) are running");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    assert_eq!(daemon.count("panicked"), 0, "{}", daemon.transcript());
    assert_eq!(daemon.count("restarting"), 0, "{}", daemon.transcript());
}

#[test]
fn comprehensive_recovers_its_fetcher_and_stops_everything() {
    let dir = scratch_dir("comprehensive");
    let pid_file = dir.join("c.pid");
    let mut daemon = Process::start(
        env!("CARGO_BIN_EXE_comprehensive"),
        &[],
        &[("DAEMON_PID_FILE", pid_file.to_str().unwrap())],
    );
    daemon.wait_for("api: serving");
    daemon.wait_for("queue: consuming");
    daemon.wait_for("warm-cache: loaded 42 entries");
    daemon.wait_for("fetcher: attempt 3 to reach https://example.invalid/feed");
    daemon.wait_for("fetcher: connected");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    // Counted once all output is in: the restart lines are on stderr, the fetcher's on stdout.
    assert_eq!(daemon.count("restarting subsystem `fetcher`"), 2);
    for line in ["api: stopped", "fetcher: stopped", "queue: stopped"] {
        assert_eq!(daemon.count(line), 1, "{line}: {}", daemon.transcript());
    }
    assert!(!pid_file.exists());
}

#[test]
fn comprehensive_reports_a_broken_config_file_with_exit_78() {
    let dir = scratch_dir("comprehensive-bad");
    let config = dir.join("daemon.toml");
    std::fs::write(&config, "[shutdown]\ntimeout_ms = \"soon\"\n").unwrap();
    let mut daemon = Process::start(
        env!("CARGO_BIN_EXE_comprehensive"),
        &[],
        &[("DAEMON_CONFIG", config.to_str().unwrap())],
    );
    assert_eq!(daemon.wait_exit(), Exit::Code(78));
    daemon.wait_for(&format!(
        "{}:2:14: shutdown.timeout_ms: invalid type: string \"soon\", expected a non-negative integer",
        config.display()
    ));
}

#[test]
fn the_command_line_answers_version_help_and_check_config() {
    let mut version = Process::start(env!("CARGO_BIN_EXE_simple"), &["--version"], &[]);
    assert_eq!(version.wait_exit(), Exit::Code(0));
    version.wait_for(&format!("simple {}", env!("CARGO_PKG_VERSION")));

    let mut help = Process::start(env!("CARGO_BIN_EXE_simple"), &["--help"], &[]);
    assert_eq!(help.wait_exit(), Exit::Code(0));
    help.wait_for("--config PATH");
    help.wait_for("DAEMON_CONFIG");

    let mut check = Process::start(
        env!("CARGO_BIN_EXE_comprehensive"),
        &["--check-config"],
        &[],
    );
    check.expect_exit(Exit::Code(0));
    check.wait_for("comprehensive: configuration ok (");
    assert_eq!(
        check.count("api: serving"),
        0,
        "--check-config must not start the daemon"
    );
}

#[test]
fn config_on_the_command_line_wins_and_is_checked() {
    let dir = scratch_dir("cli-config");
    let config = dir.join("broken.toml");
    std::fs::write(&config, "[logging]\nlevel = \"loud\"\n").unwrap();
    let config_arg = config.to_str().unwrap();

    let mut check = Process::start(
        env!("CARGO_BIN_EXE_comprehensive"),
        &["--check-config", "--config", config_arg],
        &[],
    );
    assert_eq!(check.wait_exit(), Exit::Code(78));
    check.wait_for(&format!(
        "{config_arg}:2:9: logging.level: unknown log level \"loud\", expected one of trace, debug, info, warn, error"
    ));

    let mut run = Process::start(
        env!("CARGO_BIN_EXE_comprehensive"),
        &[&format!("--config={config_arg}")],
        &[],
    );
    assert_eq!(run.wait_exit(), Exit::Code(78));
    assert_eq!(run.count("api: serving"), 0);

    let mut usage = Process::start(env!("CARGO_BIN_EXE_simple"), &["--config"], &[]);
    assert_eq!(usage.wait_exit(), Exit::Code(64));
    usage.wait_for("simple: --config needs a path");
}

/// One GET over plain TCP: status code and body.
#[test]
fn metrics_server_exposes_probes_and_metrics() {
    let mut daemon = Process::start(
        env!("CARGO_BIN_EXE_metrics_server"),
        &[],
        &[("DAEMON_ADMIN_BIND", "127.0.0.1:0")],
    );
    let line = daemon.wait_for("admin endpoint listening on http://");
    let address = line.rsplit("http://").next().unwrap().trim().to_owned();
    // Printed after the worker has registered its metrics.
    daemon.wait_for("worker: processing batches of 100");
    daemon.wait_for("all 1 subsystem(s) are running");
    assert_eq!(http_get(&address, "/healthz").0, 200);
    assert_eq!(http_get(&address, "/readyz").0, 200);
    let (code, metrics) = http_get(&address, "/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics.contains("proc_daemon_subsystem_state{subsystem=\"worker\",state=\"running\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE process_cpu_seconds_total counter"),
        "{metrics}"
    );
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    daemon.wait_for("worker: stopped after");
}

/// The deployment files promise what the example's configuration does.
#[test]
fn deploy_files_match_the_example() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let config =
        proc_daemon::Config::load_from_file(format!("{root}/examples/metrics_server.toml"))
            .unwrap();
    let kill_seconds = config.shutdown.kill_timeout_ms / 1000;

    let unit = std::fs::read_to_string(format!("{root}/deploy/metrics_server.service")).unwrap();
    for line in [
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "RestartPreventExitStatus=78",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.lines().any(|l| l == line), "unit lacks {line}");
    }
    let newer = std::fs::read_to_string(format!(
        "{root}/deploy/metrics_server.service.d/notify-reload.conf"
    ))
    .unwrap();
    for line in ["Type=notify-reload", "ReloadSignal=SIGHUP", "ExecReload="] {
        assert!(newer.lines().any(|l| l == line), "drop-in lacks {line}");
    }
    assert!(
        unit.lines().any(|l| l.starts_with("WatchdogSec=")),
        "unit lacks WatchdogSec"
    );
    let stop: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.trim_end_matches('s').parse().ok())
        .expect("TimeoutStopSec");
    assert!(
        stop > kill_seconds,
        "systemd would SIGKILL before the daemon's own kill deadline"
    );

    let manifest =
        std::fs::read_to_string(format!("{root}/deploy/metrics_server.k8s.yaml")).unwrap();
    let grace: u64 = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("terminationGracePeriodSeconds:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("terminationGracePeriodSeconds");
    assert!(
        grace > kill_seconds,
        "Kubernetes would SIGKILL before the daemon's own kill deadline"
    );
    for line in [
        "path: /healthz",
        "path: /readyz",
        "containerPort: 9090",
        "readOnlyRootFilesystem: true",
        "runAsNonRoot: true",
        "allowPrivilegeEscalation: false",
        "mountPath: /run/metrics_server",
        "value: /run/metrics_server/metrics_server.pid",
    ] {
        assert!(manifest.contains(line), "manifest lacks {line}");
    }
    let port = config.admin.expect("[admin] in the example").bind.port();
    assert_eq!(
        port, 9090,
        "the manifest's port is the example's admin port"
    );
    // The image runs as the user the manifest names, and serves the port it probes.
    let dockerfile = std::fs::read_to_string(format!("{root}/deploy/Dockerfile")).unwrap();
    let user = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER in the Dockerfile");
    let run_as = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("runAsUser:"))
        .expect("runAsUser")
        .trim();
    assert_eq!(user, format!("{run_as}:{run_as}"));
    assert!(dockerfile.contains("ENV DAEMON_ADMIN_BIND=0.0.0.0:9090"));
    assert!(
        dockerfile.contains("COPY examples/metrics_server.toml /etc/metrics_server/daemon.toml")
    );
    // The embedded config must itself be valid.
    let embedded = manifest
        .split("daemon.toml: |\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("    "))
        .fold(String::new(), |text, line| text + &line[4..] + "\n");
    proc_daemon::Config::from_toml_str("k8s ConfigMap", &embedded).unwrap();
}

#[test]
fn hot_reload_follows_edits_and_survives_a_broken_one() {
    let dir = scratch_dir("hot-reload-example");
    let config = dir.join("hot_reload.toml");
    let original = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/hot_reload.toml"))
        .unwrap()
        .replace("every_ms = 1000", "every_ms = 60000");
    std::fs::write(&config, &original).unwrap();
    let mut daemon = Process::start(
        env!("CARGO_BIN_EXE_hot_reload"),
        &["--config", config.to_str().unwrap()],
        &[],
    );
    daemon.wait_for("greeter: hello (every 60000 ms)");
    daemon.wait_for("watching");

    std::fs::write(&config, original.replace("\"hello\"", "\"bonjour\"")).unwrap();
    daemon.wait_for("greeter: now bonjour (every 60000 ms)");

    // Broken TOML: the reload fails with the place, and nothing changes.
    std::fs::write(&config, original.replace("\"hello\"", "\"unterminated")).unwrap();
    let error = daemon.wait_for("failed; keeping the previous configuration");
    assert!(error.contains("hot_reload.toml:11:"), "{error}");
    // Valid TOML that does not fit the greeter's type: it keeps its greeting.
    std::fs::write(
        &config,
        original.replace("every_ms = 60000", "every_ms = \"often\""),
    )
    .unwrap();
    let kept = daemon.wait_for("greeter: keeping \"bonjour\"");
    assert!(kept.contains("app.every_ms"), "{kept}");
    assert_eq!(daemon.count("greeter: now"), 1, "{}", daemon.transcript());

    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    daemon.wait_for("greeter: stopped");
}

#[test]
fn catalog_refuses_bad_settings_everywhere_and_drains_within_its_budget() {
    const CATALOG: &str = env!("CARGO_BIN_EXE_catalog");
    let dir = scratch_dir("catalog");
    let config = dir.join("catalog.toml");
    let path = config.to_str().unwrap();
    let good = |greeting: &str| {
        format!("name = \"catalog\"\n\n[app]\ngreeting = \"{greeting}\"\nrefresh_ms = 50\n")
    };
    let bad = "name = \"catalog\"\n\n[app]\ngreeting = \"welcome\"\nrefresh_ms = \"soon\"\n";
    let refused =
        format!("{path}:5:14: app.refresh_ms: invalid type: string \"soon\", expected u64");

    std::fs::write(&config, bad).unwrap();
    let mut check = Process::start(CATALOG, &["--check-config", "--config", path], &[]);
    check.expect_exit(Exit::Code(78));
    assert_eq!(check.count(&refused), 1, "{}", check.transcript());
    let mut start = Process::start(CATALOG, &["--config", path], &[]);
    start.expect_exit(Exit::Code(78));
    assert_eq!(start.count(&refused), 1, "{}", start.transcript());
    assert_eq!(start.count("refresher:"), 0, "{}", start.transcript());

    std::fs::write(&config, good("welcome")).unwrap();
    let mut daemon = Process::start(CATALOG, &["--config", path], &[]);
    daemon.wait_for("server: ready");
    daemon.wait_for("refresher: welcome — revision 1");
    daemon.wait_for("health: checking the shared catalog");

    std::fs::write(&config, bad).unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_for("configuration reload (SIGHUP) failed; keeping the previous configuration");
    daemon.wait_for(&refused);
    // Still refreshing with the old settings.
    let before = daemon.count("refresher: welcome — revision");
    daemon.wait_for_nth("refresher: welcome — revision", before + 1);

    std::fs::write(&config, good("bienvenue")).unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_for("refresher: greeting now \"bienvenue\", every 50 ms");
    daemon.wait_for("refresher: bienvenue — revision");

    daemon.signal(libc::SIGTERM);
    let drain = daemon.wait_for("server: draining at revision");
    let left: u64 = drain
        .split(" with ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no budget in {drain:?}"));
    // Its own budget is 2 s (the daemon's is 3 s): what is left can only be below it.
    assert!(left > 0 && left <= 2000, "{drain}");
    daemon.wait_for("server: drained");
    daemon.expect_exit(Exit::Code(0));
    assert_eq!(daemon.count("restarting"), 0, "{}", daemon.transcript());
}

#[test]
fn catalog_set_up_errors_come_through_anyhow_with_their_cause() {
    let mut start = Process::start(
        env!("CARGO_BIN_EXE_catalog"),
        &[],
        &[("CATALOG_START_REVISION", "seven")],
    );
    start.expect_exit(Exit::Code(1));
    let expected = "loading the catalog: CATALOG_START_REVISION=\"seven\" is not a revision: invalid digit found in string";
    assert_eq!(start.count(expected), 1, "{}", start.transcript());
}

#[test]
fn catalog_runs_as_shipped() {
    let mut daemon = Process::start(env!("CARGO_BIN_EXE_catalog"), &[], &[]);
    daemon.wait_for("server: ready");
    daemon.wait_for("refresher: welcome — revision 1");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}
