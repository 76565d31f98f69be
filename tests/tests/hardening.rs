//! What a hostile local user, a bad path or a broken stream can do to a daemon: each test is an
//! attack that once succeeded, run against the real fixture binary.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use tests::{Exit, PATIENCE, Process, broken_pipe, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

fn run_with(args: &[&str], env: &[(&str, &str)], stdout: Stdio, stderr: Stdio) -> Option<i32> {
    let mut command = Command::new(FIXTURE);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    for (key, value) in env {
        command.env(key, value);
    }
    command.status().unwrap().code()
}

#[test]
fn a_closed_stderr_does_not_change_the_exit_code() {
    // The error cannot be printed; the exit code must still be the configuration error's.
    let bad = [("DAEMON_SHUTDOWN_TIMEOUT_MS", "soon")];
    assert_eq!(
        run_with(&["idle"], &bad, Stdio::null(), broken_pipe()),
        Some(78)
    );
    let usage = run_with(&["idle", "--config"], &[], Stdio::null(), broken_pipe());
    assert_eq!(usage, Some(64));
}

#[test]
fn a_closed_stdout_does_not_change_the_exit_code() {
    for args in [
        &["--check-config"][..],
        &["--print-config"],
        &["--help"],
        &["--version"],
    ] {
        assert_eq!(
            run_with(args, &[], broken_pipe(), Stdio::null()),
            Some(0),
            "{args:?}"
        );
    }
}

fn config_error(path: &std::path::Path) -> String {
    let mut daemon = Process::start(FIXTURE, &["idle", "--config", path.to_str().unwrap()], &[]);
    daemon.expect_exit(Exit::Code(78));
    daemon.transcript()
}

#[test]
fn a_config_path_that_is_not_a_regular_file_is_refused_without_reading_it() {
    let dir = scratch_dir("config-kinds");
    let fifo = dir.join("daemon.toml");
    let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid, NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    // Opening a FIFO for reading would wait for a writer forever.
    let out = config_error(&fifo);
    assert!(
        out.contains(&format!(
            "{}: is a FIFO; the configuration must be a regular file",
            fifo.display()
        )),
        "{out}"
    );
    let out = config_error("/dev/zero".as_ref());
    assert!(
        out.contains("/dev/zero: is a device; the configuration must be a regular file"),
        "{out}"
    );
    let out = config_error(&dir);
    assert!(
        out.contains("is a directory; the configuration must be a regular file"),
        "{out}"
    );
}

#[test]
fn a_config_file_over_one_mebibyte_is_refused() {
    let dir = scratch_dir("config-size");
    let big = dir.join("daemon.toml");
    let line = "# padding padding padding padding padding padding padding padding\n";
    std::fs::write(&big, line.repeat(2 * 1024 * 1024 / line.len())).unwrap();
    let out = config_error(&big);
    assert!(
        out.contains(
            "is larger than 1048576 bytes (1 MiB), the most a configuration file may hold"
        ),
        "{out}"
    );
}

#[test]
fn numbers_from_the_config_are_bounded_before_use() {
    for (variable, value, message) in [
        (
            "DAEMON_PERFORMANCE_CPU_AFFINITY",
            "0-4294967295",
            "DAEMON_PERFORMANCE_CPU_AFFINITY=\"0-4294967295\": performance.cpu_affinity: CPU 4294967295 is out of range (at most 1023)",
        ),
        (
            "DAEMON_SHUTDOWN_KILL_TIMEOUT_MS",
            "9223372036854775807",
            "shutdown.kill_timeout_ms (9223372036854775807) must be at most 31536000000 (one year)",
        ),
    ] {
        let mut daemon = Process::start(FIXTURE, &["idle"], &[(variable, value)]);
        let (exit, took) = daemon.wait_exit_timed(PATIENCE);
        assert_eq!(exit, Exit::Code(78), "{}", daemon.transcript());
        assert!(daemon.count(message) == 1, "{}", daemon.transcript());
        // Rejected, not expanded: far below the seconds an expanded range would take.
        assert!(took < PATIENCE / 2, "{took:?}");
    }
}

#[test]
fn instances_started_and_stopped_in_a_storm_never_run_together() {
    let dir = scratch_dir("pid-storm");
    let pid_file = dir.join("fixture.pid");
    let marker = dir.join("inside");
    let marker_arg = format!("marker={}", marker.display());
    let env = [
        ("DAEMON_PID_FILE", pid_file.to_str().unwrap()),
        ("DAEMON_LOGGING_LEVEL", "error"),
    ];
    let ran = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..6 {
            scope.spawn(|| {
                for _ in 0..60 {
                    let mut daemon = Process::start(FIXTURE, &["exclusive", &marker_arg], &env);
                    if daemon.wait_for_or_exit("exclusive: entered") {
                        ran.fetch_add(1, Ordering::Relaxed);
                        // Stop at once: the exiting holder's release races the newcomers.
                        daemon.signal(libc::SIGTERM);
                        daemon.expect_exit(Exit::Code(0));
                    } else {
                        daemon.expect_exit(Exit::Code(1));
                    }
                    assert_eq!(
                        daemon.count("OVERLAP"),
                        0,
                        "two instances ran at once:\n{}",
                        daemon.transcript()
                    );
                }
            });
        }
    });
    assert!(ran.load(Ordering::Relaxed) >= 4, "hardly any instance ran");
}

#[test]
fn ctl_refuses_a_socket_served_by_another_user() {
    if !tests::runs_as_root("serving a socket as another user") {
        return;
    }
    let dir = scratch_dir("ctl-impostor");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
    let socket = dir.join("fixture.sock");
    // The fixture binary may sit where another user cannot reach it (a checkout under /root).
    let program = dir.join("impostor");
    std::fs::copy(FIXTURE, &program).unwrap();
    let mut impostor = {
        use std::os::unix::process::CommandExt as _;
        let mut command = Command::new(&program);
        command
            .args(["impostor", &format!("socket={}", socket.display())])
            .current_dir(&dir)
            .uid(65_534)
            .gid(65_534);
        Process::spawn(command)
    };
    impostor.wait_for("impostor: listening");
    let ctl = Command::new(FIXTURE)
        .args(["ctl", "stop"])
        .env("DAEMON_IPC_ENABLED", "true")
        .env("DAEMON_IPC_SOCKET", &socket)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&ctl.stderr);
    assert_eq!(ctl.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the socket is served by uid 65534, neither this user nor root; refusing to send \"stop\""),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&ctl.stdout).contains("ok: stopping"));
    // The impostor learnt nothing: it was connected to, but read no command.
    assert_eq!(impostor.wait_exit(), Exit::Code(0));
    assert_eq!(
        impostor.count("impostor: read \"\""),
        1,
        "{}",
        impostor.transcript()
    );
}

#[test]
fn the_control_socket_is_refused_in_a_directory_others_may_write() {
    let dir = scratch_dir("ipc-open-dir");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let socket = dir.join("fixture.sock");
    let mut daemon = Process::start(
        FIXTURE,
        &["idle"],
        &[
            ("DAEMON_IPC_ENABLED", "true"),
            ("DAEMON_IPC_SOCKET", socket.to_str().unwrap()),
        ],
    );
    daemon.expect_exit(Exit::Code(1));
    assert_eq!(
        daemon.count("(mode 777) is writable by other users and not sticky"),
        1,
        "{}",
        daemon.transcript()
    );
    assert!(!socket.exists());
}

/// User plus system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // Fields 14 and 15 of stat(5), counted from the state (field 3).
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn healthz(address: &str) -> Option<String> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(2)))
        .ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer)
}

#[test]
fn at_the_descriptor_limit_the_accept_loop_backs_off_and_recovers() {
    use std::os::unix::process::CommandExt as _;
    let mut command = Command::new(FIXTURE);
    command
        .args(["idle"])
        .env("DAEMON_ADMIN_BIND", "127.0.0.1:0");
    // SAFETY: setrlimit is async-signal-safe; the closure allocates nothing.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 64,
                rlim_max: 64,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut daemon = Process::spawn(command);
    let line = daemon.wait_for("admin endpoint listening on http://");
    let address = line.rsplit("http://").next().unwrap().trim().to_owned();
    // More connections than the daemon has descriptors left; the kernel queues them all.
    let clients: Vec<std::net::TcpStream> = (0..100)
        .map(|_| std::net::TcpStream::connect(&address).unwrap())
        .collect();
    daemon.wait_for("admin endpoint: cannot accept connections: Too many open files");
    // A measurement window, not a synchronisation: how much CPU one second at the limit costs.
    // Retrying accept without a pause burns the whole second (100 ticks).
    let before = cpu_ticks(daemon.pid());
    std::thread::sleep(std::time::Duration::from_secs(1));
    let used = cpu_ticks(daemon.pid()) - before;
    assert!(
        used < 30,
        "{used} ticks of CPU in one second at the descriptor limit"
    );
    drop(clients);
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        if healthz(&address).is_some_and(|answer| answer.starts_with("HTTP/1.1 200")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/healthz never answered again:\n{}",
            daemon.transcript()
        );
    }
    daemon.wait_for("admin endpoint: accepting connections again after");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}

#[test]
fn a_log_file_replaced_by_a_symbolic_link_is_not_followed() {
    let dir = scratch_dir("log-symlink");
    let log = dir.join("d.log");
    let victim = dir.join("victim");
    std::fs::write(&victim, "").unwrap();
    std::os::unix::fs::symlink(&victim, &log).unwrap();
    let env = [("DAEMON_LOGGING_FILE", log.to_str().unwrap())];
    // At start: refused before anything runs.
    let mut refused = Process::start(FIXTURE, &["idle"], &env);
    refused.expect_exit(Exit::Code(78));
    assert_eq!(
        refused.count(&format!(
            "logging.file = {:?}: is a symbolic link; the daemon does not follow links for the files it writes",
            log.display().to_string()
        )),
        1,
        "{}",
        refused.transcript()
    );
    // At run time: the file is swapped for a link, then reopened (SIGUSR1, as logrotate does).
    std::fs::remove_file(&log).unwrap();
    let mut daemon = Process::start(FIXTURE, &["idle", "count=1"], &env);
    tests::wait_for_file_containing(&log, "all 1 subsystem(s) are running");
    std::fs::rename(&log, dir.join("d.log.1")).unwrap();
    std::os::unix::fs::symlink(&victim, &log).unwrap();
    daemon.signal(libc::SIGUSR1);
    daemon.wait_for(&format!(
        "log file {}: is a symbolic link; refusing to follow it",
        log.display()
    ));
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "",
        "the daemon wrote through the link"
    );
}

#[test]
fn a_panic_in_set_up_exits_70_with_its_message() {
    let mut daemon = Process::start(FIXTURE, &["idle", "setup_panic=1"], &[]);
    daemon.expect_exit(Exit::Code(70));
    assert_eq!(
        daemon.count("set-up panicked: set-up exploded: the cache is corrupt; nothing was started"),
        1,
        "{}",
        daemon.transcript()
    );
    assert_eq!(daemon.count("idle0: running"), 0, "{}", daemon.transcript());
}

#[test]
fn a_crash_loop_logs_a_few_lines_a_second_and_counts_the_rest() {
    let mut daemon = Process::start(FIXTURE, &["runs", "fail=3000", "max_restarts=100000"], &[]);
    daemon.wait_for("flaky: run 3001");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    let logged = daemon.count("subsystem `flaky` failed: flaky failed on run");
    let suppressed: usize = daemon
        .output()
        .iter()
        .filter_map(|line| line.split("subsystem `flaky`: ").nth(1))
        .filter_map(|rest| rest.split(" more failure(s)").next()?.parse::<usize>().ok())
        .sum();
    assert!(logged < 100, "{logged} failure lines for 3000 failures");
    assert_eq!(
        logged + suppressed,
        3000,
        "every failure is logged or counted"
    );
}

#[test]
fn a_non_root_daemons_default_socket_lives_in_a_private_directory() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    use std::os::unix::process::CommandExt as _;
    if !tests::runs_as_root("running the daemon as another user") {
        return;
    }
    let dir = scratch_dir("ipc-private-default");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let program = dir.join("daemon");
    std::fs::copy(FIXTURE, &program).unwrap();
    let as_nobody = || {
        let mut command = Command::new(&program);
        command
            .args(["idle", "count=1"])
            .env("DAEMON_IPC_ENABLED", "true")
            .env("TMPDIR", &dir)
            .env_remove("RUNTIME_DIRECTORY")
            .env_remove("XDG_RUNTIME_DIR")
            .current_dir(&dir)
            .uid(65_534)
            .gid(65_534);
        Process::spawn(command)
    };
    let private = dir.join("proc-daemon-65534");
    let mut daemon = as_nobody();
    daemon.wait_for(&format!(
        "control socket listening on {}",
        private.join("fixture.sock").display()
    ));
    let meta = std::fs::metadata(&private).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (65_534, 0o700));
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));

    // Another user took the name first: the daemon does not use their directory.
    std::fs::remove_dir_all(&private).unwrap();
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut squatted = as_nobody();
    squatted.expect_exit(Exit::Code(1));
    assert_eq!(
        squatted.count(&format!(
            "{} is not a private directory of uid 65534 (it is a directory, owned by uid 0, mode 777)",
            private.display()
        )),
        1,
        "{}",
        squatted.transcript()
    );
}

#[test]
fn every_line_logged_before_exit_reaches_the_log_file() {
    let dir = scratch_dir("log-burst");
    let log = dir.join("d.log");
    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "count=1", "stop_burst=100000"],
        &[
            ("DAEMON_LOGGING_FILE", log.to_str().unwrap()),
            // Many rotations on the way (each renames every file), and room for every line.
            ("DAEMON_LOGGING_MAX_FILE_SIZE", "8192"),
            ("DAEMON_LOGGING_MAX_FILES", "1000"),
        ],
    );
    daemon.wait_for("idle0: running");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    let mut text = String::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    let burst = text
        .lines()
        .filter(|line| line.contains("burst line "))
        .count();
    assert_eq!(burst, 100_000, "lines lost at exit");
    assert!(text.contains("stopped cleanly"), "the last line is missing");
    assert_eq!(
        daemon.count("could not be written"),
        0,
        "{}",
        daemon.transcript()
    );
}

/// The fixture, idle, started with the open-file limits `soft` and `hard`; `without_raising`
/// takes away the right to raise the hard limit (root's `CAP_SYS_RESOURCE`), as for any user.
fn idle_with_open_files(soft: u64, hard: u64, without_raising: bool, wanted: &str) -> Process {
    idle_with_open_files_and(soft, hard, without_raising, wanted, &[])
}

fn idle_with_open_files_and(
    soft: u64,
    hard: u64,
    without_raising: bool,
    wanted: &str,
    env: &[(&str, &str)],
) -> Process {
    use std::os::unix::process::CommandExt as _;
    let mut command = Command::new(FIXTURE);
    command
        .args(["idle"])
        .env("DAEMON_PROCESS_MAX_OPEN_FILES", wanted)
        .envs(env.iter().copied());
    // SAFETY: setrlimit and prctl are async-signal-safe; the closure allocates nothing.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Out of the bounding set, the capability is not regained by exec.
            const CAP_SYS_RESOURCE: libc::c_ulong = 24;
            if without_raising
                && libc::geteuid() == 0
                && libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Process::spawn(command)
}

/// Whether this process has `CAP_SYS_RESOURCE` (bit 24 of `CapEff`).
fn may_raise_hard_limits() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .unwrap_or(0);
    if effective & (1 << 24) == 0 {
        eprintln!(
            "not shown: raising a hard limit needs CAP_SYS_RESOURCE, which this process lacks"
        );
        return false;
    }
    true
}

/// (soft, hard) of "Max open files" in `/proc/PID/limits`.
fn open_files_limits(pid: i32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let mut numbers = line["Max open files".len()..].split_whitespace();
    (
        numbers.next().unwrap().to_owned(),
        numbers.next().unwrap().to_owned(),
    )
}

#[test]
fn max_open_files_raises_the_descriptor_limit_at_start() {
    let mut daemon = idle_with_open_files(256, 4096, true, "2048");
    daemon.wait_for("process.max_open_files: raised the open-file limit from 256 to 2048");
    assert_eq!(
        open_files_limits(daemon.pid()),
        ("2048".to_owned(), "4096".to_owned())
    );
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));

    // Root in a container may lack the capability; then there is nothing more to show here.
    if may_raise_hard_limits() {
        let mut daemon = idle_with_open_files(256, 512, false, "4096");
        daemon.wait_for("process.max_open_files: raised the open-file limit from 256 to 4096");
        assert_eq!(
            open_files_limits(daemon.pid()),
            ("4096".to_owned(), "4096".to_owned())
        );
        daemon.signal(libc::SIGTERM);
        daemon.expect_exit(Exit::Code(0));
    }
}

#[test]
fn with_max_open_files_the_admin_endpoint_and_control_socket_each_hold_2000_connections() {
    const EACH: usize = 2000;
    // This test process holds both ends' worth of descriptors on its side.
    let mut own = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct they are given.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut own);
        own.rlim_cur = own.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &raw const own);
    }
    assert!(
        own.rlim_cur >= 3 * EACH as u64,
        "this test needs {} descriptors",
        3 * EACH
    );
    let dir = scratch_dir("open-files-load");
    let socket = dir.join("d.sock");
    let socket_text = socket.display().to_string();
    // Started with the common default soft limit of 1024: without the raise, the daemon could
    // hold about a thousand connections in all.
    let mut daemon = idle_with_open_files_and(
        1024,
        8192,
        false,
        "8192",
        &[
            ("DAEMON_ADMIN_BIND", "127.0.0.1:0"),
            ("DAEMON_IPC_ENABLED", "true"),
            ("DAEMON_IPC_SOCKET", &socket_text),
        ],
    );
    daemon.wait_for("process.max_open_files: raised the open-file limit from 1024 to 8192");
    let line = daemon.wait_for("admin endpoint listening on http://");
    let address = line.rsplit("http://").next().unwrap().trim().to_owned();
    daemon.wait_for("control socket listening on");
    daemon.wait_for("all 2 subsystem(s) are running");

    use std::io::{BufRead, BufReader, Write};
    // Every connection is answered while all are held open; the control socket's first (its
    // idle limit is 30 s), then the admin endpoint's (5 s between requests), then the count.
    let answered = |stream: &mut dyn std::io::Read| -> String {
        let mut first = String::new();
        BufReader::new(stream).read_line(&mut first).unwrap();
        first
    };
    let mut held: Vec<Box<dyn std::io::Read>> = Vec::with_capacity(2 * EACH);
    for _ in 0..EACH {
        let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream.write_all(b"health\n").unwrap();
        held.push(Box::new(stream));
    }
    for stream in &mut held {
        assert_eq!(answered(stream.as_mut()).trim(), "ready");
    }
    let descriptors = || {
        std::fs::read_dir(format!("/proc/{}/fd", daemon.pid()))
            .unwrap()
            .count()
    };
    // Then 2000 requests to the admin endpoint, each on a connection of its own kept open.
    for _ in 0..EACH {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: d\r\n\r\n")
            .unwrap();
        let first = answered(&mut stream);
        assert!(first.starts_with("HTTP/1.1 200"), "{first:?}");
        held.push(Box::new(stream));
    }
    // The admin endpoint closes a connection idle for 5 s, so on a slow machine the earliest
    // may be gone by now; 3000 is still three times what the daemon started with.
    let held_now = descriptors();
    assert!(held_now > 3000, "the daemon holds {held_now} descriptors");
    assert_eq!(tests::http_get(&address, "/healthz").0, 200);
    drop(held);
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}

#[test]
fn max_open_files_above_a_hard_limit_it_may_not_raise_exits_78() {
    let mut daemon = idle_with_open_files(256, 512, true, "4096");
    daemon.expect_exit(Exit::Code(78));
    daemon.wait_for(
        "fixture: error: invalid configuration: process.max_open_files (4096) is above this process's hard limit of 512 open files, which it may not raise (Operation not permitted (os error 1)); raise the hard limit where the daemon is started (systemd: LimitNOFILE=4096)",
    );
    assert_eq!(daemon.count(": running"), 0, "{}", daemon.transcript());
}
