//! Configuration costs. `cargo bench -p proc-daemon --bench config`

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use proc_daemon::{Config, Daemon};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/daemon.toml");

fn config(c: &mut Criterion) {
    // SAFETY: set before criterion starts any thread; nothing else reads the environment yet.
    unsafe {
        std::env::set_var("DAEMON_LOGGING_LEVEL", "debug");
        std::env::set_var("DAEMON_SHUTDOWN_TIMEOUT_MS", "2500");
        std::env::set_var("DAEMON_APP_REGION", "eu-west");
    }
    let text = std::fs::read_to_string(EXAMPLE).unwrap();

    c.bench_function("parse_example_toml", |b| {
        b.iter(|| black_box(Config::from_toml_str("daemon.toml", black_box(&text)).unwrap()));
    });

    c.bench_function("load_example_file_with_env_overrides", |b| {
        b.iter(|| black_box(Config::load_from_file(black_box(Path::new(EXAMPLE))).unwrap()));
    });

    // Whether reading the file through a memory map (what an `mmap-config` feature would do)
    // beats a plain read: the evidence for leaving that feature out (docs/PERFORMANCE.md).
    c.bench_function("read_example_file", |b| {
        b.iter(|| black_box(std::fs::read_to_string(black_box(EXAMPLE)).unwrap()));
    });
    c.bench_function("mmap_example_file", |b| {
        b.iter(|| {
            let file = std::fs::File::open(black_box(EXAMPLE)).unwrap();
            // SAFETY: the file is not modified while mapped (a benchmark fixture).
            let map = unsafe { memmap2::Mmap::map(&file) }.unwrap();
            black_box(std::str::from_utf8(&map).unwrap().len())
        });
    });

    c.bench_function("env_overlay_only", |b| {
        b.iter(|| black_box(Config::new().unwrap()));
    });

    let builder =
        Daemon::builder(Config::load_from_file(EXAMPLE).unwrap()).with_config_path(EXAMPLE);
    let handle = builder.handle();
    let mut changes = handle.subscribe_config();
    c.bench_function("reload_cycle", |b| {
        b.iter(|| {
            handle.reload().unwrap();
            black_box(changes.borrow_and_update().shutdown.timeout_ms);
        });
    });
}

/// A subsystem reading its typed `[app]` settings: parsed on each call (`Context::app`) or the
/// value parsed once per load (`Context::settings`, for the declared type).
fn app_settings(c: &mut Criterion) {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Settings {
        region: String,
        port: u16,
        peers: Vec<String>,
    }
    let mut config = Config::default();
    config.app =
        toml::from_str("region = \"eu-west\"\nport = 8080\npeers = [\"a:1\", \"b:2\", \"c:3\"]\n")
            .unwrap();
    let context =
        proc_daemon::Context::new(proc_daemon::ShutdownHandle::new(), config.clone().into());
    c.bench_function("context_app_parsed_per_call", |b| {
        b.iter(|| black_box(context.app::<Settings>().unwrap().port));
    });
    let declared = config.with_settings::<Settings>().unwrap();
    let context = proc_daemon::Context::new(proc_daemon::ShutdownHandle::new(), declared.into());
    c.bench_function("context_settings_declared_type", |b| {
        b.iter(|| black_box(context.settings::<Settings>().unwrap().port));
    });
}

criterion_group!(benches, config, app_settings);
criterion_main!(benches);
