//! A corpus of bad configurations: each must exit 78 (EX_CONFIG) before anything starts, with a
//! message that names the place (file:line:column and key, or the variable) and what was
//! expected. None may panic.

use tests::{Exit, Process, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

/// (case, file contents, environment, expected parts of the message). `{file}` stands for the
/// config file's path.
type Case = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

const CASES: &[Case] = &[
    // Malformed TOML.
    (
        "unclosed section",
        "[shutdown\ntimeout_ms = 1\n",
        &[],
        &["{file}:1:10"],
    ),
    ("unclosed string", "name = \"abc\n", &[], &["{file}:1:"]),
    ("missing value", "name =\n", &[], &["{file}:1:"]),
    ("bare word value", "name = abc\n", &[], &["{file}:1:8"]),
    (
        "duplicate key",
        "name = \"a\"\nname = \"b\"\n",
        &[],
        &["{file}:2:1", "duplicate key"],
    ),
    (
        "duplicate section",
        "[shutdown]\n[shutdown]\n",
        &[],
        &["{file}:2:"],
    ),
    (
        "garbage",
        "\u{1}\u{2}\u{3}",
        &[],
        &["{file}:1:4", "key with no value"],
    ),
    (
        "unterminated array",
        "[app]\nlist = [1, 2\n",
        &[],
        &["{file}:"],
    ),
    // Wrong types.
    (
        "timeout as string",
        "[shutdown]\ntimeout_ms = \"abc\"\n",
        &[],
        &[
            "{file}:2:14",
            "shutdown.timeout_ms",
            "invalid type: string \"abc\", expected a non-negative integer",
        ],
    ),
    (
        "timeout negative",
        "[shutdown]\ntimeout_ms = -5\n",
        &[],
        &["{file}:2:14", "shutdown.timeout_ms"],
    ),
    (
        "timeout float",
        "[shutdown]\ntimeout_ms = 1.5\n",
        &[],
        &[
            "{file}:2:14",
            "shutdown.timeout_ms",
            "invalid type: floating point",
        ],
    ),
    (
        "threads as bool",
        "[performance]\nworker_threads = true\n",
        &[],
        &[
            "{file}:2:18",
            "performance.worker_threads",
            "invalid type: boolean",
        ],
    ),
    (
        "json as string",
        "[logging]\njson = \"yes\"\n",
        &[],
        &["{file}:2:8", "logging.json", "expected a boolean"],
    ),
    (
        "color as number",
        "[logging]\ncolor = 1\n",
        &[],
        &["{file}:2:9", "logging.color"],
    ),
    (
        "name as number",
        "name = 5\n",
        &[],
        &["{file}:1:8", "name", "invalid type: integer"],
    ),
    (
        "pid file as number",
        "pid_file = 5\n",
        &[],
        &["{file}:1:12", "pid_file"],
    ),
    (
        "hot reload as string",
        "hot_reload = \"on\"\n",
        &[],
        &["{file}:1:14", "hot_reload"],
    ),
    (
        "section as value",
        "shutdown = 5\n",
        &[],
        &["{file}:1:12", "shutdown", "invalid type: integer"],
    ),
    (
        "checks as string",
        "[monitoring]\nhealth_checks = \"no\"\n",
        &[],
        &["{file}:2:17", "monitoring.health_checks"],
    ),
    ("app as value", "app = 3\n", &[], &["{file}:1:7", "app"]),
    // Unknown keys and sections.
    (
        "misspelt key",
        "[shutdown]\ntimout_ms = 5\n",
        &[],
        &[
            "{file}:2:1",
            "unknown field `timout_ms`",
            "did you mean `timeout_ms`?",
        ],
    ),
    (
        "misspelt section",
        "[loging]\nlevel = \"info\"\n",
        &[],
        &[
            "{file}:1:2",
            "unknown field `loging`",
            "did you mean `logging`?",
        ],
    ),
    (
        "unknown top-level key",
        "colour = \"blue\"\n",
        &[],
        &["{file}:1:1", "unknown field `colour`"],
    ),
    (
        "unknown section",
        "[database]\nurl = \"x\"\n",
        &[],
        &["{file}:1:2", "unknown field `database`"],
    ),
    (
        "misspelt monitoring key",
        "[monitoring]\nhealth_check_interval = 5\n",
        &[],
        &["{file}:2:1", "did you mean `health_check_interval_ms`?"],
    ),
    // Out-of-range and contradictory values.
    (
        "zero timeout",
        "[shutdown]\ntimeout_ms = 0\n",
        &[],
        &["shutdown.timeout_ms must be greater than 0"],
    ),
    (
        "force before timeout",
        "[shutdown]\ntimeout_ms = 5000\nforce_timeout_ms = 1000\n",
        &[],
        &["shutdown.force_timeout_ms (1000) must be >= shutdown.timeout_ms (5000)"],
    ),
    (
        "kill before force",
        "[shutdown]\nkill_timeout_ms = 9000\n",
        &[],
        &["shutdown.kill_timeout_ms (9000) must be >= shutdown.force_timeout_ms (10000)"],
    ),
    (
        "too many threads",
        "[performance]\nworker_threads = 100000\n",
        &[],
        &["performance.worker_threads (100000) must be at most 1024"],
    ),
    (
        "threads overflow",
        "[performance]\nworker_threads = 99999999999999999999\n",
        &[],
        &["{file}:2:18"],
    ),
    (
        "nice out of range",
        "[performance]\nnice = -21\n",
        &[],
        &["performance.nice (-21) must be between -20 and 19"],
    ),
    (
        "cpu out of range",
        "[performance]\ncpu_affinity = [0, 4096]\n",
        &[],
        &["performance.cpu_affinity: CPU 4096 is out of range (at most 1023)"],
    ),
    (
        "cpu list as a string",
        "[performance]\ncpu_affinity = \"0-3\"\n",
        &[],
        &["{file}:2:16", "performance.cpu_affinity"],
    ),
    (
        "env cpu list",
        "",
        &[("DAEMON_PERFORMANCE_CPU_AFFINITY", "0,x")],
        &[
            "DAEMON_PERFORMANCE_CPU_AFFINITY=\"0,x\": performance.cpu_affinity: expected CPU numbers and ranges like \"0,2,4-7\"",
        ],
    ),
    (
        "env nice",
        "",
        &[("DAEMON_PERFORMANCE_NICE", "low")],
        &["DAEMON_PERFORMANCE_NICE=\"low\": performance.nice: expected an integer from -20 to 19"],
    ),
    (
        "ipc misspelt",
        "[ipc]\nenable = true\n",
        &[],
        &["{file}:2:1", "ipc", "enable"],
    ),
    (
        "zero health interval",
        "[monitoring]\nhealth_check_interval_ms = 0\n",
        &[],
        &["monitoring.health_check_interval_ms must be greater than 0"],
    ),
    (
        "zero health failures",
        "[monitoring]\nhealth_check_failures = 0\n",
        &[],
        &["monitoring.health_check_failures must be at least 1"],
    ),
    (
        "empty name",
        "name = \"  \"\n",
        &[],
        &["name must not be empty"],
    ),
    (
        "unknown log level",
        "[logging]\nlevel = \"loud\"\n",
        &[],
        &[
            "{file}:2:9",
            "logging.level",
            "unknown log level \"loud\", expected one of trace, debug, info, warn, error",
        ],
    ),
    (
        "bad log directives",
        "[logging]\nlevel = \"info,my_crate=loud\"\n",
        &[],
        &["{file}:2:9", "logging.level", "invalid filter directives"],
    ),
    (
        "pid file in missing directory",
        "pid_file = \"/nonexistent-proc-daemon/x.pid\"\n",
        &[],
        &[
            "pid_file = \"/nonexistent-proc-daemon/x.pid\": directory /nonexistent-proc-daemon does not exist",
        ],
    ),
    // Bad environment values.
    (
        "env level",
        "",
        &[("DAEMON_LOGGING_LEVEL", "loud")],
        &[
            "DAEMON_LOGGING_LEVEL=\"loud\": logging.level: unknown log level \"loud\", expected one of trace, debug, info, warn, error",
        ],
    ),
    (
        "env timeout",
        "",
        &[("DAEMON_SHUTDOWN_TIMEOUT_MS", "soon")],
        &[
            "DAEMON_SHUTDOWN_TIMEOUT_MS=\"soon\": shutdown.timeout_ms: expected a non-negative integer",
        ],
    ),
    (
        "env negative threads",
        "",
        &[("DAEMON_PERFORMANCE_WORKER_THREADS", "-1")],
        &[
            "DAEMON_PERFORMANCE_WORKER_THREADS=\"-1\": performance.worker_threads: expected a non-negative integer",
        ],
    ),
    (
        "env bool",
        "",
        &[("DAEMON_LOGGING_JSON", "maybe")],
        &["DAEMON_LOGGING_JSON=\"maybe\": logging.json: expected a boolean"],
    ),
    (
        "env misspelt variable",
        "",
        &[("DAEMON_SHUTDOWN_TIMOUT_MS", "5")],
        &[
            "DAEMON_SHUTDOWN_TIMOUT_MS: unknown configuration variable (did you mean DAEMON_SHUTDOWN_TIMEOUT_MS?)",
        ],
    ),
    (
        // Both set: a real contradiction (an unset force deadline would follow the timeout).
        "env contradiction",
        "",
        &[
            ("DAEMON_SHUTDOWN_TIMEOUT_MS", "20000"),
            ("DAEMON_SHUTDOWN_FORCE_TIMEOUT_MS", "10000"),
        ],
        &["shutdown.force_timeout_ms (10000) must be >= shutdown.timeout_ms (20000)"],
    ),
    (
        "env pid file directory",
        "",
        &[("DAEMON_PID_FILE", "/nonexistent-proc-daemon/y.pid")],
        &["directory /nonexistent-proc-daemon does not exist"],
    ),
    (
        "env zero health interval",
        "",
        &[("DAEMON_MONITORING_HEALTH_CHECK_INTERVAL_MS", "0")],
        &["monitoring.health_check_interval_ms must be greater than 0"],
    ),
];

fn check(case: &str, args: &[&str], env: &[(&str, &str)], expected: &[String]) {
    let mut daemon = Process::start(FIXTURE, args, env);
    let exit = daemon.wait_exit();
    let output = daemon.transcript();
    assert_eq!(exit, Exit::Code(78), "{case}: {output}");
    assert!(!output.contains("panicked"), "{case}: {output}");
    assert!(
        !output.contains("setup done"),
        "{case}: started anyway: {output}"
    );
    for part in expected {
        assert!(
            output.contains(part.as_str()),
            "{case}: expected {part:?} in:\n{output}"
        );
    }
}

#[test]
fn every_bad_configuration_exits_78_with_a_precise_message() {
    let dir = scratch_dir("bad-configs");
    assert!(CASES.len() >= 40);
    for (index, (case, text, env, expected)) in CASES.iter().enumerate() {
        let file = dir.join(format!("case-{index}.toml"));
        std::fs::write(&file, text).unwrap();
        let file_text = file.display().to_string();
        let expected: Vec<String> = expected
            .iter()
            .map(|e| e.replace("{file}", &file_text))
            .collect();
        // Checked with --check-config and by a real start (which must start nothing).
        check(
            case,
            &["idle", "--check-config", "--config", &file_text],
            env,
            &expected,
        );
        check(case, &["idle", "--config", &file_text], env, &expected);
    }
}

#[test]
fn missing_unreadable_and_directory_files_exit_78() {
    let dir = scratch_dir("bad-files");
    let missing = dir.join("missing.toml");
    check(
        "missing file",
        &["idle", "--config", missing.to_str().unwrap()],
        &[],
        &[format!(
            "{}: cannot read: No such file or directory",
            missing.display()
        )],
    );
    check(
        "directory",
        &["idle", "--config", dir.to_str().unwrap()],
        &[],
        &[format!(
            "{}: is a directory; the configuration must be a regular file",
            dir.display()
        )],
    );
    let binary = dir.join("binary.toml");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x80]).unwrap();
    check(
        "not UTF-8",
        &["idle", "--config", binary.to_str().unwrap()],
        &[],
        &[format!(
            "{}: cannot read: stream did not contain valid UTF-8",
            binary.display()
        )],
    );
    check(
        "DAEMON_CONFIG names a missing file",
        &["idle"],
        &[("DAEMON_CONFIG", missing.to_str().unwrap())],
        &[format!("{}: cannot read", missing.display())],
    );
}
