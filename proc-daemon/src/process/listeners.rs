//! `[listen]`: named listening sockets, a runtime service. Bound before the set-up body (so a
//! port below 1024 is bound while the daemon is still root, and a bad address is a start-up
//! error), or taken by name from systemd's socket activation (`LISTEN_PID`, `LISTEN_FDS`,
//! `LISTEN_FDNAMES`). The daemon keeps them for its whole life; each run of a subsystem gets
//! its own duplicate (`Context::tcp_listener`), so a restarted subsystem listens again on the
//! same socket and no connection queued meanwhile is lost.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::{Config, Error, Result};

/// What a `[listen]` entry names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Address {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl Address {
    /// `"127.0.0.1:8080"`, `"[::1]:8080"` or `"unix:/run/x/api.sock"`.
    pub(crate) fn parse(name: &str, text: &str) -> Result<Self> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() || !path.starts_with('/') {
                return Err(Error::config(format!(
                    "listen.{name}: {text:?} needs an absolute path after `unix:`, like \"unix:/run/my-daemon/{name}.sock\""
                )));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        text.parse().map(Self::Tcp).map_err(|_| {
            Error::config(format!(
                "listen.{name}: {text:?} is not an address; write \"127.0.0.1:8080\", \"[::1]:8080\" or \"unix:/path/to.sock\""
            ))
        })
    }
}

/// One listening socket.
#[derive(Debug)]
enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// The daemon's named listeners, provided to subsystems as state.
#[derive(Debug, Default)]
pub(crate) struct Listeners {
    named: HashMap<String, Listener>,
}

impl Listeners {
    /// A duplicate of the TCP listener `name`, for one run.
    pub(crate) fn tcp(&self, name: &str) -> Result<TcpListener> {
        match self.named.get(name) {
            Some(Listener::Tcp(listener)) => Ok(listener.try_clone()?),
            Some(Listener::Unix(_)) => Err(Error::other(format!(
                "listener `{name}` is a Unix socket; use `unix_listener(\"{name}\")`"
            ))),
            None => Err(self.unknown(name)),
        }
    }

    /// A duplicate of the Unix listener `name`, for one run.
    pub(crate) fn unix(&self, name: &str) -> Result<UnixListener> {
        match self.named.get(name) {
            Some(Listener::Unix(listener)) => Ok(listener.try_clone()?),
            Some(Listener::Tcp(_)) => Err(Error::other(format!(
                "listener `{name}` is a TCP socket; use `tcp_listener(\"{name}\")`"
            ))),
            None => Err(self.unknown(name)),
        }
    }

    fn unknown(&self, name: &str) -> Error {
        let mut names: Vec<&str> = self.named.keys().map(String::as_str).collect();
        names.sort_unstable();
        Error::config(format!(
            "no listener named `{name}` in [listen]; configured: {}",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ))
    }
}

/// What systemd's socket activation passed, read (and removed from the environment) by the
/// launcher before any thread started.
static INHERITED: OnceLock<HashMap<String, RawFd>> = OnceLock::new();

/// Reads the socket-activation variables once and, while this is the process's only thread,
/// removes them from the environment, so that the processes the daemon starts do not take the
/// sockets for theirs. (With other threads running, removing a variable could race their reads
/// of the environment; the variables are then left, as they are off Linux, where the thread
/// count is not read.)
pub(crate) fn take_activation_environment() {
    let found = activated_from_environment();
    if std::env::var_os("LISTEN_PID").is_some() && only_thread() {
        for variable in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            // SAFETY: this is the process's only thread, so nothing reads the environment
            // meanwhile.
            unsafe { std::env::remove_var(variable) };
        }
    }
    let _ = INHERITED.set(found);
}

/// Whether this is the process's only thread (`Threads:` in `/proc/self/status`).
fn only_thread() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.split_whitespace().eq(["Threads:", "1"]))
    })
}

/// Sockets systemd passed to this process, by name: as the launcher took them, or from the
/// environment (a daemon run without the launcher).
fn activated() -> HashMap<String, RawFd> {
    INHERITED
        .get()
        .cloned()
        .unwrap_or_else(activated_from_environment)
}

/// `LISTEN_FDS` descriptors from fd 3, by `LISTEN_FDNAMES` (unnamed ones are `unknown`, as
/// systemd names them), if `LISTEN_PID` is this process.
fn activated_from_environment() -> HashMap<String, RawFd> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| pid == std::process::id());
    let count: RawFd = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if !ours || count <= 0 {
        return HashMap::new();
    }
    let names = std::env::var("LISTEN_FDNAMES").unwrap_or_default();
    let mut names = names.split(':');
    (0..count)
        .map(|i| {
            let name = names.next().filter(|n| !n.is_empty()).unwrap_or("unknown");
            (name.to_owned(), 3 + i)
        })
        .collect()
}

/// The socket family of `fd`, if it is a socket.
fn family(fd: RawFd) -> Option<libc::sa_family_t> {
    // SAFETY: all-zero is a valid sockaddr_storage for getsockname to fill.
    let mut address: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    #[allow(clippy::cast_possible_truncation)]
    let mut length = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: the pointers refer to `address` and `length`, of the stated size.
    let ok = unsafe { libc::getsockname(fd, (&raw mut address).cast(), &raw mut length) } == 0;
    ok.then_some(address.ss_family)
}

/// Takes the inherited socket `fd` for the listener `name`.
fn adopt(name: &str, fd: RawFd, address: &Address) -> Result<Listener> {
    let family = family(fd).ok_or_else(|| {
        Error::config(format!(
            "listen.{name}: the descriptor systemd passed as `{name}` (fd {fd}) is not a socket"
        ))
    })?;
    // Not inherited by whatever the daemon starts.
    // SAFETY: fcntl on a descriptor this process owns.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    let listener = match (i32::from(family), address) {
        (libc::AF_INET | libc::AF_INET6, Address::Tcp(_)) => {
            // SAFETY: systemd handed this descriptor to this process; it is taken once.
            Listener::Tcp(unsafe { TcpListener::from_raw_fd(fd) })
        }
        (libc::AF_UNIX, Address::Unix(_)) => {
            // SAFETY: as above.
            Listener::Unix(unsafe { UnixListener::from_raw_fd(fd) })
        }
        _ => {
            return Err(Error::config(format!(
                "listen.{name}: the socket systemd passed as `{name}` (fd {fd}) is not of the kind configured ({address:?})"
            )));
        }
    };
    tracing::info!(
        "listener `{name}`: taken from systemd's socket activation (fd {fd}) instead of binding {address:?}"
    );
    Ok(listener)
}

/// Binds `address` for the listener `name`; an error names both.
fn bind(name: &str, address: &Address) -> Result<Listener> {
    let failed = |err: std::io::Error, shown: String| {
        Error::other(format!(
            "listener `{name}`: cannot listen on {shown}: {err}"
        ))
    };
    let listener = match address {
        Address::Tcp(socket) => {
            Listener::Tcp(TcpListener::bind(socket).map_err(|e| failed(e, socket.to_string()))?)
        }
        Address::Unix(path) => {
            let shown = format!("unix:{}", path.display());
            // A socket file left by a dead process is replaced; a live one is not.
            if std::fs::symlink_metadata(path)
                .is_ok_and(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
                && std::os::unix::net::UnixStream::connect(path).is_err()
            {
                let _ = std::fs::remove_file(path);
            }
            Listener::Unix(UnixListener::bind(path).map_err(|e| failed(e, shown))?)
        }
    };
    Ok(listener)
}

/// Every `[listen]` entry, taken from systemd by name or bound now, non-blocking.
pub(crate) fn open(config: &Config) -> Result<Listeners> {
    let mut inherited = if config.listen.is_empty() {
        HashMap::new()
    } else {
        activated()
    };
    let mut named = HashMap::with_capacity(config.listen.len());
    for (name, text) in &config.listen {
        let address = Address::parse(name, text)?;
        let listener = match inherited.remove(name) {
            Some(fd) => adopt(name, fd, &address)?,
            None => bind(name, &address)?,
        };
        match &listener {
            Listener::Tcp(socket) => {
                socket.set_nonblocking(true)?;
                tracing::info!("listener `{name}` on {}", socket.local_addr()?);
            }
            Listener::Unix(socket) => {
                socket.set_nonblocking(true)?;
                tracing::info!("listener `{name}` on {text}");
            }
        }
        named.insert(name.clone(), listener);
    }
    Ok(Listeners { named })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_tcp_or_absolute_unix_paths() {
        assert_eq!(
            Address::parse("http", "127.0.0.1:8080").unwrap(),
            Address::Tcp("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            Address::parse("api", "unix:/run/x/api.sock").unwrap(),
            Address::Unix(PathBuf::from("/run/x/api.sock"))
        );
        assert_eq!(
            Address::parse("http", "localhost:80")
                .unwrap_err()
                .to_string(),
            "invalid configuration: listen.http: \"localhost:80\" is not an address; write \"127.0.0.1:8080\", \"[::1]:8080\" or \"unix:/path/to.sock\""
        );
        assert!(
            Address::parse("api", "unix:api.sock")
                .unwrap_err()
                .to_string()
                .contains("needs an absolute path after `unix:`")
        );
    }

    #[test]
    fn listeners_are_bound_and_duplicated_per_run() {
        let mut config = Config::default();
        config.listen.insert("http".into(), "127.0.0.1:0".into());
        let listeners = open(&config).unwrap();
        let first = listeners.tcp("http").unwrap();
        let second = listeners.tcp("http").unwrap();
        assert_eq!(first.local_addr().unwrap(), second.local_addr().unwrap());
        assert_eq!(
            listeners.tcp("api").unwrap_err().to_string(),
            "invalid configuration: no listener named `api` in [listen]; configured: http"
        );
        assert!(listeners.unix("http").is_err());
    }

    #[test]
    fn a_port_in_use_is_an_error_naming_it() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut config = Config::default();
        config
            .listen
            .insert("http".into(), taken.local_addr().unwrap().to_string());
        let error = open(&config).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "listener `http`: cannot listen on {}: ",
                taken.local_addr().unwrap()
            )),
            "{error}"
        );
    }

    #[test]
    fn a_stale_unix_socket_is_replaced_and_a_live_one_is_not() {
        let dir = std::env::temp_dir().join(format!("proc-daemon-listen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("api.sock");
        drop(UnixListener::bind(&path).unwrap()); // leaves the file, nobody listening
        let mut config = Config::default();
        config
            .listen
            .insert("api".into(), format!("unix:{}", path.display()));
        let listeners = open(&config).unwrap();
        std::os::unix::net::UnixStream::connect(&path).unwrap();
        assert!(listeners.unix("api").is_ok());
        let error = open(&config).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "listener `api`: cannot listen on unix:{}: ",
                path.display()
            )),
            "{error}"
        );
    }
}
