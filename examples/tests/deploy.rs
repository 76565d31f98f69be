//! The `metrics_server` example run with what `deploy/metrics_server.service` grants, read from
//! the unit itself: its user (uid 65534 when the tests run as root, as in CI), `UMask=`, no new
//! privileges, an environment holding only the unit's `Environment=` lines and what systemd
//! adds, and a filesystem where only the `RuntimeDirectory=`, `StateDirectory=` and
//! `LogsDirectory=` directories belong to the service. systemd itself is played by a notify
//! socket; `ExecReload=` and `KillSignal=` are carried out as written.
//!
//! What this cannot reproduce without systemd: the mount namespace (`ProtectSystem=strict`) and
//! the seccomp filter. `.ci/deploy-check` checks the unit's syntax and exposure with
//! `systemd-analyze`; this test checks that the daemon needs nothing the unit withholds: every
//! file it creates is inside the directories granted to it.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use tests::systemd::FakeSystemd;
use tests::{Exit, Process, http_get, scratch_dir, wait_for_file_containing};

/// The `[Service]` settings of a unit file, in order; a key set twice keeps both values.
struct Unit {
    settings: Vec<(String, String)>,
}

impl Unit {
    fn read(path: &str) -> Self {
        let text = std::fs::read_to_string(path).unwrap();
        let settings = text
            .lines()
            .skip_while(|line| *line != "[Service]")
            .skip(1)
            .take_while(|line| !line.starts_with('['))
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        Self { settings }
    }

    fn all(&self, key: &str) -> Vec<&str> {
        self.settings
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, key: &str) -> &str {
        match self.all(key)[..] {
            [value] => value,
            ref values => panic!("the unit sets {key} {} times", values.len()),
        }
    }
}

/// A directory tree standing in for `/`, with systemd's specifiers resolved inside it.
struct FakeRoot {
    root: PathBuf,
}

impl FakeRoot {
    fn path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    /// `%t` (runtime), `%S` (state), `%L` (logs) as a system service sees them.
    fn resolve(&self, value: &str) -> String {
        [("%t", "/run"), ("%S", "/var/lib"), ("%L", "/var/log")]
            .iter()
            .fold(value.to_owned(), |value, (specifier, dir)| {
                value.replace(specifier, &self.path(dir).display().to_string())
            })
    }

    /// A directory owned by `uid`, as systemd creates `*Directory=` (mode 0755, its default).
    fn grant(&self, absolute: &str, uid: u32) -> PathBuf {
        let dir = self.path(absolute);
        std::fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::chown(&dir, Some(uid), Some(uid)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }
}

/// Every file under `dir` owned by `uid`.
fn owned_by(dir: &Path, uid: u32) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.uid() == uid {
            found.push(path.clone());
        }
        if meta.is_dir() {
            found.extend(owned_by(&path, uid));
        }
    }
    found
}

#[test]
#[allow(clippy::too_many_lines)] // one deployment, followed from start to stop
fn metrics_server_does_its_duties_with_only_what_the_unit_grants() {
    let root_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let unit = Unit::read(&format!("{root_dir}/deploy/metrics_server.service"));
    let as_root = tests::runs_as_root("running the daemon as the unit's own user");
    // SAFETY: geteuid has no preconditions.
    let uid = if as_root {
        65_534
    } else {
        unsafe { libc::geteuid() }
    };
    let fake = FakeRoot {
        root: scratch_dir("deploy-unit"),
    };
    std::fs::set_permissions(&fake.root, std::fs::Permissions::from_mode(0o755)).unwrap();

    // Installed as the unit's header says: the binary, and the configuration readable by all
    // but owned by root. The admin port is the kernel's choice, so that tests run side by side.
    let exec_start: Vec<&str> = unit.one("ExecStart").split_whitespace().collect();
    let binary = fake.path(exec_start[0]);
    std::fs::create_dir_all(binary.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_metrics_server"), &binary).unwrap();
    let config_dir = fake.path(&format!("/etc/{}", unit.one("ConfigurationDirectory")));
    std::fs::create_dir_all(&config_dir).unwrap();
    let config = std::fs::read_to_string(format!("{root_dir}/examples/metrics_server.toml"))
        .unwrap()
        .replace("bind = \"127.0.0.1:9090\"", "bind = \"127.0.0.1:0\"");
    std::fs::write(config_dir.join("daemon.toml"), &config).unwrap();
    for dir in ["/etc", "/usr", "/usr/local", "/usr/local/bin"] {
        std::fs::set_permissions(fake.path(dir), std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    // What systemd creates for the service, and tells it in the environment.
    let runtime = fake.grant(&format!("/run/{}", unit.one("RuntimeDirectory")), uid);
    let state = fake.grant(&format!("/var/lib/{}", unit.one("StateDirectory")), uid);
    let logs = fake.grant(&format!("/var/log/{}", unit.one("LogsDirectory")), uid);
    let (mut systemd, notify_socket) = FakeSystemd::bind("deploy-unit-notify");
    std::fs::set_permissions(&notify_socket, std::fs::Permissions::from_mode(0o777)).unwrap();
    let watchdog_usec = unit
        .one("WatchdogSec")
        .trim_end_matches('s')
        .parse::<u64>()
        .unwrap()
        * 1_000_000;
    let mut environment: HashMap<String, String> = unit
        .all("Environment")
        .iter()
        .map(|assignment| {
            let (key, value) = assignment.split_once('=').unwrap();
            (key.to_owned(), fake.resolve(value))
        })
        .collect();
    for (key, value) in [
        ("RUNTIME_DIRECTORY", runtime.display().to_string()),
        ("STATE_DIRECTORY", state.display().to_string()),
        ("LOGS_DIRECTORY", logs.display().to_string()),
        ("CONFIGURATION_DIRECTORY", config_dir.display().to_string()),
        ("NOTIFY_SOCKET", notify_socket.clone()),
        ("WATCHDOG_USEC", watchdog_usec.to_string()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
    ] {
        environment.insert(key.to_owned(), value);
    }
    let umask = u32::from_str_radix(unit.one("UMask"), 8).unwrap();
    assert_eq!(unit.one("NoNewPrivileges"), "yes");
    let service = |args: &[String]| {
        let mut command = Command::new(&binary);
        command
            .args(args)
            .env_clear()
            .envs(&environment)
            .current_dir("/")
            .uid(uid)
            .gid(uid);
        // SAFETY: umask and prctl are async-signal-safe and touch only the child.
        unsafe {
            command.pre_exec(move || {
                libc::umask(umask as libc::mode_t);
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        command
    };
    let args: Vec<String> = exec_start[1..]
        .iter()
        .map(|arg| {
            if arg.starts_with("/etc/") {
                fake.path(arg).display().to_string()
            } else {
                (*arg).to_owned()
            }
        })
        .collect();
    let mut daemon = Process::spawn(service(&args));

    // Ready, by the notify protocol, as Type=notify waits for.
    let ready = systemd.next_event(&mut daemon);
    assert!(ready.starts_with("READY=1\n"), "{ready}");
    let pid = daemon.pid();

    // The PID file, in the runtime directory, private to the service (UMask=0077).
    let pid_file = PathBuf::from(&environment["DAEMON_PID_FILE"]);
    assert!(pid_file.starts_with(&runtime), "{}", pid_file.display());
    assert_eq!(
        std::fs::read_to_string(&pid_file).unwrap().trim(),
        pid.to_string()
    );
    let meta = std::fs::metadata(&pid_file).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o077), (uid, 0));

    // The log file, in the logs directory.
    let log_file = PathBuf::from(&environment["DAEMON_LOGGING_FILE"]);
    assert!(log_file.starts_with(&logs), "{}", log_file.display());
    let log = wait_for_file_containing(&log_file, "admin endpoint listening on http://");
    let address = log
        .lines()
        .find_map(|line| line.split("admin endpoint listening on http://").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    wait_for_file_containing(&log_file, "all 1 subsystem(s) are running");
    let (code, _) = http_get(&address, "/readyz");
    assert_eq!(code, 200, "{log}");

    // The control socket, in the runtime directory, answers `ctl status` from the same user.
    let socket = PathBuf::from(&environment["DAEMON_IPC_SOCKET"]);
    assert!(socket.starts_with(&runtime), "{}", socket.display());
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (uid, 0o600));
    let status = service(&["ctl".to_owned(), "status".to_owned()])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("\"worker\""), "{status}");

    // ExecReload= as written, with $MAINPID: RELOADING=1, then READY=1 again.
    let reload = unit.one("ExecReload").replace("$MAINPID", &pid.to_string());
    let reload: Vec<&str> = reload.split_whitespace().collect();
    assert!(
        Command::new(reload[0])
            .args(&reload[1..])
            .status()
            .unwrap()
            .success()
    );
    assert!(
        systemd.next_event(&mut daemon).starts_with("RELOADING=1"),
        "{:?}",
        systemd.seen
    );
    let ready = systemd.next_event(&mut daemon);
    assert!(ready.starts_with("READY=1\n"), "{ready}");

    // KillSignal= ends it cleanly, and it cleans up after itself.
    let signal = match unit.one("KillSignal") {
        "SIGTERM" => libc::SIGTERM,
        other => panic!("the test does not know {other}"),
    };
    daemon.signal(signal);
    let stopping = systemd.next_event(&mut daemon);
    assert!(stopping.starts_with("STOPPING=1"), "{stopping}");
    daemon.expect_exit(Exit::Code(0));
    assert!(!pid_file.exists() && !socket.exists());

    // Nothing it made lies outside what the unit grants, and the configuration is untouched.
    let granted = [&runtime, &state, &logs];
    for path in owned_by(&fake.root, uid) {
        assert!(
            granted.iter().any(|dir| path.starts_with(dir)),
            "the daemon made {} outside its directories",
            path.display()
        );
    }
    assert_eq!(
        std::fs::read_to_string(config_dir.join("daemon.toml")).unwrap(),
        config
    );
}
