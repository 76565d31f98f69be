//! The control socket of a running daemon: every command through the daemon's own `ctl`,
//! through the library client and over a raw connection; refused users; stale sockets.

use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tests::{Exit, PATIENCE, Process, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

struct Running {
    daemon: Process,
    socket: PathBuf,
    env: Vec<(String, String)>,
}

/// The environment that turns the control socket on at `socket`.
fn ipc_env(socket: &Path) -> Vec<(String, String)> {
    vec![
        ("DAEMON_IPC_ENABLED".to_owned(), "true".to_owned()),
        ("DAEMON_IPC_SOCKET".to_owned(), socket.display().to_string()),
    ]
}

/// The fixture's `idle` scenario with the control socket at `socket`.
fn start_on(socket: &Path) -> Process {
    let env = ipc_env(socket);
    let borrowed: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Process::start(FIXTURE, &["idle", "count=2"], &borrowed)
}

fn start(test: &str) -> Running {
    let socket = scratch_dir(test).join("fixture.sock");
    let env = ipc_env(&socket);
    let mut daemon = start_on(&socket);
    daemon.wait_for("control socket listening on");
    daemon.wait_for("all 2 subsystem(s) are running");
    Running {
        daemon,
        socket,
        env,
    }
}

/// `fixture ctl <command>` with the daemon's environment.
fn ctl(running: &Running, command: &str) -> Output {
    Command::new(FIXTURE)
        .args(["ctl", command])
        .envs(running.env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).trim().to_owned()
}

fn raw(socket: &Path, bytes: &[u8]) -> String {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.write_all(bytes).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn status_health_reload_and_stop_through_ctl() {
    let mut running = start("ipc-commands");
    let meta = std::fs::metadata(&running.socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    let status = ctl(&running, "status");
    assert!(status.status.success(), "{}", stderr(&status));
    let json: serde_json::Value = serde_json::from_str(&stdout(&status)).unwrap();
    assert_eq!(json["name"], "fixture");
    assert_eq!(json["ready"], true);
    assert_eq!(json["subsystems"][1]["name"], "idle1");
    assert_eq!(json["subsystems"][1]["state"], "running");

    assert_eq!(stdout(&ctl(&running, "health")), "ready");

    let reload = ctl(&running, "reload");
    assert_eq!(stdout(&reload), "ok: configuration reloaded");
    running
        .daemon
        .wait_for("configuration reloaded from defaults and environment (control socket)");

    let stop = ctl(&running, "stop");
    assert_eq!(stdout(&stop), "ok: stopping");
    assert_eq!(running.daemon.wait_exit(), Exit::Code(0));
    running
        .daemon
        .wait_for("stop requested over the control socket");
    assert!(
        !running.socket.exists(),
        "the socket file outlived the daemon"
    );
}

#[test]
fn a_failed_reload_answers_with_the_location_and_keeps_running() {
    let dir = scratch_dir("ipc-reload");
    let config = dir.join("daemon.toml");
    let socket = dir.join("d.sock");
    std::fs::write(
        &config,
        format!(
            "[ipc]\nenabled = true\nsocket = {:?}\n",
            socket.display().to_string()
        ),
    )
    .unwrap();
    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "--config", config.to_str().unwrap()],
        &[],
    );
    daemon.wait_for("all 2 subsystem(s) are running");
    std::fs::write(
        &config,
        format!(
            "[ipc]\nenabled = true\nsocket = {:?}\n[shutdown]\ntimeout_ms = \"soon\"\n",
            socket.display().to_string()
        ),
    )
    .unwrap();
    let output = Command::new(FIXTURE)
        .args(["ctl", "reload", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    // The client reads the broken file too, so it is told to use the socket it knows.
    assert_eq!(output.status.code(), Some(78), "{}", stderr(&output));
    let answer = proc_daemon::ipc::request(&socket, "reload").unwrap();
    assert!(
        answer.starts_with("error: ") && answer.contains("daemon.toml:5:14: shutdown.timeout_ms"),
        "{answer}"
    );
    assert_eq!(
        proc_daemon::ipc::request(&socket, "health").unwrap(),
        "ready"
    );
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn malformed_commands_get_errors_and_the_connection_survives_them() {
    let mut running = start("ipc-malformed");
    let answers = raw(&running.socket, b"fly\n\nhealth\n\xff\xfe\nstatus");
    let lines: Vec<&str> = answers.lines().collect();
    assert_eq!(lines.len(), 5, "{answers}");
    assert_eq!(
        lines[0],
        "error: unknown command \"fly\"; commands: status, health, reload, upgrade, stop, stop-subsystem NAME"
    );
    assert_eq!(
        lines[1],
        "error: empty command; commands: status, health, reload, upgrade, stop, stop-subsystem NAME"
    );
    assert_eq!(lines[2], "ready");
    assert_eq!(lines[3], "error: the command is not UTF-8");
    assert!(
        lines[4].starts_with("{\"allocator\":") || lines[4].starts_with('{'),
        "{}",
        lines[4]
    );

    let long = raw(&running.socket, &[b'x'; 5000]);
    assert_eq!(long, "error: command longer than 1024 bytes\n");

    let ctl_unknown = ctl(&running, "fly");
    assert_eq!(ctl_unknown.status.code(), Some(1));
    assert!(
        stderr(&ctl_unknown).contains("error: unknown command \"fly\""),
        "{}",
        stderr(&ctl_unknown)
    );

    running.daemon.signal(libc::SIGTERM);
    assert_eq!(running.daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn another_user_is_refused_even_when_the_socket_is_world_writable() {
    if !tests::runs_as_root("switching to another uid") {
        return;
    }
    let mut running = start("ipc-other-user");
    let dir = running.socket.parent().unwrap().to_owned();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The build directory may not be reachable by another user (a checkout under /root):
    // give the client a path in the scratch directory.
    let client = dir.join("ctl-client");
    std::fs::hard_link(FIXTURE, &client)
        .or_else(|_| std::fs::copy(FIXTURE, &client).map(drop))
        .unwrap();
    let as_nobody = |running: &Running| {
        Command::new(&client)
            .args(["ctl", "status"])
            .envs(running.env.iter().map(|(k, v)| (k, v)))
            .uid(65_534)
            .gid(65_534)
            .output()
            .unwrap()
    };
    // Mode 0600: the kernel refuses the connection.
    let denied = as_nobody(&running);
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        stderr(&denied).contains("Permission denied"),
        "{}",
        stderr(&denied)
    );

    // Made world-writable by mistake: the daemon refuses by the peer's credentials.
    std::fs::set_permissions(&running.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let refused = as_nobody(&running);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("error: refused: uid 65534 may not control this daemon"),
        "{}",
        stderr(&refused)
    );
    running
        .daemon
        .wait_for("control socket: refused a connection from uid 65534");
    assert_eq!(stdout(&ctl(&running, "health")), "ready");
    running.daemon.signal(libc::SIGTERM);
    assert_eq!(running.daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn a_stale_socket_is_replaced_and_a_live_one_is_not() {
    let dir = scratch_dir("ipc-stale");
    let socket = dir.join("fixture.sock");
    // What a killed daemon leaves behind: a socket file nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());
    let mut first = start_on(&socket);
    first.wait_for("removed the stale control socket");
    first.wait_for("all 2 subsystem(s) are running");

    let mut second = start_on(&socket);
    assert_eq!(second.wait_exit(), Exit::Code(1));
    second.wait_for(&format!(
        "ipc socket {}: another daemon is serving it",
        socket.display()
    ));
    assert_eq!(
        proc_daemon::ipc::request(&socket, "health").unwrap(),
        "ready"
    );

    first.signal(libc::SIGTERM);
    assert_eq!(first.wait_exit(), Exit::Code(0));
}

#[test]
fn a_file_in_the_sockets_place_is_not_removed() {
    let dir = scratch_dir("ipc-not-a-socket");
    let socket = dir.join("fixture.sock");
    std::fs::write(&socket, "precious").unwrap();
    let mut daemon = start_on(&socket);
    assert_eq!(daemon.wait_exit(), Exit::Code(1));
    daemon.wait_for(&format!(
        "ipc socket {}: exists and is not a socket; remove it or set ipc.socket",
        socket.display()
    ));
    assert_eq!(std::fs::read_to_string(&socket).unwrap(), "precious");
    let missing_dir = dir.join("no/such/dir/fixture.sock");
    let mut daemon = start_on(&missing_dir);
    assert_eq!(daemon.wait_exit(), Exit::Code(1));
    daemon.wait_for(&format!(
        "ipc socket {}: cannot listen: No such file or directory",
        missing_dir.display()
    ));
}

#[test]
fn ctl_explains_what_is_missing() {
    let dir = scratch_dir("ipc-ctl-errors");
    let off = Command::new(FIXTURE)
        .args(["ctl", "status"])
        .output()
        .unwrap();
    assert_eq!(off.status.code(), Some(1));
    assert!(
        stderr(&off).contains("ipc.enabled is false in this configuration"),
        "{}",
        stderr(&off)
    );
    let socket = dir.join("nobody-home.sock");
    let absent = Command::new(FIXTURE)
        .args(["ctl", "status"])
        .env("DAEMON_IPC_ENABLED", "true")
        .env("DAEMON_IPC_SOCKET", &socket)
        .output()
        .unwrap();
    assert_eq!(absent.status.code(), Some(1));
    assert!(
        stderr(&absent).contains(&format!("cannot reach the daemon at {}", socket.display())),
        "{}",
        stderr(&absent)
    );
    let no_command = Command::new(FIXTURE).arg("ctl").output().unwrap();
    assert_eq!(no_command.status.code(), Some(64));
    assert!(
        stderr(&no_command).contains("ctl needs a command"),
        "{}",
        stderr(&no_command)
    );
}

#[test]
fn the_line_limit_is_exactly_1024_bytes() {
    let mut running = start("ipc-line-limit");
    let mut at_limit = vec![b'x'; 1024];
    at_limit.push(b'\n');
    let answer = raw(&running.socket, &at_limit);
    assert!(
        answer.starts_with("error: unknown command \"xxx"),
        "{answer}"
    );
    let mut over = vec![b'x'; 1025];
    over.push(b'\n');
    assert_eq!(
        raw(&running.socket, &over),
        "error: command longer than 1024 bytes\n"
    );
    running.daemon.signal(libc::SIGTERM);
    assert_eq!(running.daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn a_client_that_never_reads_its_answers_is_dropped() {
    let mut running = start("ipc-unread");
    let mut stream = UnixStream::connect(&running.socket).unwrap();
    // Short send timeouts, so the loop notices the closed connection rather than blocking.
    stream
        .set_write_timeout(Some(std::time::Duration::from_millis(100)))
        .unwrap();
    let deadline = std::time::Instant::now() + PATIENCE;
    let closed = loop {
        match stream.write(b"status\n") {
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(err) => break err,
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon kept the connection of a client that never reads:\n{}",
            running.daemon.transcript()
        );
    };
    assert!(
        matches!(
            closed.kind(),
            std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
        ),
        "{closed}"
    );
    running.daemon.wait_for(
        "control socket: a client did not read its answers for 5s; closing its connection",
    );
    // The daemon serves others meanwhile and afterwards.
    assert_eq!(
        proc_daemon::ipc::request(&running.socket, "health").unwrap(),
        "ready"
    );
    running.daemon.signal(libc::SIGTERM);
    assert_eq!(running.daemon.wait_exit(), Exit::Code(0));
}

#[test]
fn ctl_reports_a_connection_closed_without_an_answer() {
    let dir = scratch_dir("ipc-no-answer");
    let socket = dir.join("fixture.sock");
    let mut server = Process::start(
        FIXTURE,
        &[
            "impostor",
            &format!("socket={}", socket.display()),
            "silent=1",
        ],
        &[],
    );
    server.wait_for("impostor: listening");
    let output = Command::new(FIXTURE)
        .args(["ctl", "stop"])
        .envs(ipc_env(&socket))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot reach the daemon at")
            && stderr(&output).contains(
                "the daemon closed the connection without answering \"stop\" (it may be stopping)"
            ),
        "{}",
        stderr(&output)
    );
    assert_eq!(stdout(&output), "");
    assert_eq!(server.wait_exit(), Exit::Code(0));
}

#[test]
fn in_a_storm_of_stops_and_reloads_every_client_gets_an_answer_or_an_error() {
    let mut running = start("ipc-storm");
    let socket = running.socket.clone();
    let clients: Vec<_> = (0..200)
        .map(|i| {
            let socket = socket.clone();
            std::thread::spawn(move || {
                let command = ["stop", "reload", "status"][i % 3];
                (command, proc_daemon::ipc::request(&socket, command))
            })
        })
        .collect();
    let mut answered = 0;
    for client in clients {
        match client.join().unwrap() {
            (command, Ok(answer)) => {
                assert!(!answer.is_empty(), "{command}: an empty answer");
                answered += 1;
            }
            (_, Err(_)) => {}
        }
    }
    assert!(answered > 0, "no client was answered");
    running.daemon.expect_exit(Exit::Code(0));
}
