//! `[process] umask`, `working_directory`, `user` and `group`: the classic duties of a daemon
//! started as root — open what needs root (the PID file, the log file), then drop to an
//! unprivileged user before any application code runs, and make sure it cannot climb back.

use std::ffi::{CStr, CString};
use std::path::Path;

use crate::{Config, Error, Result};

/// `"0027"` → `0o027`: at most `0777`, octal digits only.
pub(crate) fn parse_umask(text: &str) -> Result<libc::mode_t> {
    let digits = text.trim();
    match u32::from_str_radix(digits, 8) {
        Ok(mask) if !digits.is_empty() && digits.len() <= 4 && mask <= 0o777 =>
        {
            #[allow(clippy::useless_conversion, clippy::cast_possible_truncation)]
            Ok(mask as libc::mode_t)
        }
        _ => Err(Error::config(format!(
            "process.umask: {text:?} is not a file-mode mask; write it in octal, like \"0027\""
        ))),
    }
}

/// Sets the umask and changes to the working directory, as configured.
pub(crate) fn apply_umask_and_directory(config: &Config) -> Result<()> {
    if let Some(umask) = &config.process.umask {
        let mask = parse_umask(umask)?;
        // SAFETY: umask has no preconditions.
        unsafe { libc::umask(mask) };
    }
    if let Some(directory) = &config.process.working_directory {
        std::env::set_current_dir(directory).map_err(|err| {
            Error::config(format!(
                "process.working_directory: cannot change to {}: {err}",
                directory.display()
            ))
        })?;
    }
    Ok(())
}

/// A user or group to become: its id, and the user's name and primary group.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    uid: Option<libc::uid_t>,
    gid: libc::gid_t,
}

/// Drops to `process.user` / `process.group`: supplementary groups, then the group, then the
/// user; then checks that root cannot be regained. Nothing to do when the process already is
/// that user and group (a second call, or a daemon started as its own user).
pub(crate) fn drop_privileges(config: &Config) -> Result<()> {
    let process = &config.process;
    if process.user.is_none() && process.group.is_none() {
        return Ok(());
    }
    let target = resolve(process.user.as_deref(), process.group.as_deref())?;
    // SAFETY: these getters have no preconditions.
    let (uid, euid, gid, egid) = unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        )
    };
    let uid_done = target
        .uid
        .is_none_or(|wanted| uid == wanted && euid == wanted);
    if uid_done && gid == target.gid && egid == target.gid {
        return Ok(());
    }
    if euid != 0 {
        return Err(Error::config(format!(
            "{}: changing user or group needs the daemon to start as root; it runs as uid {euid}, gid {egid}",
            describe(process.user.as_deref(), process.group.as_deref())
        )));
    }
    let fail = |step: &str| {
        Error::config(format!(
            "{}: {step} failed: {}",
            describe(process.user.as_deref(), process.group.as_deref()),
            std::io::Error::last_os_error()
        ))
    };
    let groups = [target.gid];
    // SAFETY: one gid from a live array; `setgroups`' length type differs by platform.
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    if unsafe { libc::setgroups(groups.len() as _, groups.as_ptr()) } != 0 {
        return Err(fail("setgroups"));
    }
    // SAFETY: plain system calls on ids.
    if unsafe { libc::setgid(target.gid) } != 0 {
        return Err(fail("setgid"));
    }
    if let Some(wanted) = target.uid {
        // SAFETY: as above.
        if unsafe { libc::setuid(wanted) } != 0 {
            return Err(fail("setuid"));
        }
        // SAFETY: as above. Success here would mean root is still within reach.
        if wanted != 0 && unsafe { libc::setuid(0) } == 0 {
            return Err(Error::config(format!(
                "process.user = {:?}: after dropping to uid {wanted} the process could become root again; refusing to run",
                process.user.as_deref().unwrap_or_default()
            )));
        }
    }
    tracing::info!(
        "dropped privileges: running as {} (uid {}, gid {}), no supplementary groups",
        describe(process.user.as_deref(), process.group.as_deref()),
        target.uid.unwrap_or(uid),
        target.gid
    );
    Ok(())
}

fn describe(user: Option<&str>, group: Option<&str>) -> String {
    match (user, group) {
        (Some(user), Some(group)) => format!("process.user = {user:?}, process.group = {group:?}"),
        (Some(user), None) => format!("process.user = {user:?}"),
        (None, Some(group)) => format!("process.group = {group:?}"),
        (None, None) => String::new(),
    }
}

/// Looks the user and group up in the system's databases.
fn resolve(user: Option<&str>, group: Option<&str>) -> Result<Target> {
    let user_entry = user.map(lookup_user).transpose()?;
    let gid = match group {
        Some(name) => lookup_group(name)?,
        None => match &user_entry {
            Some((_, primary)) => *primary,
            // SAFETY: no preconditions.
            None => unsafe { libc::getgid() },
        },
    };
    Ok(Target {
        uid: user_entry.map(|(uid, _)| uid),
        gid,
    })
}

/// Runs a `get*nam_r` call with a growing buffer until it fits; `Ok(None)` for no such name.
fn lookup<T>(
    name: &str,
    what: &str,
    call: impl Fn(&CStr, &mut [libc::c_char]) -> (libc::c_int, Option<T>),
) -> Result<Option<T>> {
    let c_name = CString::new(name)
        .map_err(|_| Error::config(format!("process.{what}: {name:?} contains a NUL byte")))?;
    let mut buffer = vec![0 as libc::c_char; 1024];
    loop {
        match call(&c_name, &mut buffer) {
            (0, found) => return Ok(found),
            (libc::ERANGE, _) if buffer.len() < 1 << 20 => {
                let grown = buffer.len() * 4;
                buffer.resize(grown, 0);
            }
            (code, _) => {
                return Err(Error::config(format!(
                    "process.{what}: cannot look up {name:?}: {}",
                    std::io::Error::from_raw_os_error(code)
                )));
            }
        }
    }
}

/// The uid and primary gid of the user `name`.
fn lookup_user(name: &str) -> Result<(libc::uid_t, libc::gid_t)> {
    lookup(name, "user", |c_name, buffer| {
        // SAFETY: all-zero is a valid `passwd` (null pointers, zero ids) for getpwnam_r to fill.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer refers to live memory of the stated size.
        let code = unsafe {
            libc::getpwnam_r(
                c_name.as_ptr(),
                &raw mut entry,
                buffer.as_mut_ptr(),
                buffer.len(),
                &raw mut found,
            )
        };
        (
            code,
            (!found.is_null()).then_some((entry.pw_uid, entry.pw_gid)),
        )
    })?
    .ok_or_else(|| {
        Error::config(format!(
            "process.user: there is no user named {name:?} on this system"
        ))
    })
}

/// The gid of the group `name`.
fn lookup_group(name: &str) -> Result<libc::gid_t> {
    lookup(name, "group", |c_name, buffer| {
        // SAFETY: all-zero is a valid `group` for getgrnam_r to fill.
        let mut entry: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer refers to live memory of the stated size.
        let code = unsafe {
            libc::getgrnam_r(
                c_name.as_ptr(),
                &raw mut entry,
                buffer.as_mut_ptr(),
                buffer.len(),
                &raw mut found,
            )
        };
        (code, (!found.is_null()).then_some(entry.gr_gid))
    })?
    .ok_or_else(|| {
        Error::config(format!(
            "process.group: there is no group named {name:?} on this system"
        ))
    })
}

/// The configuration file as an absolute path, so that reloads still find it after the
/// working directory changed.
pub(crate) fn absolute(path: &Path) -> std::path::PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn umasks_are_octal_and_at_most_0777() {
        assert_eq!(parse_umask("0027").unwrap(), 0o027);
        assert_eq!(parse_umask("077").unwrap(), 0o077);
        for bad in ["", "8", "0o27", "1777", "00777x", "-1"] {
            assert_eq!(
                parse_umask(bad).unwrap_err().to_string(),
                format!(
                    "invalid configuration: process.umask: {bad:?} is not a file-mode mask; write it in octal, like \"0027\""
                ),
            );
        }
    }

    #[test]
    fn users_and_groups_are_looked_up() {
        assert_eq!(lookup_user("root").unwrap(), (0, 0));
        assert_eq!(lookup_group("root").unwrap(), 0);
        assert_eq!(
            lookup_user("no-such-user-here").unwrap_err().to_string(),
            "invalid configuration: process.user: there is no user named \"no-such-user-here\" on this system"
        );
        assert_eq!(
            lookup_group("no-such-group-here").unwrap_err().to_string(),
            "invalid configuration: process.group: there is no group named \"no-such-group-here\" on this system"
        );
    }

    #[test]
    fn nothing_is_done_without_user_or_group() {
        drop_privileges(&Config::default()).unwrap();
    }
}
