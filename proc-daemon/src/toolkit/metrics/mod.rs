//! Application metrics: counters, gauges and histograms, with labels, exposed on the admin
//! endpoint's `/metrics` next to the daemon's own.
//!
//! Hot paths hold a handle ([`Counter`], [`Gauge`], [`Histogram`]): an update is one atomic
//! operation on memory the handle already points to, with no lock, lookup or allocation. The
//! by-name calls of the published API (`increment_counter`, `set_gauge`, `record_histogram`)
//! look the series up under a read lock first.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// A monotonic counter. Cheap to clone; clones update the same series.
#[derive(Clone, Debug)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds `n`.
    #[inline]
    pub fn increment(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    #[must_use]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    /// Sets the value.
    #[inline]
    pub fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }

    /// The current value.
    #[must_use]
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// The default histogram buckets (seconds, as Prometheus client libraries use).
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug)]
struct HistogramCore {
    bounds: Vec<f64>,
    /// One per bound, plus `+Inf`; each counts its own bucket (made cumulative on render).
    buckets: Vec<AtomicU64>,
    sum_bits: AtomicU64,
    count: AtomicU64,
}

impl HistogramCore {
    /// One observation: its bucket, the sum and the count (the `metrics` facade records here
    /// too).
    pub(super) fn observe(&self, value: f64) {
        let bucket = self.bounds.partition_point(|bound| *bound < value);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let _ = self
            .sum_bits
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// A distribution of observations. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Histogram(Arc<HistogramCore>);

impl Histogram {
    /// Records one observation.
    pub fn record(&self, value: f64) {
        self.0.observe(value);
    }

    /// Records a duration in seconds.
    pub fn record_duration(&self, duration: Duration) {
        self.record(duration.as_secs_f64());
    }

    /// How many observations there were.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.0.count.load(Ordering::Relaxed)
    }

    /// Their sum.
    #[must_use]
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.0.sum_bits.load(Ordering::Relaxed))
    }
}

mod recorder;
mod render;

pub(crate) use recorder::install_as_global_recorder;

/// Label pairs, sorted by name so the same set always names the same series.
type Labels = Vec<(String, String)>;

#[derive(Debug, Default)]
struct Families {
    counters: Family<Counter>,
    gauges: Family<Gauge>,
    histograms: Family<Histogram>,
    help: BTreeMap<String, String>,
}

type Family<T> = BTreeMap<String, BTreeMap<Labels, T>>;

/// A kind of series, and where a collector keeps its family.
trait Series: Clone {
    fn family(families: &Families) -> &Family<Self>;
    fn family_mut(families: &mut Families) -> &mut Family<Self>;
}

impl Series for Counter {
    fn family(families: &Families) -> &Family<Self> {
        &families.counters
    }
    fn family_mut(families: &mut Families) -> &mut Family<Self> {
        &mut families.counters
    }
}

impl Series for Gauge {
    fn family(families: &Families) -> &Family<Self> {
        &families.gauges
    }
    fn family_mut(families: &mut Families) -> &mut Family<Self> {
        &mut families.gauges
    }
}

impl Series for Histogram {
    fn family(families: &Families) -> &Family<Self> {
        &families.histograms
    }
    fn family_mut(families: &mut Families) -> &mut Family<Self> {
        &mut families.histograms
    }
}

/// The application's metrics. Cheap to clone: clones share the series.
///
/// ```
/// use proc_daemon::metrics::MetricsCollector;
///
/// let metrics = MetricsCollector::new();
/// let requests = metrics.counter("http_requests_total", &[("method", "GET")]);
/// requests.increment(1);
/// metrics.set_gauge("queue_depth", 3.0);
/// metrics.histogram("request_seconds", &[]).record(0.02);
/// let text = metrics.render();
/// assert!(text.contains("http_requests_total{method=\"GET\"} 1"));
/// assert!(text.contains("request_seconds_bucket{le=\"0.025\"} 1"));
/// ```
#[derive(Clone, Debug)]
pub struct MetricsCollector {
    families: Arc<RwLock<Families>>,
    started: Instant,
}

impl Default for MetricsCollector {
    fn default() -> Self {
        Self::new()
    }
}

/// Prometheus names are `[a-zA-Z_:][a-zA-Z0-9_:]*`; anything else becomes `_`.
fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    let mut labels: Labels = pairs
        .iter()
        .map(|(name, value)| (sanitize(name), (*value).to_owned()))
        .collect();
    labels.sort();
    labels
}

/// What [`MetricsCollector::get_metrics`] returns: every unlabelled series by name.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Time since the collector was created.
    pub uptime: Duration,
    /// Counter values.
    pub counters: BTreeMap<String, u64>,
    /// Gauge values.
    pub gauges: BTreeMap<String, f64>,
    /// Histogram counts and sums.
    pub histograms: BTreeMap<String, (u64, f64)>,
    /// Worker threads of the tokio runtime the snapshot was taken on (0 outside one).
    pub worker_count: usize,
}

/// A value a histogram records: a number as it is, a [`Duration`] in seconds (Prometheus's
/// base unit).
pub trait Observation {
    /// The value recorded.
    fn observed(self) -> f64;
}

impl Observation for f64 {
    fn observed(self) -> f64 {
        self
    }
}

impl Observation for f32 {
    fn observed(self) -> f64 {
        f64::from(self)
    }
}

impl Observation for u32 {
    fn observed(self) -> f64 {
        f64::from(self)
    }
}

impl Observation for i32 {
    fn observed(self) -> f64 {
        f64::from(self)
    }
}

impl Observation for Duration {
    fn observed(self) -> f64 {
        self.as_secs_f64()
    }
}

impl MetricsCollector {
    /// An empty collector.
    #[must_use]
    pub fn new() -> Self {
        Self {
            families: Arc::new(RwLock::new(Families::default())),
            started: Instant::now(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Families> {
        crate::lock::read(&self.families)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Families> {
        crate::lock::write(&self.families)
    }

    /// The series `name`/`labels` of the family `select` picks, created with `make` the first
    /// time.
    fn series<T: Series>(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        make: impl FnOnce() -> T,
    ) -> T {
        let (name, labels) = (sanitize(name), self::labels(labels));
        // Read first: after the first call, looking a series up never takes the write lock.
        if let Some(found) = T::family(&self.read())
            .get(&name)
            .and_then(|f| f.get(&labels))
        {
            return found.clone();
        }
        T::family_mut(&mut self.write())
            .entry(name)
            .or_default()
            .entry(labels)
            .or_insert_with(make)
            .clone()
    }

    /// The counter `name` with `labels` (created at 0 the first time).
    #[must_use]
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Counter {
        self.series(name, labels, || Counter(Arc::new(AtomicU64::new(0))))
    }

    /// The gauge `name` with `labels` (created at 0 the first time).
    #[must_use]
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Gauge {
        self.series(name, labels, || {
            Gauge(Arc::new(AtomicU64::new(0f64.to_bits())))
        })
    }

    /// The histogram `name` with `labels` and [`DEFAULT_BUCKETS`].
    #[must_use]
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Histogram {
        self.histogram_with_buckets(name, labels, &DEFAULT_BUCKETS)
    }

    /// The histogram `name` with `labels` and the given upper bounds (used only when it is
    /// created).
    #[must_use]
    pub fn histogram_with_buckets(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        bounds: &[f64],
    ) -> Histogram {
        self.series(name, labels, || {
            let mut bounds: Vec<f64> = bounds.iter().copied().filter(|b| b.is_finite()).collect();
            bounds.sort_by(f64::total_cmp);
            bounds.dedup();
            Histogram(Arc::new(HistogramCore {
                buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
                bounds,
                sum_bits: AtomicU64::new(0f64.to_bits()),
                count: AtomicU64::new(0),
            }))
        })
    }

    /// Runs `update` on the existing unlabelled series `name`, without allocating; `false`
    /// if there is none yet.
    fn update_unlabelled<T: Series>(&self, name: &str, update: impl FnOnce(&T)) -> bool {
        let families = self.read();
        match T::family(&families)
            .get(name)
            .and_then(|f| f.get(&Labels::new()))
        {
            Some(series) => {
                update(series);
                true
            }
            None => false,
        }
    }

    /// Sets the `# HELP` text of the family `name` (without one, the name is used).
    pub fn describe(&self, name: &str, help: &str) {
        self.write().help.insert(sanitize(name), help.to_owned());
    }

    /// Adds `n` to the unlabelled counter `name`.
    pub fn increment_counter(&self, name: &str, n: u64) {
        if !self.update_unlabelled(name, |c: &Counter| c.increment(n)) {
            self.counter(name, &[]).increment(n);
        }
    }

    /// Sets the unlabelled gauge `name`.
    pub fn set_gauge(&self, name: &str, value: impl Into<f64>) {
        let value = value.into();
        if !self.update_unlabelled(name, |g: &Gauge| g.set(value)) {
            self.gauge(name, &[]).set(value);
        }
    }

    /// Records `value` in the unlabelled histogram `name`: a number, or a [`Duration`] in
    /// seconds.
    pub fn record_histogram(&self, name: &str, value: impl Observation) {
        let value = value.observed();
        if !self.update_unlabelled(name, |h: &Histogram| h.record(value)) {
            self.histogram(name, &[]).record(value);
        }
    }

    /// The unlabelled series and the uptime.
    #[must_use]
    pub fn get_metrics(&self) -> MetricsSnapshot {
        let families = self.read();
        let unlabelled = |labels: &Labels| labels.is_empty();
        MetricsSnapshot {
            worker_count: tokio::runtime::Handle::try_current()
                .map_or(0, |runtime| runtime.metrics().num_workers()),
            uptime: self.started.elapsed(),
            counters: families
                .counters
                .iter()
                .filter_map(|(name, series)| {
                    series
                        .iter()
                        .find(|(l, _)| unlabelled(l))
                        .map(|(_, c)| (name.clone(), c.get()))
                })
                .collect(),
            gauges: families
                .gauges
                .iter()
                .filter_map(|(name, series)| {
                    series
                        .iter()
                        .find(|(l, _)| unlabelled(l))
                        .map(|(_, g)| (name.clone(), g.get()))
                })
                .collect(),
            histograms: families
                .histograms
                .iter()
                .filter_map(|(name, series)| {
                    series
                        .iter()
                        .find(|(l, _)| unlabelled(l))
                        .map(|(_, h)| (name.clone(), (h.count(), h.sum())))
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_share_their_series() {
        let metrics = MetricsCollector::new();
        let a = metrics.counter("jobs_total", &[("queue", "high")]);
        let b = metrics.counter("jobs_total", &[("queue", "high")]);
        a.increment(2);
        b.increment(3);
        assert_eq!(a.get(), 5);
        assert_eq!(metrics.counter("jobs_total", &[("queue", "low")]).get(), 0);
    }

    #[test]
    fn the_published_by_name_api_and_snapshot() {
        let metrics = MetricsCollector::new();
        metrics.increment_counter("ticks_total", 2);
        metrics.increment_counter("ticks_total", 1);
        metrics.set_gauge("temperature", 21.5);
        metrics.set_gauge("active_connections", 42);
        metrics.record_histogram("wait_seconds", 0.3);
        metrics.record_histogram("wait_seconds", Duration::from_millis(150));
        let snapshot = metrics.get_metrics();
        assert_eq!(snapshot.counters["ticks_total"], 3);
        assert!((snapshot.gauges["temperature"] - 21.5).abs() < f64::EPSILON);
        assert!((snapshot.gauges["active_connections"] - 42.0).abs() < f64::EPSILON);
        let (count, sum) = snapshot.histograms["wait_seconds"];
        assert_eq!(count, 2);
        assert!((sum - 0.45).abs() < 1e-9, "{sum}");
        assert_eq!(snapshot.worker_count, 0, "not on a runtime");
    }
}
