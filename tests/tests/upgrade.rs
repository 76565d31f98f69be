//! Upgrades without downtime (`ctl upgrade`, SIGUSR2) in real processes: a client connects,
//! sends a request and reads the answer in a loop throughout, and not one connection may be
//! refused or reset, nor one request go unanswered — through an upgrade to a binary replaced on
//! disk, through one whose new binary fails before it is ready, and through one whose new
//! process never becomes ready.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use tests::systemd::FakeSystemd;
use tests::{Exit, PATIENCE, Process, adopt_orphans, http_get, scratch_dir, wait_orphan};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

/// A copy of the fixture at `dir/daemon`, which the test replaces as an operator would.
fn install(dir: &Path) -> PathBuf {
    let path = dir.join("daemon");
    replace_binary(&path, Path::new(FIXTURE));
    path
}

/// Puts `source` at `path` the way package managers do: a new file renamed over the old one.
fn replace_binary(path: &Path, source: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let staged = path.with_extension("new");
    std::fs::copy(source, &staged).unwrap();
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

/// A shell script at `path` standing in for a broken new binary.
fn replace_with_script(path: &Path, body: &str) {
    let script = path.with_extension("sh");
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
    replace_binary(path, &script);
}

fn write_config(dir: &Path, extra: &str) -> String {
    let config = dir.join("daemon.toml");
    std::fs::write(
        &config,
        format!(
            "pid_file = \"{}\"\n{extra}\n[listen]\nhttp = \"127.0.0.1:0\"\n\n[admin]\nbind = \"127.0.0.1:0\"\n\n[ipc]\nenabled = true\nsocket = \"{}\"\n",
            dir.join("daemon.pid").display(),
            dir.join("ctl.sock").display()
        ),
    )
    .unwrap();
    config.display().to_string()
}

fn pid_in(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("daemon.pid"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn ctl(program: &Path, config: &str, command: &str) -> (i32, String, String) {
    let output = Command::new(program)
        .args(["ctl", command])
        .env("DAEMON_CONFIG", config)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    )
}

/// A client that connects, sends one numbered line, reads its answer and closes, over and over
/// until stopped. Each answer's pid goes to the channel; every failure is kept.
struct Hammer {
    stop: Arc<AtomicBool>,
    answers: mpsc::Receiver<u32>,
    thread: JoinHandle<(u64, Vec<String>)>,
}

impl Hammer {
    fn start(address: &str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (sender, answers) = mpsc::channel();
        let address = address.to_owned();
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut served = 0u64;
            let mut failures = Vec::new();
            while !stopping.load(Ordering::Relaxed) {
                match request(&address, served) {
                    Ok(pid) => {
                        served += 1;
                        let _ = sender.send(pid);
                    }
                    Err(failure) => failures.push(failure),
                }
            }
            (served, failures)
        });
        Self {
            stop,
            answers,
            thread,
        }
    }

    /// Waits until `n` more requests were answered by `pid`.
    fn wait_served_by(&self, pid: u32, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        let mut seen = 0;
        while seen < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.answers.recv_timeout(left) {
                Ok(by) if by == pid => seen += 1,
                Ok(_) => {}
                Err(err) => panic!("only {seen} of {n} answers from pid {pid}: {err}"),
            }
        }
    }

    /// Stops the loop and checks that no request failed; how many were served.
    fn finish_without_failures(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let (served, failures) = self.thread.join().unwrap();
        assert!(
            failures.is_empty(),
            "{} of {served} requests failed: {:?}",
            failures.len(),
            &failures[..failures.len().min(10)]
        );
        served
    }
}

/// One request: the pid that answered it, or what went wrong.
fn request(address: &str, number: u64) -> Result<u32, String> {
    let mut stream = TcpStream::connect(address).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(PATIENCE))
        .map_err(|e| e.to_string())?;
    writeln!(stream, "{number}").map_err(|e| format!("request {number}: {e}"))?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(|e| format!("answer to {number}: {e}"))?;
    let (pid, echoed) = answer
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("answer to {number}: {answer:?}"))?;
    if echoed != number.to_string() {
        return Err(format!("answer to {number}: {answer:?}"));
    }
    pid.parse()
        .map_err(|_| format!("answer to {number}: {answer:?}"))
}

fn listening_address(daemon: &mut Process, pid: i32) -> String {
    let line = daemon.wait_for(&format!("echo: pid {pid} listening on "));
    line.rsplit(' ').next().unwrap().to_owned()
}

/// The number that follows `marker` in `text`.
fn pid_after(text: &str, marker: &str) -> i32 {
    text.split(marker)
        .nth(1)
        .map(|rest| rest.trim_start())
        .and_then(|rest| {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            rest[..digits].parse().ok()
        })
        .unwrap_or_else(|| panic!("no pid after {marker:?} in {text:?}"))
}

/// The new process's pid in `ctl upgrade`'s answer (`ok: upgraded; pid N serves now`).
fn upgraded_to(answer: &str) -> i32 {
    assert!(answer.starts_with("ok: upgraded; pid "), "{answer:?}");
    pid_after(answer, "pid ")
}

#[test]
fn an_upgrade_to_a_replaced_binary_refuses_no_connection_and_loses_no_request() {
    adopt_orphans();
    let dir = scratch_dir("upgrade-ok");
    let program = install(&dir);
    let config = write_config(&dir, "");
    let mut old = Process::start(&program, &["echo"], &[("DAEMON_CONFIG", &config)]);
    let old_pid = old.pid();
    let address = listening_address(&mut old, old_pid);
    let admin = old.wait_for_value("admin endpoint listening on http://");
    assert_eq!(pid_in(&dir), old_pid.to_string());

    let hammer = Hammer::start(&address);
    hammer.wait_served_by(u32::try_from(old_pid).unwrap(), 200);
    // A new build is installed over the running one; the upgrade starts what is on disk now.
    replace_binary(&program, Path::new(FIXTURE));
    let (code, answer, error) = ctl(&program, &config, "upgrade");
    assert_eq!(code, 0, "{answer} {error}\n{}", old.transcript());
    let new_pid = upgraded_to(&answer);
    assert_ne!(new_pid, old_pid);
    // The old process finishes what it serves and exits 0; the new one serves on.
    assert_eq!(old.wait_ended(), Exit::Code(0), "{}", old.transcript());
    hammer.wait_served_by(u32::try_from(new_pid).unwrap(), 200);
    hammer.finish_without_failures();

    // The PID file, the admin endpoint (same port) and the control socket follow.
    assert_eq!(pid_in(&dir), new_pid.to_string());
    let (status, body) = http_get(&admin, "/status");
    assert_eq!(status, 200);
    assert!(body.contains("\"echo_server\""), "{body}");
    let (_, metrics) = http_get(&admin, "/metrics");
    assert!(metrics.contains("proc_daemon_ready 1"), "{metrics}");
    let (code, health, _) = ctl(&program, &config, "health");
    assert_eq!((code, health.as_str()), (0, "ready"));
    old.wait_for(&format!("echo: pid {old_pid} stopped accepting"));
    old.wait_for(&format!(
        "upgrade: the new process (pid {new_pid}) is ready and serves"
    ));
    old.wait_for(&format!(
        "listener `http`: taken from the daemon this process upgrades (pid {old_pid}"
    ));

    // The new process stops like any daemon and removes the PID file it took over.
    // SAFETY: kill(2) on the pid the daemon reported.
    unsafe { libc::kill(new_pid, libc::SIGTERM) };
    assert_eq!(wait_orphan(new_pid), Exit::Code(0), "{}", old.transcript());
    assert!(!dir.join("daemon.pid").exists());
    assert!(!dir.join("ctl.sock").exists());
}

#[test]
fn a_new_binary_that_fails_before_ready_leaves_the_old_one_serving() {
    let dir = scratch_dir("upgrade-fails");
    let program = install(&dir);
    let config = write_config(&dir, "");
    let mut daemon = Process::start(&program, &["echo"], &[("DAEMON_CONFIG", &config)]);
    let pid = daemon.pid();
    let pid_u32 = u32::try_from(pid).unwrap();
    let address = listening_address(&mut daemon, pid);
    let admin = daemon.wait_for_value("admin endpoint listening on http://");

    let hammer = Hammer::start(&address);
    hammer.wait_served_by(pid_u32, 100);
    replace_with_script(
        &program,
        "for fd in /proc/$$/fd/*; do echo \"new binary: fd ${fd##*/} $(readlink $fd)\"; done\n\
         echo 'new binary: failing before ready'\nexit 1",
    );
    // (`ctl` from the fixture itself: the installed binary is the broken script now.)
    let (code, answer, error) = ctl(Path::new(FIXTURE), &config, "upgrade");
    assert_eq!(code, 1, "{answer}");
    assert!(
        error.contains("error: upgrade failed: the new process (pid ")
            && error.contains(&format!(
                "exited with status 1 before it was ready; pid {pid} carries on"
            )),
        "{error}"
    );
    daemon.wait_for("new binary: failing before ready");
    // (All on standard output, so in order.) Passed: the three sockets (http, admin, control)
    // and the PID file; nothing else of the
    // daemon's (its epoll and event descriptors stay close-on-exec).
    let given: Vec<&String> = daemon
        .output()
        .iter()
        .filter(|line| line.starts_with("new binary: fd "))
        .collect();
    let count = |what: &str| given.iter().filter(|line| line.contains(what)).count();
    assert_eq!(count(" socket:["), 3, "{given:#?}");
    assert_eq!(
        count(&dir.join("daemon.pid").display().to_string()),
        1,
        "{given:#?}"
    );
    assert_eq!(count("anon_inode:"), 0, "{given:#?}");
    hammer.wait_served_by(pid_u32, 100);
    hammer.finish_without_failures();
    assert_eq!(pid_in(&dir), pid.to_string());
    let (_, metrics) = http_get(&admin, "/metrics");
    assert!(
        metrics.contains("proc_daemon_upgrades_total{outcome=\"failed\"} 1"),
        "{metrics}"
    );

    // SIGUSR2 asks the same, and once a good binary is back in place it succeeds.
    replace_binary(&program, Path::new(FIXTURE));
    daemon.signal(libc::SIGUSR2);
    let ready = daemon.wait_for("upgrade: the new process (pid ");
    let new_pid = pid_after(&ready, "(pid ");
    assert_eq!(
        daemon.wait_ended(),
        Exit::Code(0),
        "{}",
        daemon.transcript()
    );
    assert_eq!(pid_in(&dir), new_pid.to_string());
    // SAFETY: kill(2) on the pid the daemon reported.
    unsafe { libc::kill(new_pid, libc::SIGTERM) };
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
    assert!(!dir.join("daemon.pid").exists());
}

#[test]
fn a_new_process_never_ready_is_killed_at_the_upgrade_timeout() {
    let dir = scratch_dir("upgrade-timeout");
    let program = install(&dir);
    let config = write_config(&dir, "[process]\nupgrade_timeout_ms = 500\n");
    let mut daemon = Process::start(&program, &["echo"], &[("DAEMON_CONFIG", &config)]);
    let pid = daemon.pid();
    let address = listening_address(&mut daemon, pid);
    // A new binary that starts and hangs, holding what it was given.
    replace_with_script(&program, "echo 'new binary: hanging' >&2\nexec sleep 600");
    daemon.signal(libc::SIGUSR2);
    daemon.wait_for("new binary: hanging");
    // One upgrade at a time.
    let (code, _, error) = ctl(Path::new(FIXTURE), &config, "upgrade");
    assert_eq!(code, 1);
    assert!(
        error
            .contains("error: upgrade failed: an upgrade is already in progress (new process pid "),
        "{error}"
    );
    let failed = daemon.wait_for("upgrade failed: the new process (pid ");
    assert!(
        failed.contains(
            "was not ready within process.upgrade_timeout_ms (500 ms) and was killed (signal 9)"
        ) && failed.contains(&format!("pid {pid} carries on")),
        "{failed}"
    );
    assert_eq!(request(&address, 7), Ok(u32::try_from(pid).unwrap()));
    assert_eq!(pid_in(&dir), pid.to_string());

    // An executable that cannot be started at all.
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let (code, _, error) = ctl(Path::new(FIXTURE), &config, "upgrade");
    assert_eq!(code, 1);
    assert!(
        error.contains(&format!(
            "error: upgrade failed: cannot start the new process: {}: Permission denied",
            program.display()
        )) && error.ends_with(&format!("pid {pid} carries on")),
        "{error}"
    );
    assert_eq!(request(&address, 8), Ok(u32::try_from(pid).unwrap()));
    let (exit, _) = daemon.signal_and_wait_exit(libc::SIGTERM);
    assert_eq!(exit, Exit::Code(0), "{}", daemon.transcript());
}

#[test]
fn under_systemd_the_listeners_are_kept_in_the_fd_store_and_mainpid_follows_the_upgrade() {
    adopt_orphans();
    let (mut systemd, socket) = FakeSystemd::bind("upgrade-systemd");
    let dir = scratch_dir("upgrade-systemd-daemon");
    let program = install(&dir);
    let config = write_config(&dir, "");
    // As systemd starts it: WATCHDOG_PID names the main process.
    let mut old = Process::start(
        "sh",
        &[
            "-c",
            "WATCHDOG_PID=$$ exec \"$0\" echo",
            &program.display().to_string(),
        ],
        &[
            ("DAEMON_CONFIG", &config),
            ("NOTIFY_SOCKET", &socket),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    let old_pid = old.pid();
    let address = listening_address(&mut old, old_pid);

    // The listener, by its [listen] name, with the socket itself attached.
    let (stored, fds) = systemd.next_with_fds(&mut old);
    assert_eq!(stored, "FDSTORE=1\nFDNAME=http");
    assert_eq!(fds.len(), 1);
    let kept = std::net::TcpListener::from(fds.into_iter().next().unwrap());
    assert_eq!(kept.local_addr().unwrap().to_string(), address);
    drop(kept);
    let ready = systemd.next_event(&mut old);
    assert!(ready.starts_with("READY=1"), "{ready}");

    let (code, answer, _) = ctl(&program, &config, "upgrade");
    assert_eq!(code, 0, "{answer}");
    let new_pid = upgraded_to(&answer);
    // The new process stores the same socket again (systemd keeps one copy), becomes ready,
    // and the old one names it the main process; systemd never hears the old one is stopping.
    let mut after = Vec::new();
    while !after.iter().any(|m: &String| m.starts_with("MAINPID=")) {
        after.push(systemd.next_event(&mut old));
    }
    assert!(
        after.contains(&format!(
            "MAINPID={new_pid}\nSTATUS=upgraded: the new process serves"
        )),
        "{after:?}"
    );
    assert_eq!(old.wait_ended(), Exit::Code(0), "{}", old.transcript());
    // The watchdog is fed by the new process now (WATCHDOG_PID named the old one).
    let old_gone = Instant::now();
    while !systemd.pings().iter().any(|&ping| ping > old_gone) {
        after.push(systemd.receive(&mut old));
    }
    // SAFETY: kill(2) on the pid the daemon reported.
    unsafe { libc::kill(new_pid, libc::SIGTERM) };
    assert_eq!(wait_orphan(new_pid), Exit::Code(0), "{}", old.transcript());
    systemd.socket.set_nonblocking(true).unwrap();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = systemd.socket.recv(&mut buffer) {
        after.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
    }
    let stopping: Vec<&String> = after
        .iter()
        .filter(|m| m.starts_with("STOPPING=1"))
        .collect();
    assert_eq!(
        stopping.len(),
        1,
        "only the new process says it stops: {after:?}"
    );
}
