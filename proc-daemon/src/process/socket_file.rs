//! Unix socket files made safely, for a daemon that may run as root beside local users: the
//! socket gets its mode before it appears at its path (it is bound in a private directory,
//! given mode 0600 there and renamed into place), its directory must not let other users
//! replace it, and either end can ask who is at the other end.

use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

/// Refuses a directory in which another user could replace our socket: one that others may
/// write to, unless it is sticky (`/tmp`), where only a file's owner may rename or remove it.
pub(crate) fn check_directory(dir: &Path) -> Result<(), String> {
    let meta =
        std::fs::metadata(dir).map_err(|err| format!("directory {}: {err}", dir.display()))?;
    let mode = meta.permissions().mode();
    let others_write = mode & 0o022 != 0;
    let sticky = mode & 0o1000 != 0;
    if others_write && !sticky {
        return Err(format!(
            "directory {} (mode {:o}) is writable by other users and not sticky, so they could \
             replace the socket; use a directory only this user can write, such as the \
             service's RuntimeDirectory",
            dir.display(),
            mode & 0o7777
        ));
    }
    Ok(())
}

/// Makes `dir` a private directory of this user (mode 0700), or checks that it is one: owned by
/// this user, reachable by no one else, and not a symbolic link.
pub(crate) fn ensure_private_directory(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => return Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(err) => return Err(format!("cannot create directory {}: {err}", dir.display())),
    }
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|err| format!("directory {}: {err}", dir.display()))?;
    // SAFETY: geteuid has no preconditions.
    let own = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != own || meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} is not a private directory of uid {own} (it is {}, owned by uid {}, mode {:o}); \
             someone else may have made it: remove it, or set ipc.socket",
            dir.display(),
            if meta.file_type().is_symlink() {
                "a symbolic link"
            } else if meta.is_dir() {
                "a directory"
            } else {
                "not a directory"
            },
            meta.uid(),
            meta.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Binds a listening socket at `path` with mode 0600 from the instant it exists there.
pub(crate) fn bind_private(path: &Path) -> std::io::Result<UnixListener> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the socket path has no file name"))?;
    let private: PathBuf = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    // Left behind by a crash of this very pid number: ours to remove.
    let _ = std::fs::remove_dir_all(&private);
    std::fs::DirBuilder::new().mode(0o700).create(&private)?;
    let staged = private.join("socket");
    let bound = (|| {
        let listener = UnixListener::bind(&staged)?;
        // By path, but inside a 0700 directory of ours: nobody else can swap it.
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&staged, path)?;
        Ok(listener)
    })();
    let _ = std::fs::remove_file(&staged);
    let _ = std::fs::remove_dir(&private);
    bound
}

/// The uid of the process at the other end of a connected Unix socket (`SO_PEERCRED`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn peer_uid(socket: &impl AsRawFd) -> std::io::Result<u32> {
    let mut credentials = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut length = libc::socklen_t::try_from(std::mem::size_of::<libc::ucred>())
        .expect("ucred fits a socklen_t");
    // SAFETY: getsockopt with a valid fd, a buffer of `length` bytes and its length.
    let result = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut credentials).cast(),
            &raw mut length,
        )
    };
    if result != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(credentials.uid)
}

/// The uid of the process at the other end of a connected Unix socket (`getpeereid(3)`, the
/// BSDs' and macOS's form of `SO_PEERCRED`).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn peer_uid(socket: &impl AsRawFd) -> std::io::Result<u32> {
    let (mut uid, mut gid) = (0, 0);
    // SAFETY: getpeereid with a valid fd and two out-parameters.
    if unsafe { libc::getpeereid(socket.as_raw_fd(), &raw mut uid, &raw mut gid) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(uid)
}

/// Whether `uid` may be trusted at the other end: this process's own user, or root.
pub(crate) fn trusted(uid: u32) -> bool {
    // SAFETY: geteuid has no preconditions.
    uid == 0 || uid == unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt as _;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("proc-daemon-sock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_socket_appears_with_mode_0600_and_nothing_is_left_beside_it() {
        let dir = scratch("bind");
        let path = dir.join("d.sock");
        let listener = bind_private(&path).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        let entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries, ["d.sock"]);
        // It is the listening socket: a client connects and is seen as this user.
        let client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let (server_side, _) = listener.accept().unwrap();
        assert!(trusted(peer_uid(&server_side).unwrap()));
        assert!(trusted(peer_uid(&client).unwrap()));
    }

    #[test]
    fn a_directory_others_can_write_is_refused_unless_sticky() {
        let dir = scratch("modes");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_directory(&dir).unwrap_err();
        assert!(
            err.contains("(mode 777) is writable by other users and not sticky"),
            "{err}"
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(check_directory(&dir), Ok(()));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(check_directory(&dir), Ok(()));
    }
}
