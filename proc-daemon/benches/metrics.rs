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

criterion_group!(benches, ours, peer);
criterion_main!(benches);
