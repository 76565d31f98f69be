//! A harness for process-level tests: start a real daemon binary, wait for what it prints,
//! send it signals, check how it exits. Every wait has a deadline and fails with everything the
//! process printed so far.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub mod systemd;

/// A generous bound for things that should take milliseconds, for a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug)]
enum Event {
    Line(String),
    /// The process itself ended; processes it started may still hold its output open.
    Ended(ExitStatus),
    /// The process ended and all of its output has been read.
    Exited(ExitStatus),
}

/// A running daemon process.
#[derive(Debug)]
pub struct Process {
    pid: i32,
    events: Receiver<Event>,
    output: Vec<String>,
    ended: Option<ExitStatus>,
    status: Option<ExitStatus>,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

impl Process {
    /// Starts `program` with `args` and extra environment variables.
    pub fn start(program: impl AsRef<Path>, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(program.as_ref());
        command.args(args);
        for (key, value) in env {
            command.env(key, value);
        }
        Self::spawn(command)
    }

    /// Starts `command` (its standard streams are the harness's).
    pub fn spawn(mut command: Command) -> Self {
        command.stdout(Stdio::piped());
        Self::spawn_with_stdout(command)
    }

    /// Starts `command` with the standard output it was given (standard error is read).
    pub fn spawn_with_stdout(mut command: Command) -> Self {
        command.stdin(Stdio::null()).stderr(Stdio::piped());
        isolate_environment(&mut command);
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e}",
                command.get_program().to_string_lossy()
            )
        });
        let (sender, events) = mpsc::channel();
        let mut readers = vec![forward_lines(child.stderr.take().unwrap(), sender.clone())];
        if let Some(stdout) = child.stdout.take() {
            readers.push(forward_lines(stdout, sender.clone()));
        }
        let pid = i32::try_from(child.id()).unwrap();
        std::thread::spawn(move || {
            let status = child.wait().expect("wait for child");
            let _ = sender.send(Event::Ended(status));
            // Report the exit only after every line the process wrote has been forwarded.
            for reader in readers {
                let _ = reader.join();
            }
            let _ = sender.send(Event::Exited(status));
        });
        Self {
            pid,
            events,
            output: Vec::new(),
            ended: None,
            status: None,
        }
    }

    /// The process id.
    #[must_use]
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Sends `signal` to the process.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) with a pid we started; at worst it fails with ESRCH.
        unsafe {
            libc::kill(self.pid, signal);
        }
    }

    fn receive(&mut self, deadline: Instant) -> Option<&Event> {
        if self.status.is_some() {
            return None;
        }
        match self
            .events
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            Ok(Event::Line(line)) => {
                self.output.push(line);
                None
            }
            Ok(Event::Ended(status)) => {
                self.ended = Some(status);
                None
            }
            Ok(Event::Exited(status)) => {
                self.status = Some(status);
                None
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("harness threads vanished"),
        }
    }

    /// Waits until a line containing `needle` has been printed (on stdout or stderr) and
    /// returns it. Panics, showing all output, if the process exits first or `PATIENCE` passes.
    pub fn wait_for(&mut self, needle: &str) -> String {
        self.wait_for_nth(needle, 1)
    }

    /// Waits until `n` lines containing `needle` have been printed; returns the last.
    pub fn wait_for_nth(&mut self, needle: &str, n: usize) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let matching: Vec<&String> =
                self.output.iter().filter(|l| l.contains(needle)).collect();
            if matching.len() >= n {
                return matching[n - 1].clone();
            }
            assert!(
                self.status.is_none(),
                "process exited ({:?}) before printing {n} x {needle:?}; output:\n{}",
                self.status,
                self.transcript()
            );
            assert!(
                Instant::now() < deadline,
                "no {n} x {needle:?} within {PATIENCE:?}; output:\n{}",
                self.transcript()
            );
            self.receive(deadline);
        }
    }

    /// Waits until a line containing `needle` is printed (`true`) or the process exits first
    /// (`false`). Panics, showing all output, if `PATIENCE` passes.
    pub fn wait_for_or_exit(&mut self, needle: &str) -> bool {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self.output.iter().any(|l| l.contains(needle)) {
                return true;
            }
            if self.status.is_some() {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} and no exit within {PATIENCE:?}; output:\n{}",
                self.transcript()
            );
            self.receive(deadline);
        }
    }

    /// Waits for the process to exit and returns how, with its wall time from the call.
    pub fn wait_exit_timed(&mut self, patience: Duration) -> (Exit, Duration) {
        let start = Instant::now();
        let deadline = start + patience;
        while self.status.is_none() {
            assert!(
                Instant::now() < deadline,
                "process still running after {patience:?}; output:\n{}",
                self.transcript()
            );
            self.receive(deadline);
        }
        (exit_of(self.status.unwrap()), start.elapsed())
    }

    /// Sends `signal` and waits for the process to exit; the time is measured from just before
    /// the signal was sent, so a lower bound on it cannot fail because the daemon saw the
    /// signal before `kill` returned.
    pub fn signal_and_wait_exit(&mut self, signal: i32) -> (Exit, Duration) {
        let sent = Instant::now();
        self.signal(signal);
        let (exit, _) = self.wait_exit_timed(PATIENCE);
        (exit, sent.elapsed())
    }

    /// Waits for the process itself to end — not for processes it started, which may still
    /// write to its output (an upgrade's new process) — and returns how.
    pub fn wait_ended(&mut self) -> Exit {
        let deadline = Instant::now() + PATIENCE;
        while self.ended.is_none() {
            assert!(
                Instant::now() < deadline,
                "process still running after {PATIENCE:?}; output:\n{}",
                self.transcript()
            );
            self.receive(deadline);
        }
        exit_of(self.ended.unwrap())
    }

    /// Waits for the process to exit and returns how.
    pub fn wait_exit(&mut self) -> Exit {
        self.wait_exit_timed(PATIENCE).0
    }

    /// Waits for the process to exit and checks that it ended as `expected`; otherwise fails
    /// with everything it printed.
    #[track_caller]
    pub fn expect_exit(&mut self, expected: Exit) {
        let exit = self.wait_exit();
        assert_eq!(exit, expected, "{}", self.transcript());
    }

    /// Takes in whatever the process has printed by now, without waiting.
    pub fn drain(&mut self) {
        while self.status.is_none() {
            match self.events.try_recv() {
                Ok(Event::Line(line)) => self.output.push(line),
                Ok(Event::Ended(status)) => self.ended = Some(status),
                Ok(Event::Exited(status)) => self.status = Some(status),
                Err(_) => break,
            }
        }
    }

    /// What follows `prefix` on the first line that contains it, waiting for that line (a
    /// daemon's log lines and its subsystems' output come through different pipes, so a line
    /// printed first may be read second). Panics, showing all output, past the deadline.
    #[must_use]
    pub fn wait_for_value(&mut self, prefix: &str) -> String {
        let line = self.wait_for(prefix);
        let (_, rest) = line
            .split_once(prefix)
            .expect("the line contains the prefix");
        rest.trim().to_owned()
    }

    /// Every line printed so far.
    #[must_use]
    pub fn output(&self) -> &[String] {
        &self.output
    }

    /// How many printed lines contain `needle`.
    #[must_use]
    pub fn count(&self, needle: &str) -> usize {
        self.output.iter().filter(|l| l.contains(needle)).count()
    }

    /// All output, for failure messages.
    #[must_use]
    pub fn transcript(&self) -> String {
        self.output.join("\n")
    }

    /// Waits until the kernel shows a handler installed for `signal` (the `SigCgt` mask in
    /// `/proc/PID/status`).
    pub fn wait_for_handler(&mut self, signal: i32) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if catches(self.pid, signal) {
                return;
            }
            assert!(
                self.status.is_none() && Instant::now() < deadline,
                "no handler for signal {signal}; status {:?}; output:\n{}",
                self.status,
                self.transcript()
            );
            // A poll interval, not a synchronisation: the condition is re-checked each time.
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.status.is_none() {
            self.signal(libc::SIGKILL);
        }
    }
}

fn exit_of(status: ExitStatus) -> Exit {
    status.code().map_or_else(
        || Exit::Signal(std::os::unix::process::ExitStatusExt::signal(&status).unwrap()),
        Exit::Code,
    )
}

/// Makes this test process the reaper of orphaned descendants (`PR_SET_CHILD_SUBREAPER`), so
/// that [`wait_orphan`] can learn how a process a daemon started — and left — ended.
pub fn adopt_orphans() {
    // SAFETY: prctl with an integer argument.
    let done = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(done, 0, "prctl(PR_SET_CHILD_SUBREAPER)");
}

/// How the orphan `pid` (adopted by [`adopt_orphans`]) ended; panics after `PATIENCE`.
#[must_use]
pub fn wait_orphan(pid: i32) -> Exit {
    let (sender, ended) = mpsc::channel();
    std::thread::spawn(move || {
        let mut status = 0;
        // SAFETY: waitpid on one pid with a valid status pointer.
        let reaped = unsafe { libc::waitpid(pid, &raw mut status, 0) };
        let _ = sender.send((reaped, status));
    });
    let (reaped, status) = ended
        .recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("process {pid} still running after {PATIENCE:?}"));
    assert_eq!(
        reaped,
        pid,
        "waitpid({pid}): {}",
        std::io::Error::last_os_error()
    );
    if libc::WIFEXITED(status) {
        Exit::Code(libc::WEXITSTATUS(status))
    } else {
        Exit::Signal(libc::WTERMSIG(status))
    }
}

fn forward_lines(
    stream: impl std::io::Read + Send + 'static,
    sender: mpsc::Sender<Event>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if sender.send(Event::Line(line)).is_err() {
                break;
            }
        }
    })
}

/// Whether this test process is root, which the tests that act as another user need. When it
/// is not, the test is skipped with a line saying so — unless `PROC_DAEMON_TESTS_AS_ROOT` is
/// set (CI sets it: it runs as root), where a skip would hide a test that never ran.
#[must_use]
pub fn runs_as_root(needed_for: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var_os("PROC_DAEMON_TESTS_AS_ROOT").is_none(),
        "PROC_DAEMON_TESTS_AS_ROOT is set, but the tests do not run as root: {needed_for}"
    );
    eprintln!("skipped: {needed_for} needs root");
    false
}

/// Whether `/proc/PID/status` lists `signal` in `SigCgt`.
#[must_use]
pub fn catches(pid: i32, signal: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal - 1)) != 0)
}

/// Waits until the file at `path` exists and contains `needle`; returns its contents. Polls
/// (the file is the observable event), failing after `PATIENCE`.
pub fn wait_for_file_containing(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.contains(needle)
        {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} never contained {needle:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The write end of a pipe whose read end is already closed: writing to it fails with EPIPE.
#[must_use]
pub fn broken_pipe() -> Stdio {
    use std::os::fd::{FromRawFd as _, OwnedFd};

    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two fresh descriptors, which are owned exactly once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fds[0] and fds[1] are open descriptors nobody else owns.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

/// Variables of the test runner's own environment that would change what a daemon does: they
/// reach it only when a test sets them.
fn isolate_environment(command: &mut Command) {
    let chosen: Vec<std::ffi::OsString> =
        command.get_envs().map(|(key, _)| key.to_owned()).collect();
    for (key, _) in std::env::vars_os() {
        let Some(name) = key.to_str() else { continue };
        let steering = name.starts_with("DAEMON_")
            || name.starts_with("FIXTURE_")
            || matches!(
                name,
                "RUST_LOG"
                    | "NOTIFY_SOCKET"
                    | "WATCHDOG_USEC"
                    | "WATCHDOG_PID"
                    | "LISTEN_FDS"
                    | "LISTEN_PID"
                    | "LISTEN_FDNAMES"
                    | "RUNTIME_DIRECTORY"
            );
        if steering && !chosen.contains(&key) {
            command.env_remove(&key);
        }
    }
}

/// A command running a copy of `program` as `nobody` (uid and gid 65534), from `dir`: the
/// copy, because the original may sit where another user cannot reach it (a checkout under
/// `/root`). `dir` must be readable by that user.
#[must_use]
pub fn as_nobody(program: &str, dir: &Path) -> Command {
    use std::os::unix::process::CommandExt as _;
    let copy = dir.join("daemon-as-nobody");
    std::fs::copy(program, &copy).unwrap();
    let mut command = Command::new(copy);
    command.current_dir(dir).uid(65_534).gid(65_534);
    command
}

/// A fresh, empty directory for one test.
#[must_use]
pub fn scratch_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("proc-daemon-test-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A plain HTTP/1.1 GET to `address` (`host:port`): the status code and the body.
#[must_use]
pub fn http_get(address: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}
