//! Prometheus histograms with fixed buckets, updated lock-free for one series and
//! under a short lock for labelled families. Label values come from small fixed
//! sets chosen by our code (stage names, route templates, status classes), never
//! from ids or a subject's data.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Seconds: 1 ms to 10 s, for frame analysis and API requests alike.
pub const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// One series: counts per bucket (not cumulative; summed when rendered), sum, count.
pub struct Histogram {
    bounds: &'static [f64],
    buckets: Vec<AtomicU64>,
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        if let Some(i) = self.bounds.iter().position(|&b| seconds <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_nanos.fetch_add(elapsed.as_nanos().min(u128::from(u64::MAX)) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The `_bucket`, `_sum` and `_count` lines; `labels` is `a="x",b="y"` or empty.
    fn render_series(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let count = self.count.load(Ordering::Relaxed);
        let mut cumulative = 0;
        for (bound, n) in self.bounds.iter().zip(&self.buckets) {
            cumulative += n.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}");
        }
        // Read after the buckets: +Inf never shows fewer than a finite bucket.
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", count.max(cumulative));
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9);
        let _ = writeln!(out, "{name}_count{braces} {}", count.max(cumulative));
    }

    pub fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        self.render_series(out, name, "");
    }
}

/// A histogram per combination of label values.
pub struct HistogramFamily {
    label_names: &'static [&'static str],
    bounds: &'static [f64],
    series: Mutex<BTreeMap<Vec<String>, Histogram>>,
}

impl HistogramFamily {
    pub fn new(label_names: &'static [&'static str], bounds: &'static [f64]) -> Self {
        Self { label_names, bounds, series: Mutex::default() }
    }

    pub fn observe(&self, values: &[&str], elapsed: Duration) {
        debug_assert_eq!(values.len(), self.label_names.len());
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        let mut series = self.series.lock().unwrap_or_else(|p| p.into_inner());
        series.entry(key).or_insert_with(|| Histogram::new(self.bounds)).observe(elapsed);
    }

    /// Observations of the series with these label values (0 if none yet).
    pub fn count(&self, values: &[&str]) -> u64 {
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        self.series.lock().unwrap_or_else(|p| p.into_inner()).get(&key).map_or(0, Histogram::count)
    }

    pub fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (values, histogram) in self.series.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let labels = self
                .label_names
                .iter()
                .zip(values)
                .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
                .collect::<Vec<_>>()
                .join(",");
            histogram.render_series(out, name, &labels);
        }
    }
}

/// Prometheus label-value escaping (backslash, quote, newline).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_with_inf_sum_and_count() {
        let h = HistogramFamily::new(&["stage"], &[0.01, 0.1]);
        h.observe(&["face_capture"], Duration::from_millis(5));
        h.observe(&["face_capture"], Duration::from_millis(50));
        h.observe(&["face_capture"], Duration::from_millis(500));
        let mut out = String::new();
        h.render(&mut out, "x_seconds", "X.");
        assert_eq!(
            out,
            "# HELP x_seconds X.\n# TYPE x_seconds histogram\n\
             x_seconds_bucket{stage=\"face_capture\",le=\"0.01\"} 1\n\
             x_seconds_bucket{stage=\"face_capture\",le=\"0.1\"} 2\n\
             x_seconds_bucket{stage=\"face_capture\",le=\"+Inf\"} 3\n\
             x_seconds_sum{stage=\"face_capture\"} 0.555\n\
             x_seconds_count{stage=\"face_capture\"} 3\n"
        );
        assert_eq!(h.count(&["face_capture"]), 3);
        assert_eq!(h.count(&["liveness"]), 0);
    }
}
