//! `[listen]`: named listening sockets, a runtime service. Bound before the set-up body (so a
//! port below 1024 is bound while the daemon is still root, and a bad address is a start-up
//! error), or taken by name from systemd's socket activation (`LISTEN_PID`, `LISTEN_FDS`,
//! `LISTEN_FDNAMES`), or from the daemon this process upgrades (see `upgrade`). The daemon
//! keeps them for its whole life; each run of a subsystem gets its own duplicate
//! (`Context::tcp_listener`), so a restarted subsystem listens again on the same socket and no
//! connection queued meanwhile is lost.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use crate::process::inherited;
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

    /// Every listener's descriptor, by name: what an upgrade passes on and systemd's fd store
    /// keeps.
    pub(crate) fn descriptors(&self) -> impl Iterator<Item = (&str, BorrowedFd<'_>)> {
        self.named.iter().map(|(name, listener)| {
            let fd = match listener {
                Listener::Tcp(socket) => socket.as_fd(),
                Listener::Unix(socket) => socket.as_fd(),
            };
            (name.as_str(), fd)
        })
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

/// Who passed the inherited descriptors, for messages.
fn giver() -> String {
    match inherited::upgrading_from() {
        Some(parent) => format!("the daemon this process upgrades (pid {parent})"),
        None => "systemd's socket activation".to_owned(),
    }
}

/// Takes the inherited socket `fd` for the listener `name`.
fn adopt(name: &str, fd: RawFd, owned: OwnedFd, address: &Address) -> Result<Listener> {
    let family = family(fd).ok_or_else(|| {
        Error::config(format!(
            "listen.{name}: the descriptor passed as `{name}` (fd {fd}) by {} is not a socket",
            giver()
        ))
    })?;
    let listener = match (i32::from(family), address) {
        (libc::AF_INET | libc::AF_INET6, Address::Tcp(_)) => Listener::Tcp(owned.into()),
        (libc::AF_UNIX, Address::Unix(_)) => Listener::Unix(owned.into()),
        _ => {
            return Err(Error::config(format!(
                "listen.{name}: the socket passed as `{name}` (fd {fd}) by {} is not of the kind configured ({address:?})",
                giver()
            )));
        }
    };
    tracing::info!(
        "listener `{name}`: taken from {} (fd {fd}) instead of binding {address:?}",
        giver()
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
    let mut named = HashMap::with_capacity(config.listen.len());
    for (name, text) in &config.listen {
        let address = Address::parse(name, text)?;
        let listener = match inherited::take(&format!("listen.{name}")) {
            Some((fd, owned)) => adopt(name, fd, owned, &address)?,
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
