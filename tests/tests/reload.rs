//! Configuration reload against a running daemon: SIGHUP, broken edits, rapid rewrites with
//! `hot_reload`, and the live log level.

use std::io::Write;
use std::path::Path;

use tests::{Exit, Process, scratch_dir};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

fn version(n: u32, level: &str) -> String {
    format!(
        "[logging]\nlevel = \"{level}\"\n\n[shutdown]\ntimeout_ms = {}\n\n[app]\nversion = {n}\nend = {n}\n",
        1000 + n
    )
}

fn start(config: &Path, hot_reload: bool) -> Process {
    Process::start(
        FIXTURE,
        &["config-watch", "--config", config.to_str().unwrap()],
        &[(
            "DAEMON_HOT_RELOAD",
            if hot_reload { "true" } else { "false" },
        )],
    )
}

/// A daemon with `hot_reload` on `config` (written at version 0), once it watches the file.
fn start_watching(config: &Path) -> Process {
    std::fs::write(config, version(0, "info")).unwrap();
    let mut daemon = start(config, true);
    daemon.wait_for("config: version 0");
    daemon.wait_for("hot_reload: watching");
    daemon
}

/// Stops `daemon` and checks that no partial configuration was ever applied.
fn stop_with_no_partial_config(mut daemon: Process) {
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    assert_eq!(
        daemon.count("config: PARTIAL"),
        0,
        "{}",
        daemon.transcript()
    );
}

#[test]
fn sighup_applies_an_edit_and_a_broken_edit_keeps_the_old_config() {
    let dir = scratch_dir("reload-sighup");
    let config = dir.join("daemon.toml");
    std::fs::write(&config, version(1, "info")).unwrap();
    let mut daemon = start(&config, false);
    daemon.wait_for("config: version 1 timeout_ms=1001");

    std::fs::write(&config, version(2, "info")).unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_for("config: version 2 timeout_ms=1002");
    daemon.wait_for(&format!(
        "configuration reloaded from {} (SIGHUP)",
        config.display()
    ));

    std::fs::write(&config, "[shutdown]\ntimeout_ms = \"soon\"\n").unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_for(&format!(
        "configuration reload (SIGHUP) failed; keeping the previous configuration: {}:2:14: shutdown.timeout_ms",
        config.display()
    ));

    // Still serving, still on version 2: a good edit after the broken one applies.
    std::fs::write(&config, version(3, "info")).unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_for("config: version 3 timeout_ms=1003");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    assert_eq!(daemon.count("config: PARTIAL"), 0);
}

#[test]
fn the_log_level_changes_live() {
    let dir = scratch_dir("reload-level");
    let config = dir.join("daemon.toml");
    std::fs::write(&config, version(1, "info")).unwrap();
    let mut daemon = start(&config, false);
    daemon.wait_for("config: version 1");
    // Ten ticks at `info`: none of their debug lines may appear (checked once all output is in).
    daemon.wait_for("config-watch: tick 10");
    std::fs::write(&config, version(2, "debug")).unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_for("config: version 2");
    daemon.wait_for("fixture: debug tick");

    std::fs::write(&config, version(3, "info")).unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.wait_for("config: version 3");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(), Exit::Code(0));
    // Ticks 0 to 9: each was logged before `tick 10` was printed, so before the reload. Tick
    // 10's own debug line is logged just after its print and may already see the new level.
    for tick in 0..10 {
        assert_eq!(
            daemon
                .output()
                .iter()
                .filter(|line| line.ends_with(&format!("fixture: debug tick {tick}")))
                .count(),
            0,
            "tick {tick} logged at debug while the level was info:\n{}",
            daemon.transcript()
        );
    }
}

#[test]
fn rapid_rewrites_never_apply_a_partial_config_and_end_on_the_last() {
    let dir = scratch_dir("reload-rapid");
    let config = dir.join("daemon.toml");
    let mut daemon = start_watching(&config);

    for n in 1..=200 {
        let text = version(n, "info");
        match n % 4 {
            // An editor's save: a new file renamed over the old one.
            0 => {
                let temp = dir.join(".daemon.toml.swp");
                std::fs::write(&temp, &text).unwrap();
                std::fs::rename(&temp, &config).unwrap();
            }
            // Truncate, then write in two pieces, cut inside a key.
            1 | 2 => {
                let mut file = std::fs::File::create(&config).unwrap();
                let (head, tail) = text.split_at(text.find("timeout_ms").unwrap() + 4);
                file.write_all(head.as_bytes()).unwrap();
                file.flush().unwrap();
                file.write_all(tail.as_bytes()).unwrap();
            }
            // Deleted, then created again.
            _ => {
                std::fs::remove_file(&config).unwrap();
                std::fs::write(&config, &text).unwrap();
            }
        }
    }
    daemon.wait_for("config: version 200 timeout_ms=1200");
    stop_with_no_partial_config(daemon);
}

#[test]
fn a_writer_that_pauses_mid_file_is_waited_for() {
    let dir = scratch_dir("reload-pause");
    let config = dir.join("daemon.toml");
    let mut daemon = start_watching(&config);

    let text = version(1, "info");
    let (head, tail) = text.split_at(text.find("end =").unwrap());
    let mut file = std::fs::File::create(&config).unwrap();
    file.write_all(head.as_bytes()).unwrap();
    file.flush().unwrap();
    // The writer pauses well past the 100 ms quiet period; its prefix is valid TOML.
    std::thread::sleep(std::time::Duration::from_millis(500));
    daemon.drain();
    assert_eq!(
        daemon.count("configuration reloaded"),
        0,
        "applied while still being written:\n{}",
        daemon.transcript()
    );
    file.write_all(tail.as_bytes()).unwrap();
    drop(file);
    daemon.wait_for("config: version 1 timeout_ms=1001");
    stop_with_no_partial_config(daemon);
}

#[test]
fn hot_reload_without_a_config_file_says_there_is_nothing_to_watch() {
    let mut daemon = Process::start(
        FIXTURE,
        &["idle", "count=1"],
        &[("DAEMON_HOT_RELOAD", "true")],
    );
    daemon.wait_for(
        "hot_reload = true, but the configuration was not read from a file (defaults and environment only); there is nothing to watch",
    );
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
}
