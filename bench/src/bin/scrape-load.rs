//! Scrape load: 1 000 `/metrics` requests from a local client while 1 000 subsystems tick
//! every 10 ms. Prints request latency (p50, p99) and the subsystems' tick rate with and
//! without the scraping, to show the endpoint does not slow the work down.
//!
//! `cargo run --release -p bench --bin scrape-load`

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proc_daemon::{Config, Daemon, SubsystemFn};

const SUBSYSTEMS: usize = 1_000;
const REQUESTS: usize = 1_000;

fn get_metrics(address: &str) -> Duration {
    let start = Instant::now();
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut body = Vec::new();
    stream.read_to_end(&mut body).unwrap();
    assert!(body.starts_with(b"HTTP/1.1 200"));
    start.elapsed()
}

fn ticks_per_second(ticks: &AtomicU64, over: Duration) -> f64 {
    let before = ticks.load(Ordering::Relaxed);
    std::thread::sleep(over); // the measurement window itself
    #[allow(clippy::cast_precision_loss)]
    let rate = (ticks.load(Ordering::Relaxed) - before) as f64 / over.as_secs_f64();
    rate
}

fn main() {
    let port = 19_555;
    let mut config = Config::builder().worker_threads(2).build().unwrap();
    config.admin = Some(proc_daemon::AdminConfig::default());
    config.admin.as_mut().unwrap().bind = format!("127.0.0.1:{port}").parse().unwrap();
    let runtime = proc_daemon::build_runtime(&config).unwrap();
    let ticks = Arc::new(AtomicU64::new(0));
    let mut builder = Daemon::builder(config);
    for i in 0..SUBSYSTEMS {
        let ticks = ticks.clone();
        builder =
            builder.with_subsystem(SubsystemFn::new(format!("ticker-{i}"), move |shutdown| {
                let ticks = ticks.clone();
                async move {
                    let mut interval = tokio::time::interval(Duration::from_millis(10));
                    loop {
                        tokio::select! {
                            () = shutdown.cancelled() => return Ok(()),
                            _ = interval.tick() => { ticks.fetch_add(1, Ordering::Relaxed); }
                        }
                    }
                }
            }));
    }
    let handle = builder.handle();
    let daemon = runtime.spawn(builder.run());
    let address = format!("127.0.0.1:{port}");
    while handle.readiness().is_err() || TcpStream::connect(&address).is_err() {
        std::thread::sleep(Duration::from_millis(10));
    }

    let idle_rate = ticks_per_second(&ticks, Duration::from_secs(2));
    let scraper = std::thread::spawn(move || {
        let mut latencies: Vec<Duration> = (0..REQUESTS).map(|_| get_metrics(&address)).collect();
        latencies.sort();
        latencies
    });
    let loaded_rate = ticks_per_second(&ticks, Duration::from_secs(2));
    let latencies = scraper.join().unwrap();
    handle.request_shutdown();
    runtime.block_on(daemon).unwrap().unwrap();

    let p = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let index = ((latencies.len() - 1) as f64 * q) as usize;
        latencies[index]
    };
    println!("| {REQUESTS} scrapes, {SUBSYSTEMS} subsystems | value |");
    println!("|---|---:|");
    println!("| /metrics p50 | {:.2} ms |", p(0.5).as_secs_f64() * 1e3);
    println!("| /metrics p99 | {:.2} ms |", p(0.99).as_secs_f64() * 1e3);
    println!("| ticks/s without scraping | {idle_rate:.0} |");
    println!(
        "| ticks/s while scraping | {loaded_rate:.0} ({:.2}x) |",
        loaded_rate / idle_rate
    );
}
