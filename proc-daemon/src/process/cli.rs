//! The command line every `#[daemon]` binary understands (unless `cli = false`). Arguments it
//! does not know, and everything after `--`, are left to the application.

use std::ffi::OsString;
use std::path::PathBuf;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// Run the daemon.
    Run,
    /// Load and validate the configuration, report, exit.
    CheckConfig,
    /// Print the effective configuration with the origin of each value, exit.
    PrintConfig,
    /// Print usage.
    Help,
    /// Print the version.
    Version,
    /// Send a command to the running daemon's control socket and print the answer.
    Ctl(String),
}

/// The parsed command line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Cli {
    pub(crate) command: Command,
    pub(crate) config: Option<PathBuf>,
}

/// Parses the arguments after the program name.
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, String> {
    let mut cli = Cli {
        command: Command::Run,
        config: None,
    };
    let mut args = args.into_iter().peekable();
    // `ctl <command>` only as the first argument, so application arguments stay theirs.
    if args.peek().and_then(|a| a.to_str()) == Some("ctl") {
        args.next();
        let mut command = args
            .next()
            .and_then(|c| c.into_string().ok())
            .ok_or_else(|| {
                "ctl needs a command: status, health, reload, upgrade, stop or stop-subsystem NAME"
                    .to_owned()
            })?;
        if command == "stop-subsystem" {
            let name = args
                .next()
                .and_then(|name| name.into_string().ok())
                .filter(|name| !name.starts_with('-'))
                .ok_or_else(|| "ctl stop-subsystem needs a subsystem's name".to_owned())?;
            command = format!("stop-subsystem {name}");
        }
        cli.command = Command::Ctl(command);
    }
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else { continue };
        match text {
            "--" => break,
            "--help" | "-h" => cli.command = Command::Help,
            "--version" | "-V" => cli.command = Command::Version,
            "--check-config" => cli.command = Command::CheckConfig,
            "--print-config" => cli.command = Command::PrintConfig,
            "--config" => {
                let path = args.next().ok_or_else(|| {
                    "--config needs a path: --config /etc/my-daemon.toml".to_owned()
                })?;
                cli.config = Some(PathBuf::from(path));
            }
            _ => {
                if let Some(path) = text.strip_prefix("--config=") {
                    if path.is_empty() {
                        return Err(
                            "--config= needs a path: --config=/etc/my-daemon.toml".to_owned()
                        );
                    }
                    cli.config = Some(PathBuf::from(path));
                }
            }
        }
    }
    Ok(cli)
}

/// The `--help` text (`ctl` only where the control socket is built in).
pub(crate) fn usage(name: &str, env_prefix: &str) -> String {
    let ctl = if cfg!(feature = "ipc") {
        format!(
            "       {name} ctl status|health|reload|upgrade|stop|stop-subsystem NAME [--config PATH]\n"
        )
    } else {
        String::new()
    };
    format!(
        "{name}\n\n\
         Usage: {name} [OPTIONS] [-- APPLICATION ARGUMENTS]\n{ctl}\n\
         Options:\n  \
           --config PATH    read the configuration from PATH (also: {env_prefix}_CONFIG)\n  \
           --check-config   validate the configuration, print the result, exit 0 or 78\n  \
           --print-config   print the effective configuration, each value with its origin\n  \
           -h, --help       print this help\n  \
           -V, --version    print the version\n\n\
         Every configuration key can be overridden with {env_prefix}_<SECTION>_<KEY>,\n\
         e.g. {env_prefix}_LOGGING_LEVEL=debug or {env_prefix}_SHUTDOWN_TIMEOUT_MS=10000.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_offers_ctl_only_with_the_control_socket() {
        let help = usage("shop", "SHOP");
        assert_eq!(
            help.contains("shop ctl status"),
            cfg!(feature = "ipc"),
            "{help}"
        );
        assert!(
            help.contains("SHOP_CONFIG") && help.contains("--check-config"),
            "{help}"
        );
    }

    fn parse_strs(args: &[&str]) -> Result<Cli, String> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn config_in_both_spellings() {
        assert_eq!(
            parse_strs(&["--config", "a.toml"]).unwrap().config,
            Some("a.toml".into())
        );
        assert_eq!(
            parse_strs(&["--config=b.toml"]).unwrap().config,
            Some("b.toml".into())
        );
    }

    #[test]
    fn ctl_takes_the_next_argument_as_its_command() {
        let cli = parse_strs(&["ctl", "status", "--config", "d.toml"]).unwrap();
        assert_eq!(cli.command, Command::Ctl("status".into()));
        assert_eq!(cli.config, Some("d.toml".into()));
        assert_eq!(
            parse_strs(&["ctl"]).unwrap_err(),
            "ctl needs a command: status, health, reload, upgrade, stop or stop-subsystem NAME"
        );
        let cli = parse_strs(&["ctl", "stop-subsystem", "tenant-7", "--config", "d.toml"]).unwrap();
        assert_eq!(
            cli.command,
            Command::Ctl("stop-subsystem tenant-7".to_owned())
        );
        assert_eq!(cli.config, Some(PathBuf::from("d.toml")));
        assert_eq!(
            parse_strs(&["ctl", "stop-subsystem", "--config", "d.toml"]).unwrap_err(),
            "ctl stop-subsystem needs a subsystem's name"
        );
        // Not first: an application argument.
        assert_eq!(parse_strs(&["x", "ctl"]).unwrap().command, Command::Run);
    }

    #[test]
    fn commands() {
        assert_eq!(parse_strs(&[]).unwrap().command, Command::Run);
        assert_eq!(
            parse_strs(&["--check-config"]).unwrap().command,
            Command::CheckConfig
        );
        assert_eq!(parse_strs(&["-h"]).unwrap().command, Command::Help);
        assert_eq!(
            parse_strs(&["--version"]).unwrap().command,
            Command::Version
        );
    }

    #[test]
    fn application_arguments_are_left_alone() {
        let cli = parse_strs(&["--port", "80", "--", "--config", "x", "--help"]).unwrap();
        assert_eq!(
            cli,
            Cli {
                command: Command::Run,
                config: None
            }
        );
    }

    #[test]
    fn a_missing_path_is_an_error() {
        assert_eq!(
            parse_strs(&["--config"]).unwrap_err(),
            "--config needs a path: --config /etc/my-daemon.toml"
        );
        assert!(parse_strs(&["--config="]).is_err());
    }
}
