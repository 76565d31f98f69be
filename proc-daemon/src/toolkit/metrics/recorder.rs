//! The `metrics` crate's facade over a collector: `metrics::counter!` and friends record into
//! the daemon's series.

use super::{HistogramCore, MetricsCollector};

/// Lets the `metrics` crate's macros (`metrics::counter!` and friends) record into a
/// collector: the daemon installs one as the global recorder when it starts, unless the
/// application installed its own.
#[derive(Debug)]
struct FacadeRecorder(MetricsCollector);

fn facade_labels(key: &::metrics::Key) -> Vec<(String, String)> {
    key.labels()
        .map(|label| (label.key().to_owned(), label.value().to_owned()))
        .collect()
}

fn as_pairs(labels: &[(String, String)]) -> Vec<(&str, &str)> {
    labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

impl ::metrics::HistogramFn for HistogramCore {
    fn record(&self, value: f64) {
        self.observe(value);
    }
}

impl ::metrics::Recorder for FacadeRecorder {
    fn describe_counter(
        &self,
        key: ::metrics::KeyName,
        _: Option<::metrics::Unit>,
        help: ::metrics::SharedString,
    ) {
        self.0.describe(key.as_str(), &help);
    }
    fn describe_gauge(
        &self,
        key: ::metrics::KeyName,
        _: Option<::metrics::Unit>,
        help: ::metrics::SharedString,
    ) {
        self.0.describe(key.as_str(), &help);
    }
    fn describe_histogram(
        &self,
        key: ::metrics::KeyName,
        _: Option<::metrics::Unit>,
        help: ::metrics::SharedString,
    ) {
        self.0.describe(key.as_str(), &help);
    }

    fn register_counter(
        &self,
        key: &::metrics::Key,
        _: &::metrics::Metadata<'_>,
    ) -> ::metrics::Counter {
        let labels = facade_labels(key);
        let counter = self.0.counter(key.name(), &as_pairs(&labels));
        ::metrics::Counter::from_arc(counter.0)
    }

    fn register_gauge(
        &self,
        key: &::metrics::Key,
        _: &::metrics::Metadata<'_>,
    ) -> ::metrics::Gauge {
        let labels = facade_labels(key);
        let gauge = self.0.gauge(key.name(), &as_pairs(&labels));
        ::metrics::Gauge::from_arc(gauge.0)
    }

    fn register_histogram(
        &self,
        key: &::metrics::Key,
        _: &::metrics::Metadata<'_>,
    ) -> ::metrics::Histogram {
        let labels = facade_labels(key);
        let histogram = self.0.histogram(key.name(), &as_pairs(&labels));
        ::metrics::Histogram::from_arc(histogram.0)
    }
}

/// Makes `collector` the `metrics` crate's global recorder, if none is installed yet.
pub(crate) fn install_as_global_recorder(collector: &MetricsCollector) -> bool {
    ::metrics::set_global_recorder(FacadeRecorder(collector.clone())).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_facade_records_into_the_collector() {
        let collector = MetricsCollector::new();
        let recorder = FacadeRecorder(collector.clone());
        ::metrics::with_local_recorder(&recorder, || {
            ::metrics::describe_counter!("facade_events_total", "Events seen.");
            ::metrics::counter!("facade_events_total", "kind" => "a").increment(2);
            ::metrics::gauge!("facade_level").set(7.5);
            ::metrics::histogram!("facade_seconds").record(0.2);
        });
        let text = collector.render();
        assert!(text.contains("facade_events_total{kind=\"a\"} 2"), "{text}");
        assert!(
            text.contains("# HELP facade_events_total Events seen.\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP facade_level facade_level\n"),
            "{text}"
        );
        assert!(text.contains("facade_level 7.5"), "{text}");
        assert!(text.contains("facade_seconds_count 1"), "{text}");
    }
}
