//! The reference's code blocks, run: each does what the reference's prose says.

use tests::{Exit, Process, scratch_dir};

fn run(program: &str, dir: &std::path::Path) -> Process {
    let mut command = std::process::Command::new(program);
    command.current_dir(dir);
    let mut process = Process::spawn(command);
    assert_eq!(
        process.wait_exit(),
        Exit::Code(0),
        "{program}: {}",
        process.transcript()
    );
    process
}

#[test]
fn each_block_runs_and_prints_what_the_reference_says() {
    let dir = scratch_dir("reference-blocks");
    run(env!("CARGO_BIN_EXE_block_daemon_builder"), &dir);
    run(env!("CARGO_BIN_EXE_block_programmatic_configuration"), &dir);
    run(env!("CARGO_BIN_EXE_block_error_handling"), &dir);
    run(env!("CARGO_BIN_EXE_block_scheduler_hints"), &dir);
    run(env!("CARGO_BIN_EXE_block_subsystem_events"), &dir);

    let mut metrics = run(env!("CARGO_BIN_EXE_block_metrics_collection"), &dir);
    let workers = metrics.wait_for_value("Worker threads: ");
    assert!(
        workers.parse::<usize>().unwrap() >= 1,
        "{}",
        metrics.transcript()
    );

    let mut resources = run(env!("CARGO_BIN_EXE_block_resource_tracking"), &dir);
    let memory: u64 = resources
        .wait_for_value("Memory: ")
        .trim_end_matches(" MB")
        .parse()
        .unwrap();
    assert!(memory >= 1, "{}", resources.transcript());
    assert!(
        resources
            .wait_for_value("Threads: ")
            .parse::<u64>()
            .unwrap()
            >= 1
    );

    let channel = run(env!("CARGO_BIN_EXE_block_channel_facade"), &dir);
    assert_eq!(channel.count("Got: hello"), 1, "{}", channel.transcript());

    let hot = run(env!("CARGO_BIN_EXE_block_hot_reload"), &dir);
    assert_eq!(
        hot.count("Current name: hot-reload-daemon"),
        1,
        "{}",
        hot.transcript()
    );

    let timing = run(env!("CARGO_BIN_EXE_block_high_resolution_timing"), &dir);
    assert_eq!(timing.count(" nanoseconds"), 1, "{}", timing.transcript());

    run(env!("CARGO_BIN_EXE_block_cpu_profiling"), &dir);
    assert!(std::fs::metadata(dir.join("cpu_profile.pb")).unwrap().len() > 0);
}
