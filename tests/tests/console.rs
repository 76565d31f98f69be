//! Console status lines: shown, coloured, when standard error is a terminal (a pseudo-terminal
//! here); absent when it is a pipe.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use tests::{Exit, PATIENCE, Process};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

/// A daemon whose standard error is a pseudo-terminal; its output arrives on the channel.
struct OnTerminal {
    child: std::process::Child,
    output: mpsc::Receiver<Vec<u8>>,
    seen: String,
}

impl OnTerminal {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two new descriptors, which are owned from here on.
        let (master, slave) = unsafe {
            assert_eq!(
                libc::openpty(
                    &raw mut master,
                    &raw mut slave,
                    std::ptr::null_mut(),
                    std::ptr::null(),
                    std::ptr::null()
                ),
                0
            );
            (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave))
        };
        let child = Command::new(FIXTURE)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap();
        let (sender, output) = mpsc::channel();
        let mut master = std::fs::File::from(master);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // EIO once the child has closed the terminal: the end of its output.
            while let Ok(read @ 1..) = master.read(&mut buffer) {
                if sender.send(buffer[..read].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            output,
            seen: String::new(),
        }
    }

    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + PATIENCE;
        while !self.seen.contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.seen.push_str(&String::from_utf8_lossy(&bytes)),
                Err(_) => panic!("never saw {needle:?}; output:\n{}", self.seen),
            }
        }
    }

    fn terminate(&mut self) -> Option<i32> {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(i32::try_from(self.child.id()).unwrap(), libc::SIGTERM) };
        self.child.wait().unwrap().code()
    }
}

#[test]
fn a_terminal_gets_coloured_status_lines() {
    let mut daemon = OnTerminal::start(&["idle"], &[]);
    daemon.wait_for("fixture is running: 2 subsystems (pid ");
    assert!(
        daemon
            .seen
            .contains("\u{1b}[1;32m●\u{1b}[0m fixture is running"),
        "not coloured:\n{}",
        daemon.seen
    );
    assert_eq!(daemon.terminate(), Some(0));
    daemon.wait_for("fixture is stopping (received SIGTERM)");
    daemon.wait_for("fixture stopped cleanly in ");
}

#[test]
fn no_color_keeps_the_lines_and_drops_the_colour() {
    let mut daemon = OnTerminal::start(
        &["runs", "policy=on_failure", "fail=1"],
        &[("NO_COLOR", "1")],
    );
    daemon.wait_for("✗ subsystem `flaky` failed: ");
    daemon.wait_for("↻ subsystem `flaky` restarting (restart 1, after 0ns)");
    assert!(
        !daemon.seen.contains('\u{1b}'),
        "colour despite NO_COLOR:\n{}",
        daemon.seen
    );
    assert_eq!(daemon.terminate(), Some(0));
}

#[test]
fn a_pipe_gets_no_status_lines() {
    let mut daemon = Process::start(FIXTURE, &["idle"], &[]);
    daemon.wait_for("all 2 subsystem(s) are running");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
    assert_eq!(daemon.count("●"), 0, "{}", daemon.transcript());
    assert_eq!(daemon.count("is running:"), 0, "{}", daemon.transcript());
}
