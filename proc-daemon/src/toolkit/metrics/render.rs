//! A collector's series in Prometheus text format 0.0.4.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::{Labels, MetricsCollector};
use crate::toolkit::text_format::{escape_label, write_family};

fn render_labels(labels: &Labels, extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", escape_label(value)))
        .collect();
    if let Some((name, value)) = extra {
        parts.push(format!("{name}=\"{value}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

impl MetricsCollector {
    /// Every series in Prometheus text format 0.0.4.
    #[must_use]
    pub fn render(&self) -> String {
        let families = self.read();
        let mut out = String::new();
        let header = |out: &mut String, name: &str, kind: &str| {
            let help = families.help.get(name).map_or(name, String::as_str);
            write_family(out, name, kind, help);
        };
        for (name, series) in &families.counters {
            header(&mut out, name, "counter");
            for (labels, counter) in series {
                let _ = writeln!(
                    out,
                    "{name}{} {}",
                    render_labels(labels, None),
                    counter.get()
                );
            }
        }
        for (name, series) in &families.gauges {
            header(&mut out, name, "gauge");
            for (labels, gauge) in series {
                let _ = writeln!(out, "{name}{} {}", render_labels(labels, None), gauge.get());
            }
        }
        for (name, series) in &families.histograms {
            header(&mut out, name, "histogram");
            for (labels, histogram) in series {
                let core = &histogram.0;
                let mut cumulative = 0;
                for (index, bucket) in core.buckets.iter().enumerate() {
                    cumulative += bucket.load(Ordering::Relaxed);
                    let le = core
                        .bounds
                        .get(index)
                        .map_or_else(|| "+Inf".to_owned(), ToString::to_string);
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {cumulative}",
                        render_labels(labels, Some(("le", le)))
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_sum{} {}",
                    render_labels(labels, None),
                    histogram.sum()
                );
                let _ = writeln!(
                    out,
                    "{name}_count{} {}",
                    render_labels(labels, None),
                    histogram.count()
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_with_sum_and_count() {
        let metrics = MetricsCollector::new();
        let h = metrics.histogram_with_buckets("latency_seconds", &[], &[0.1, 1.0]);
        for value in [0.05, 0.5, 0.5, 5.0] {
            h.record(value);
        }
        let text = metrics.render();
        assert!(
            text.contains("latency_seconds_bucket{le=\"0.1\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_bucket{le=\"1\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("latency_seconds_bucket{le=\"+Inf\"} 4\n"),
            "{text}"
        );
        assert!(text.contains("latency_seconds_sum 6.05\n"), "{text}");
        assert!(text.contains("latency_seconds_count 4\n"), "{text}");
    }

    #[test]
    fn names_and_labels_are_made_valid_and_escaped() {
        let metrics = MetricsCollector::new();
        metrics
            .counter("9 bad-name", &[("path", "/a\"b")])
            .increment(1);
        assert!(
            metrics.render().contains("_9_bad_name{path=\"/a\\\"b\"} 1"),
            "{}",
            metrics.render()
        );
    }
}
