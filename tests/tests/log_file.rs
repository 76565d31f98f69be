//! Logging to a file: size rotation keeps at most `max_files` files with whole lines, nothing is
//! lost at shutdown, and SIGUSR1 reopens the file for an external logrotate.

use tests::{Exit, Process, scratch_dir, wait_for_file_containing};

const FIXTURE: &str = env!("CARGO_BIN_EXE_fixture");

#[test]
fn rotation_keeps_max_files_whole_lines_and_the_last_line() {
    let dir = scratch_dir("log-rotation");
    let log = dir.join("daemon.log");
    let mut daemon = Process::start(
        FIXTURE,
        &["chatty", "count=500"],
        &[
            ("DAEMON_LOGGING_FILE", log.to_str().unwrap()),
            ("DAEMON_LOGGING_MAX_FILE_SIZE", "2000"),
            ("DAEMON_LOGGING_MAX_FILES", "3"),
        ],
    );
    daemon.wait_for("chatty: logged 500");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));

    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["daemon.log", "daemon.log.1", "daemon.log.2"],
        "never more than max_files"
    );

    // Oldest first: .2, .1, then the current file.
    let mut numbers = Vec::new();
    for name in ["daemon.log.2", "daemon.log.1", "daemon.log"] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(text.ends_with('\n'), "{name} ends mid-line");
        for line in text.lines() {
            assert!(
                line.contains(" INFO ") || line.contains(" WARN "),
                "torn line in {name}: {line:?}"
            );
            if let Some(n) = line.split("fixture: line ").nth(1) {
                numbers.push(
                    n.parse::<u32>()
                        .unwrap_or_else(|_| panic!("torn line in {name}: {line:?}")),
                );
            }
        }
        if name != "daemon.log" {
            let size = std::fs::metadata(dir.join(name)).unwrap().len();
            assert!(
                size >= 2000,
                "{name} rotated before max_file_size: {size} bytes"
            );
        }
    }
    assert_eq!(
        numbers.last(),
        Some(&499),
        "the last line must survive shutdown"
    );
    let first = numbers[0];
    assert!(
        first > 0,
        "500 lines of ~70 bytes cannot fit in 3 files of 2000 bytes"
    );
    assert_eq!(
        numbers,
        (first..500).collect::<Vec<_>>(),
        "lines lost between retained files"
    );
    let current = std::fs::read_to_string(&log).unwrap();
    assert!(
        current.contains("daemon `fixture` stopped cleanly"),
        "{current}"
    );
}

#[test]
fn sigusr1_reopens_the_file_after_an_external_rotation() {
    let dir = scratch_dir("log-reopen");
    let log = dir.join("daemon.log");
    let rotated = dir.join("daemon.log.old");
    let mut daemon = Process::start(
        FIXTURE,
        &["chatty", "count=10"],
        &[("DAEMON_LOGGING_FILE", log.to_str().unwrap())],
    );
    daemon.wait_for("chatty: logged 10");
    wait_for_file_containing(&log, "fixture: line 9");
    std::fs::rename(&log, &rotated).unwrap();
    daemon.signal(libc::SIGUSR1);
    wait_for_file_containing(&log, "received SIGUSR1: reopening the log file");
    daemon.signal(libc::SIGTERM);
    daemon.expect_exit(Exit::Code(0));
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(
        old.contains("fixture: line 9") && !old.contains("reopening"),
        "{old}"
    );
    let new = std::fs::read_to_string(&log).unwrap();
    assert!(
        new.contains("stopped cleanly") && !new.contains("fixture: line"),
        "{new}"
    );
}
