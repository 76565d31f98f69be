//! The control socket (`[ipc]`, feature `ipc`): a Unix stream socket for operators on the same
//! machine, with a line protocol — one command per line, one line back:
//!
//! | command | answer |
//! |---|---|
//! | `status` | the daemon's status as one line of JSON (what `/status` shows) |
//! | `health` | `ready`, or `not ready: <reason>` |
//! | `reload` | `ok: configuration reloaded`, or `error: <file:line:col: problem>` |
//! | `upgrade` | `ok: upgraded; pid N serves now` once the new process is ready (then this one stops gracefully), or `error: upgrade failed: <why>` |
//! | `stop` | `ok: stopping`, then a graceful shutdown |
//!
//! Anything else gets `error: ...` naming the commands. The socket is created with mode 0600;
//! a connection from a user other than the daemon's own (or root) is refused after reading its
//! peer credentials, so a socket made world-writable by mistake still admits no one else. A
//! line may be at most 1 KiB (1 024 bytes before its newline), a connection idle for 30 s is
//! closed, and so is one whose client leaves an answer unread for 5 s.
//!
//! The daemon's own binary is the client (`my-daemon ctl status`); [`request`] is the same
//! client for programs:
//!
//! ```no_run
//! let answer = proc_daemon::ipc::request("/run/my-daemon.sock".as_ref(), "health")?;
//! assert!(answer == "ready" || answer.starts_with("not ready"));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io::{Read, Write};
use std::os::fd::AsFd as _;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use super::serve::accept_until_shutdown;
use crate::process::reload::{reason, reload};
use crate::process::socket_file;
use crate::state::{Shared, ShutdownReason};
use crate::supervision::lifecycle::request_shutdown;
use crate::{Error, Result};

const MAX_LINE: usize = 1024;
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an answer may wait for the client to read it.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
const DRAIN_LIMIT: usize = 64 * 1024;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);
const COMMANDS: &str = "status, health, reload, upgrade, stop, stop-subsystem NAME";

/// Sends `command` to the daemon listening on `socket` and returns its answer (one line,
/// without the newline).
///
/// # Errors
/// The connection's I/O error: the daemon is not running, the socket is not ours to use, it is
/// served by a process of another user (not root), it did not answer within 10 s, or it closed
/// the connection without answering (`UnexpectedEof`: it ended meanwhile).
pub fn request(socket: &Path, command: &str) -> std::io::Result<String> {
    request_within(socket, command, CLIENT_TIMEOUT)
}

/// [`request`], waiting up to `patience` for the answer (an upgrade takes as long as the new
/// process needs to be ready).
pub(crate) fn request_within(
    socket: &Path,
    command: &str,
    patience: Duration,
) -> std::io::Result<String> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
    // Whoever could replace the socket could read our command and answer "ok": only a
    // server run by this user or by root is told anything.
    let server = socket_file::peer_uid(&stream)?;
    if !socket_file::trusted(server) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!(
                "the socket is served by uid {server}, neither this user nor root; refusing to send {:?}",
                command.trim()
            ),
        ));
    }
    stream.set_read_timeout(Some(patience))?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    stream.write_all(command.trim().as_bytes())?;
    stream.write_all(b"\n")?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    if answer.trim().is_empty() {
        // What a daemon that ends while a command is in flight leaves: no answer is no "ok".
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "the daemon closed the connection without answering {:?} (it may be stopping)",
                command.trim()
            ),
        ));
    }
    Ok(answer.trim_end().to_owned())
}

/// The serving socket; dropping it stops serving and removes the socket file.
pub(crate) struct IpcServer {
    accept: tokio::task::JoinHandle<()>,
    path: PathBuf,
    inode: u64,
    shared: Arc<Shared>,
}

impl Drop for IpcServer {
    fn drop(&mut self) {
        self.accept.abort();
        // Only our own socket: a newer daemon may have replaced a file we no longer own, or
        // serve this very socket after an upgrade.
        if !self.shared.handover.handed_off() && inode_of(&self.path) == Some(self.inode) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn inode_of(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).ok().map(|m| m.ino())
}

/// Binds the socket at `path` (replacing a stale one; or takes the one the daemon this process
/// upgrades served there) and serves until shutdown starts.
pub(crate) fn start(path: PathBuf, shared: Arc<Shared>) -> Result<IpcServer> {
    if let Some(listener) = passed_on(&path) {
        shared.handover.offer(passed_name(&path), listener.as_fd());
        tracing::info!(
            "control socket {}: taken from the daemon this process upgrades",
            path.display()
        );
        let inode = inode_of(&path).unwrap_or_default();
        return Ok(IpcServer {
            accept: tokio::spawn(accept(listener, shared.clone())),
            path,
            inode,
            shared,
        });
    }
    let fail = |problem: String| Error::other(format!("ipc socket {}: {problem}", path.display()));
    if path.parent() == Some(crate::IpcConfig::private_fallback_dir().as_path()) {
        socket_file::ensure_private_directory(&crate::IpcConfig::private_fallback_dir())
            .map_err(fail)?;
    }
    // A missing directory is reported by the bind below, as "cannot listen".
    if let Some(dir) = path.parent().filter(|dir| dir.is_dir()) {
        socket_file::check_directory(dir).map_err(fail)?;
    }
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(fail(
                "exists and is not a socket; remove it or set ipc.socket".into(),
            ));
        }
        Ok(_) => match std::os::unix::net::UnixStream::connect(&path) {
            Ok(_) => return Err(fail("another daemon is serving it".into())),
            Err(_) => {
                // Left behind by a daemon that was killed: nobody answers on it.
                std::fs::remove_file(&path)
                    .map_err(|e| fail(format!("cannot remove the stale socket: {e}")))?;
                tracing::info!("removed the stale control socket {}", path.display());
            }
        },
        Err(_) => {}
    }
    let listener = socket_file::bind_private(&path)
        .and_then(|listener| {
            listener.set_nonblocking(true)?;
            UnixListener::from_std(listener)
        })
        .map_err(|e| fail(format!("cannot listen: {e}")))?;
    shared.handover.offer(passed_name(&path), listener.as_fd());
    let inode = inode_of(&path).unwrap_or_default();
    tracing::info!("control socket listening on {}", path.display());
    Ok(IpcServer {
        accept: tokio::spawn(accept(listener, shared.clone())),
        path,
        inode,
        shared,
    })
}

/// What an upgrade passes the control socket at `path` as: by path, so that a new process
/// configured with another path binds that instead. (The socket's own address is the private
/// name it was bound under before it was moved into place.)
fn passed_name(path: &Path) -> String {
    format!("ipc {}", path.display())
}

/// The control socket an upgraded-from daemon passed on, if it served `path`.
fn passed_on(path: &Path) -> Option<UnixListener> {
    let (_, fd) = crate::process::inherited::take(&passed_name(path))?;
    let listener = std::os::unix::net::UnixListener::from(fd);
    listener.set_nonblocking(true).ok()?;
    UnixListener::from_std(listener).ok()
}

async fn accept(listener: UnixListener, shared: Arc<Shared>) {
    let listener = &listener;
    accept_until_shutdown(
        shared,
        "control socket",
        move || async move { listener.accept().await.map(|(stream, _)| stream) },
        serve,
    )
    .await;
}

/// Whether a peer with `uid` may use the socket: the daemon's own user, and root.
fn admitted(uid: u32) -> bool {
    socket_file::trusted(uid)
}

async fn serve(mut stream: UnixStream, shared: Arc<Shared>) {
    let uid = match stream.peer_cred() {
        Ok(cred) => cred.uid(),
        Err(err) => {
            tracing::warn!("control socket: cannot read the peer's credentials, refusing: {err}");
            return;
        }
    };
    if !admitted(uid) {
        // SAFETY: geteuid has no preconditions.
        let own = unsafe { libc::geteuid() };
        tracing::warn!(
            "control socket: refused a connection from uid {uid} (only uid {own} and root may use it)"
        );
        close_with(
            stream,
            &format!("error: refused: uid {uid} may not control this daemon\n"),
        )
        .await;
        return;
    }
    let mut pending = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            if end > MAX_LINE {
                break;
            }
            let line: Vec<u8> = pending.drain(..=end).collect();
            let _answering = shared.answers.token();
            let answer = answer(&line[..end], &shared).await;
            if !send(&mut stream, &answer).await {
                return;
            }
        }
        let line_length = pending
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(pending.len());
        if line_length > MAX_LINE {
            close_with(
                stream,
                &format!("error: command longer than {MAX_LINE} bytes\n"),
            )
            .await;
            return;
        }
        match tokio::time::timeout(IDLE_TIMEOUT, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => {
                // A last command without a newline still gets its answer.
                if !pending.is_empty() {
                    let _answering = shared.answers.token();
                    let answer = answer(&pending, &shared).await;
                    send(&mut stream, &answer).await;
                }
                return;
            }
            Ok(Ok(read)) => pending.extend_from_slice(&chunk[..read]),
            Ok(Err(_)) | Err(_) => return,
        }
    }
}

/// Writes an answer; `false` if the connection is gone or the client has not taken it within
/// [`WRITE_TIMEOUT`] (a client that sends commands and never reads is dropped).
async fn send(stream: &mut UnixStream, answer: &str) -> bool {
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(answer.as_bytes())).await {
        Ok(Ok(())) => true,
        Ok(Err(_)) => false,
        Err(_) => {
            tracing::warn!(
                "control socket: a client did not read its answers for {WRITE_TIMEOUT:?}; closing its connection"
            );
            false
        }
    }
}

/// Sends a last answer and closes. Closing with unread input would reset the connection
/// before the client reads the answer, so (a bounded amount of) what it is still sending is
/// read and dropped first.
async fn close_with(mut stream: UnixStream, answer: &str) {
    if !send(&mut stream, answer).await {
        return;
    }
    let _ = stream.shutdown().await;
    let mut chunk = [0u8; 256];
    let mut left = DRAIN_LIMIT;
    while let Ok(Ok(read @ 1..)) =
        tokio::time::timeout(DRAIN_TIMEOUT, stream.read(&mut chunk)).await
    {
        left = left.saturating_sub(read);
        if left == 0 {
            break;
        }
    }
}

/// The answer to one command line, newline included.
async fn answer(line: &[u8], shared: &Arc<Shared>) -> String {
    let Ok(command) = std::str::from_utf8(line) else {
        return "error: the command is not UTF-8\n".to_owned();
    };
    let command = command.trim();
    let mut answer = match command {
        "status" => super::status::to_json(shared).to_string(),
        "health" => match shared.readiness() {
            Ok(()) => "ready".to_owned(),
            Err(reason) => format!("not ready: {reason}"),
        },
        "reload" => {
            let live = shared.clone();
            match tokio::task::spawn_blocking(move || reload(&live.config, "control socket")).await
            {
                Ok(Ok(())) => "ok: configuration reloaded".to_owned(),
                Ok(Err(err)) => format!("error: {}", reason(&err)),
                Err(_) => "error: the reload did not finish".to_owned(),
            }
        }
        "upgrade" => {
            let (reply, outcome) = tokio::sync::oneshot::channel();
            crate::process::upgrade::start(shared, "ctl upgrade", move |outcome| {
                let _ = reply.send(outcome);
            });
            match outcome.await {
                Ok(Ok(pid)) => format!("ok: upgraded; pid {pid} serves now"),
                Ok(Err(reason)) => format!("error: upgrade failed: {reason}"),
                Err(_) => "error: the upgrade's outcome is unknown".to_owned(),
            }
        }
        "stop" => {
            tracing::info!("stop requested over the control socket");
            request_shutdown(shared, ShutdownReason::Requested);
            "ok: stopping".to_owned()
        }
        _ if command.starts_with("stop-subsystem") => {
            match command.split_once(' ').map(|(_, name)| name.trim()) {
                Some(name) if !name.is_empty() => {
                    tracing::info!("subsystem `{name}`: stop requested over the control socket");
                    match crate::supervision::membership::remove(shared, name).await {
                        Ok(status) => match status.last_error {
                            Some(error) => {
                                format!("ok: `{name}` removed, {}: {error}", status.state)
                            }
                            None => format!("ok: `{name}` removed, {}", status.state),
                        },
                        Err(err) => format!("error: {err}"),
                    }
                }
                _ => "error: stop-subsystem needs a name: stop-subsystem NAME".to_owned(),
            }
        }
        "" => format!("error: empty command; commands: {COMMANDS}"),
        other => format!("error: unknown command {other:?}; commands: {COMMANDS}"),
    };
    answer.push('\n');
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_daemons_user_and_root_are_admitted() {
        assert!(admitted(0));
        // SAFETY: geteuid has no preconditions.
        assert!(admitted(unsafe { libc::geteuid() }));
        assert!(!admitted(65_534) || unsafe { libc::geteuid() } == 65_534);
    }
}
