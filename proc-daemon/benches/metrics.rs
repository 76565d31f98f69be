//! Metric updates and rendering, side by side with the `metrics` facade and
//! `metrics-exporter-prometheus` doing the same work in the same run.
//! `cargo bench -p proc-daemon --bench metrics`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use metrics_exporter_prometheus::PrometheusBuilder;
use proc_daemon::metrics::MetricsCollector;

fn ours(c: &mut Criterion) {
    let metrics = MetricsCollector::new();
    let counter = metrics.counter("requests_total", &[("method", "GET")]);
    let gauge = metrics.gauge("queue_depth", &[]);
    let histogram = metrics.histogram("latency_seconds", &[]);
    c.bench_function("ours/counter_increment_handle", |b| {
        b.iter(|| counter.increment(black_box(1)))
    });
    c.bench_function("ours/counter_increment_by_name", |b| {
        b.iter(|| metrics.increment_counter(black_box("events_total"), 1));
    });
    c.bench_function("ours/gauge_set", |b| b.iter(|| gauge.set(black_box(3.0))));
    c.bench_function("ours/histogram_record", |b| {
        b.iter(|| histogram.record(black_box(0.042)))
    });

    let many = MetricsCollector::new();
    for i in 0..1000 {
        many.counter("series_total", &[("id", &i.to_string())])
            .increment(i);
    }
    c.bench_function("ours/render_1000_series", |b| {
        b.iter(|| black_box(many.render()))
    });
}

fn peer(c: &mut Criterion) {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).unwrap();
    let counter = metrics::counter!("requests_total", "method" => "GET");
    let gauge = metrics::gauge!("queue_depth");
    let histogram = metrics::histogram!("latency_seconds");
    c.bench_function("peer/counter_increment_handle", |b| {
        b.iter(|| counter.increment(black_box(1)))
    });
    c.bench_function("peer/counter_increment_by_name", |b| {
        b.iter(|| metrics::counter!("events_total").increment(1));
    });
    c.bench_function("peer/gauge_set", |b| b.iter(|| gauge.set(black_box(3.0))));
    c.bench_function("peer/histogram_record", |b| {
        b.iter(|| histogram.record(black_box(0.042)))
    });
    for i in 0..1000 {
        metrics::counter!("series_total", "id" => i.to_string()).increment(i);
    }
    c.bench_function("peer/render_1000_series", |b| {
        b.iter(|| black_box(handle.render()))
    });
}

/// One reading of the process's CPU, memory and threads: `/proc/self/stat` (what Linux uses,
/// through `ResourceTracker::with_interval`, which takes one sample) against the `sysinfo`
/// calls every other platform makes (the same calls as `ProcessStats::from_sysinfo`).
fn process_readings(c: &mut Criterion) {
    use proc_daemon::resources::ResourceTracker;
    use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};
    c.bench_function("process_reading/proc_self_stat", |b| {
        b.iter(|| {
            black_box(ResourceTracker::with_interval(
                std::time::Duration::from_secs(1),
            ))
        });
    });
    c.bench_function("process_reading/sysinfo", |b| {
        b.iter(|| {
            let pid = Pid::from_u32(std::process::id());
            let mut system = System::new();
            system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                false,
                ProcessRefreshKind::nothing().with_cpu().with_memory(),
            );
            let process = system.process(pid).unwrap();
            black_box((process.accumulated_cpu_time(), process.memory()))
        });
    });
}

criterion_group!(benches, ours, peer, process_readings);
criterion_main!(benches);
