//! A stand-in for systemd's side of the notify protocol (`sd_notify(3)`).

use std::os::unix::net::UnixDatagram;
use std::time::Instant;

use crate::{PATIENCE, Process, scratch_dir};

/// A datagram socket standing in for systemd's notify socket.
#[derive(Debug)]
pub struct FakeSystemd {
    /// The bound socket (for tests that read it their own way).
    pub socket: UnixDatagram,
    /// Every message received, with when.
    pub seen: Vec<(Instant, String)>,
}

impl FakeSystemd {
    /// Binds `notify.sock` in a fresh scratch directory named after `name`; returns the
    /// socket and the path to pass as `NOTIFY_SOCKET`.
    #[must_use]
    pub fn bind(name: &str) -> (Self, String) {
        let path = scratch_dir(name).join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket.set_read_timeout(Some(PATIENCE)).unwrap();
        (
            Self {
                socket,
                seen: Vec::new(),
            },
            path.display().to_string(),
        )
    }

    /// The next message that is not a watchdog ping (pings are kept in `seen`); on a timeout,
    /// fails showing everything `daemon` printed.
    pub fn next_event(&mut self, daemon: &mut Process) -> String {
        loop {
            let message = self.receive(daemon);
            if message != "WATCHDOG=1" {
                return message;
            }
        }
    }

    /// The next message, whatever it is.
    pub fn receive(&mut self, daemon: &mut Process) -> String {
        let mut buffer = [0u8; 4096];
        let length = self.socket.recv(&mut buffer).unwrap_or_else(|e| {
            daemon.drain();
            panic!(
                "no message from the daemon within {PATIENCE:?}: {e}; so far: {:?}; daemon output:\n{}",
                self.seen,
                daemon.transcript()
            )
        });
        let message = String::from_utf8_lossy(&buffer[..length]).trim().to_owned();
        self.seen.push((Instant::now(), message.clone()));
        message
    }

    /// When each watchdog ping arrived.
    #[must_use]
    pub fn pings(&self) -> Vec<Instant> {
        self.seen
            .iter()
            .filter(|(_, m)| m == "WATCHDOG=1")
            .map(|(t, _)| *t)
            .collect()
    }
}
