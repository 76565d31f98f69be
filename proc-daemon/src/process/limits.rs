//! `[process] max_open_files`: the descriptor limit, raised at start before the set-up body
//! opens its listeners.

use crate::{Config, Error, Result};

/// Raises the soft `RLIMIT_NOFILE` to `process.max_open_files`, and the hard limit with it
/// where the process may. Idempotent: a limit already as high is left alone.
pub(crate) fn apply(config: &Config) -> Result<()> {
    let Some(wanted) = config.process.max_open_files else {
        return Ok(());
    };
    let (soft, hard) = open_files_limit()?;
    if soft >= wanted {
        return Ok(());
    }
    match set_open_files_limit(wanted, hard.max(wanted)) {
        Ok(()) => {
            tracing::info!(
                "process.max_open_files: raised the open-file limit from {soft} to {wanted}"
            );
            Ok(())
        }
        Err(err) if wanted > hard => Err(Error::config(format!(
            "process.max_open_files ({wanted}) is above this process's hard limit of {hard} open files, which it may not raise ({err}); raise the hard limit where the daemon is started (systemd: LimitNOFILE={wanted})"
        ))),
        Err(err) => Err(Error::from(err)),
    }
}

/// (soft, hard); unlimited as `u64::MAX`.
fn open_files_limit() -> std::io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // `rlim_t` is `u64` on Linux and macOS but `i64` on FreeBSD: hence the conversions.
    #[allow(clippy::useless_conversion)]
    let widen = |value: libc::rlim_t| {
        if value == libc::RLIM_INFINITY {
            u64::MAX
        } else {
            u64::try_from(value).unwrap_or(u64::MAX)
        }
    };
    Ok((widen(limit.rlim_cur), widen(limit.rlim_max)))
}

fn set_open_files_limit(soft: u64, hard: u64) -> std::io::Result<()> {
    #[allow(clippy::useless_conversion)]
    let narrow = |value: u64| {
        if value == u64::MAX {
            libc::RLIM_INFINITY
        } else {
            libc::rlim_t::try_from(value).unwrap_or(libc::RLIM_INFINITY)
        }
    };
    let limit = libc::rlimit {
        rlim_cur: narrow(soft),
        rlim_max: narrow(hard),
    };
    // SAFETY: setrlimit reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_already_high_enough_is_left_alone() {
        let (soft, hard) = open_files_limit().unwrap();
        let mut config = Config::default();
        config.process.max_open_files = Some(soft.min(1));
        apply(&config).unwrap();
        assert_eq!(open_files_limit().unwrap(), (soft, hard));
    }
}
