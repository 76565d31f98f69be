//! `[listen]` named listeners in a real daemon: bound before set-up, handed to a subsystem,
//! taken from systemd's socket activation by name, bound on a privileged port before the
//! daemon drops to another user, and a bind failure as a start-up error.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use tests::{Exit, Process, runs_as_root, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

fn config_with(dir: &Path, listen: &str) -> String {
    let config = dir.join("daemon.toml");
    std::fs::write(&config, format!("[listen]\nhttp = \"{listen}\"\n")).unwrap();
    config.display().to_string()
}

/// One connection's greeting.
fn greeting(address: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.trim().to_owned()
}

#[test]
fn a_configured_listener_is_bound_before_set_up_and_served_by_a_subsystem() {
    let dir = scratch_dir("listen-bind");
    let config = config_with(&dir, "127.0.0.1:0");
    let mut daemon = Process::start(FIXTURE, &["listen"], &[("DAEMON_CONFIG", &config)]);
    let bound = daemon.wait_for("listener `http` on 127.0.0.1:");
    daemon.wait_for("setup: starting");
    let line = daemon.wait_for("greeter: listening on ");
    let address = line.rsplit(' ').next().unwrap().to_owned();
    assert!(bound.ends_with(&address), "{bound} / {address}");
    // Bound before the set-up body ran (both lines on standard error, so in order).
    daemon.wait_for("fixture set-up begins");
    let position = |needle: &str| daemon.output().iter().position(|l| l.contains(needle));
    assert!(
        position("listener `http` on") < position("fixture set-up begins"),
        "{}",
        daemon.transcript()
    );
    assert_eq!(greeting(&address), format!("hello from {}", daemon.pid()));
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}

#[test]
fn an_address_in_use_stops_the_start_with_1_naming_it() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = scratch_dir("listen-in-use");
    let config = config_with(&dir, &address);
    let mut daemon = Process::start(FIXTURE, &["listen"], &[("DAEMON_CONFIG", &config)]);
    daemon.expect_exit(Exit::Code(1));
    daemon.wait_for(&format!(
        "error: listener `http`: cannot listen on {address}: "
    ));
    assert_eq!(
        daemon.count("setup: starting"),
        0,
        "{}",
        daemon.transcript()
    );
}

#[test]
fn a_bad_address_is_a_configuration_error() {
    let dir = scratch_dir("listen-bad");
    let config = config_with(&dir, "localhost:http");
    let mut daemon = Process::start(FIXTURE, &["listen"], &[("DAEMON_CONFIG", &config)]);
    daemon.expect_exit(Exit::Code(78));
    daemon.wait_for("listen.http: \"localhost:http\" is not an address");
}

/// The fixture's `listen` scenario started the way systemd starts a socket-activated service:
/// `fd` passed as fd 3 named `http`, with LISTEN_PID (the daemon's own pid), LISTEN_FDS and
/// LISTEN_FDNAMES.
fn activated(fd: std::os::fd::RawFd, config: &str) -> Command {
    let mut command = Command::new("sh");
    command
        .args(["-c", "LISTEN_PID=$$ exec \"$0\" listen", FIXTURE])
        .env("DAEMON_CONFIG", config)
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", "http");
    // SAFETY: dup2 and fcntl are async-signal-safe. The duplicate on fd 3 has no close-on-exec
    // flag; but when the descriptor already is fd 3, dup2 does nothing and the flag must be
    // cleared by hand, or exec closes it.
    unsafe {
        command.pre_exec(move || {
            let done = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if done < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

#[test]
fn a_passed_descriptor_that_is_not_the_socket_configured_stops_the_start() {
    let dir = scratch_dir("listen-activation-wrong");
    let config = config_with(&dir, "127.0.0.1:0");
    let file = std::fs::File::create(dir.join("not-a-socket")).unwrap();
    let unix = std::os::unix::net::UnixListener::bind(dir.join("unix.sock")).unwrap();
    for (passed, error) in [
        (
            file.as_raw_fd(),
            "the descriptor passed as `http` (fd 3) by systemd's socket activation is not a socket",
        ),
        (
            unix.as_raw_fd(),
            "the socket passed as `http` (fd 3) by systemd's socket activation is not of the kind configured",
        ),
    ] {
        let mut daemon = Process::spawn(activated(passed, &config));
        daemon.expect_exit(Exit::Code(78));
        daemon.wait_for(&format!("listen.http: {error}"));
    }
}

#[test]
fn under_socket_activation_the_inherited_socket_is_taken_by_name() {
    // What systemd does: the socket is open before the daemon starts, passed as fd 3 with
    // LISTEN_PID (the daemon's own pid), LISTEN_FDS and LISTEN_FDNAMES.
    let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = socket.local_addr().unwrap().to_string();
    let dir = scratch_dir("listen-activation");
    // An address the daemon could not bind itself: it must not try.
    let config = config_with(&dir, "192.0.2.1:80");
    let mut command = activated(socket.as_raw_fd(), &config);
    command.env("FIXTURE_SHOW_CHILD_ENV", "1");
    let mut daemon = Process::spawn(command);
    daemon.wait_for(
        "listener `http`: taken from systemd's socket activation (fd 3) instead of binding",
    );
    daemon.wait_for(&format!("greeter: listening on {address}"));
    // Taken and removed from the environment: a process the daemon starts does not see them.
    daemon.wait_for("child sees LISTEN_PID=[] LISTEN_FDS=[]");
    drop(socket);
    assert_eq!(greeting(&address), format!("hello from {}", daemon.pid()));
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}

#[test]
fn a_privileged_port_is_bound_before_the_daemon_drops_to_its_user() {
    if !runs_as_root("binding a privileged port") {
        return;
    }
    let dir = scratch_dir("listen-privileged");
    // A port below 1024 that nothing else here uses.
    let port = (600..1000)
        .find(|port| TcpListener::bind(("127.0.0.1", *port)).is_ok())
        .expect("a free port below 1024");
    let address = format!("127.0.0.1:{port}");
    let config = config_with(&dir, &address);
    let mut daemon = Process::start(
        FIXTURE,
        &["listen"],
        &[
            ("DAEMON_CONFIG", &config),
            ("DAEMON_PROCESS_USER", "nobody"),
        ],
    );
    daemon.wait_for("dropped privileges: running as process.user = \"nobody\"");
    daemon.wait_for(&format!("greeter: listening on {address}"));
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid())).unwrap();
    assert!(
        status.contains("\nUid:\t65534\t65534\t65534\t65534\n"),
        "{status}"
    );
    assert_eq!(greeting(&address), format!("hello from {}", daemon.pid()));
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}
