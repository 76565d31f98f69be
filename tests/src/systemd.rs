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

    /// The next message with the descriptors sent along with it (`FDSTORE=1`), skipping
    /// watchdog pings.
    pub fn next_with_fds(&mut self, daemon: &mut Process) -> (String, Vec<std::os::fd::OwnedFd>) {
        use std::os::fd::{AsRawFd as _, FromRawFd as _};
        loop {
            let mut buffer = [0u8; 4096];
            let mut control = [0u8; 256];
            let mut part = libc::iovec {
                iov_base: buffer.as_mut_ptr().cast(),
                iov_len: buffer.len(),
            };
            // SAFETY: all-zero is a valid msghdr; the pointers set below outlive the call.
            let mut header: libc::msghdr = unsafe { std::mem::zeroed() };
            header.msg_iov = &raw mut part;
            header.msg_iovlen = 1;
            header.msg_control = control.as_mut_ptr().cast();
            header.msg_controllen = control.len();
            // SAFETY: recvmsg on our socket with buffers described by `header`.
            let length = unsafe { libc::recvmsg(self.socket.as_raw_fd(), &raw mut header, 0) };
            if length < 0 {
                daemon.drain();
                panic!(
                    "no message from the daemon within {PATIENCE:?}: {}; daemon output:\n{}",
                    std::io::Error::last_os_error(),
                    daemon.transcript()
                );
            }
            let mut fds = Vec::new();
            // SAFETY: walking the control messages recvmsg filled in, as cmsg(3) describes.
            unsafe {
                let mut message = libc::CMSG_FIRSTHDR(&raw const header);
                while !message.is_null() {
                    if (*message).cmsg_level == libc::SOL_SOCKET
                        && (*message).cmsg_type == libc::SCM_RIGHTS
                    {
                        let data = libc::CMSG_DATA(message).cast::<i32>();
                        let count = ((*message).cmsg_len - libc::CMSG_LEN(0) as usize)
                            / std::mem::size_of::<i32>();
                        for i in 0..count {
                            fds.push(std::os::fd::OwnedFd::from_raw_fd(
                                data.add(i).read_unaligned(),
                            ));
                        }
                    }
                    message = libc::CMSG_NXTHDR(&raw const header, message);
                }
            }
            let text = String::from_utf8_lossy(&buffer[..usize::try_from(length).unwrap()])
                .trim()
                .to_owned();
            self.seen.push((Instant::now(), text.clone()));
            if text != "WATCHDOG=1" {
                return (text, fds);
            }
        }
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
