//! Counters shared by the stages and their Prometheus rendering. Numbers only:
//! nothing here can carry a subject's data, and labels take values from small
//! fixed sets (stage names, route templates, outcomes), never ids.

pub mod histogram;

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

mod webhooks;
pub use webhooks::WebhookCounters;

use histogram::{Histogram, HistogramFamily, LATENCY_BUCKETS};

pub struct Telemetry {
    pub frames_captured: AtomicU64,
    pub frames_dropped: AtomicU64,
    pub frames_analysed: AtomicU64,
    pub analysis_micros_total: AtomicU64,
    pub camera_restarts: AtomicU64,
    pub sessions_started: AtomicU64,
    /// Decided sessions by decision, plus `cancelled`, `interrupted`, `failed`.
    sessions_ended: Mutex<BTreeMap<String, u64>>,
    /// The same, by UTC day (YYYY-MM-DD), for "today" on the status page.
    sessions_by_day: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
    recent_errors: Mutex<VecDeque<RecentError>>,
    /// Analysis time of one frame, by the session stage it was analysed for.
    pub stage_analysis: HistogramFamily,
    /// From a frame's arrival from the camera to the session having acted on it.
    pub frame_to_decision: Histogram,
    /// API requests by route template, method and status class.
    pub api_requests: HistogramFamily,
    pub webhooks: WebhookCounters,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            frames_captured: AtomicU64::default(),
            frames_dropped: AtomicU64::default(),
            frames_analysed: AtomicU64::default(),
            analysis_micros_total: AtomicU64::default(),
            camera_restarts: AtomicU64::default(),
            sessions_started: AtomicU64::default(),
            sessions_ended: Mutex::default(),
            sessions_by_day: Mutex::default(),
            recent_errors: Mutex::default(),
            stage_analysis: HistogramFamily::new(&["stage"], LATENCY_BUCKETS),
            frame_to_decision: Histogram::new(LATENCY_BUCKETS),
            api_requests: HistogramFamily::new(&["route", "method", "status"], LATENCY_BUCKETS),
            webhooks: WebhookCounters::default(),
        }
    }
}

/// An error a technician should see. Messages come from our own code and
/// GStreamer/sled, never from subject data.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RecentError {
    pub at: String,
    pub component: &'static str,
    pub message: String,
}

const RECENT_ERRORS: usize = 20;

/// Gauges read at render time from the parts that own them.
#[derive(Default)]
pub struct Gauges {
    pub camera_up: bool,
    pub camera_fps: f64,
    pub session_active: bool,
    pub uptime_seconds: u64,
    pub state_dir_bytes: u64,
    pub disk_free_bytes: u64,
    pub tls_not_after_unix: i64,
}

/// Today's date (UTC), YYYY-MM-DD.
pub fn today() -> String {
    crate::rfc3339_now()[..10].to_string()
}

impl Telemetry {
    pub fn analysed(&self, elapsed: std::time::Duration) {
        self.frames_analysed.fetch_add(1, Ordering::Relaxed);
        self.analysis_micros_total.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// A frame analysed for a session in `stage` (`waiting` before the first stage).
    pub fn stage_analysed(&self, stage: Option<crate::record::Stage>, elapsed: std::time::Duration) {
        let name = stage.map(crate::record::Stage::name).unwrap_or("waiting");
        self.stage_analysis.observe(&[name], elapsed);
    }

    pub fn session_ended(&self, outcome: &str) {
        *self.sessions_ended.lock().unwrap_or_else(|p| p.into_inner()).entry(outcome.to_string()).or_default() += 1;
        self.count_day(&today(), outcome);
    }

    /// Seeds the per-day counts from stored sessions at start-up.
    pub fn count_day(&self, day: &str, outcome: &str) {
        let mut days = self.sessions_by_day.lock().unwrap_or_else(|p| p.into_inner());
        *days.entry(day.to_string()).or_default().entry(outcome.to_string()).or_default() += 1;
        while days.len() > 2 {
            days.pop_first();
        }
    }

    pub fn sessions_today(&self) -> BTreeMap<String, u64> {
        self.sessions_by_day.lock().unwrap_or_else(|p| p.into_inner()).get(&today()).cloned().unwrap_or_default()
    }

    pub fn record_error(&self, component: &'static str, message: impl Into<String>) {
        let mut errors = self.recent_errors.lock().unwrap_or_else(|p| p.into_inner());
        if errors.len() == RECENT_ERRORS {
            errors.pop_front();
        }
        errors.push_back(RecentError { at: crate::rfc3339_now(), component, message: message.into() });
    }

    pub fn recent_errors(&self) -> Vec<RecentError> {
        self.recent_errors.lock().unwrap_or_else(|p| p.into_inner()).iter().rev().cloned().collect()
    }

    /// Mean analysis time per frame, in milliseconds.
    pub fn analysis_ms_mean(&self) -> f64 {
        let n = self.frames_analysed.load(Ordering::Relaxed);
        if n == 0 { 0.0 } else { self.analysis_micros_total.load(Ordering::Relaxed) as f64 / 1000.0 / n as f64 }
    }

    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, value: &dyn std::fmt::Display| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}");
        };
        let gauge = |out: &mut String, name: &str, help: &str, value: f64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        };
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        counter(&mut out, "idverifd_frames_captured_total", "Frames delivered by the camera pipeline.", &load(&self.frames_captured));
        counter(&mut out, "idverifd_frames_dropped_total", "Frames replaced unread because analysis was busy.", &load(&self.frames_dropped));
        counter(&mut out, "idverifd_frames_analysed_total", "Frames run through face analysis.", &load(&self.frames_analysed));
        counter(
            &mut out,
            "idverifd_analysis_seconds_total",
            "Time spent analysing frames (divide by frames analysed for the mean).",
            &(load(&self.analysis_micros_total) as f64 / 1e6),
        );
        counter(&mut out, "idverifd_camera_restarts_total", "Camera pipeline restarts after an error or end of stream.", &load(&self.camera_restarts));
        counter(&mut out, "idverifd_sessions_started_total", "Verification sessions started.", &load(&self.sessions_started));
        let _ = writeln!(
            out,
            "# HELP idverifd_sessions_ended_total Sessions ended, by decision or outcome.\n# TYPE idverifd_sessions_ended_total counter"
        );
        for (outcome, n) in self.sessions_ended.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(out, "idverifd_sessions_ended_total{{outcome=\"{outcome}\"}} {n}");
        }
        gauge(&mut out, "idverifd_camera_up", "1 while frames arrive from the camera.", f64::from(u8::from(gauges.camera_up)));
        gauge(&mut out, "idverifd_camera_fps", "Frames per second arriving from the camera.", gauges.camera_fps);
        gauge(&mut out, "idverifd_session_active", "1 while a verification session runs.", f64::from(u8::from(gauges.session_active)));
        gauge(&mut out, "idverifd_uptime_seconds", "Seconds since the daemon started.", gauges.uptime_seconds as f64);
        // Base unit and unit last: promtool's lint (`check metrics`) refuses `_ms`.
        gauge(&mut out, "idverifd_analysis_mean_seconds", "Mean face-analysis time per frame since start, seconds.", self.analysis_ms_mean() / 1000.0);
        gauge(&mut out, "idverifd_state_dir_bytes", "Bytes used by the state directory.", gauges.state_dir_bytes as f64);
        gauge(&mut out, "idverifd_disk_free_bytes", "Bytes free on the state directory's file system.", gauges.disk_free_bytes as f64);
        gauge(&mut out, "idverifd_tls_certificate_not_after_seconds", "Expiry of the API certificate, Unix time.", gauges.tls_not_after_unix as f64);
        gauge(&mut out, "idverifd_recent_errors", "Errors kept for the status page (at most 20).", self.recent_errors.lock().unwrap_or_else(|p| p.into_inner()).len() as f64);
        let _ = writeln!(
            out,
            "# HELP idverifd_sessions_today Sessions ended today (UTC), by outcome.\n# TYPE idverifd_sessions_today gauge"
        );
        for (outcome, n) in self.sessions_today() {
            let _ = writeln!(out, "idverifd_sessions_today{{outcome=\"{outcome}\"}} {n}");
        }
        self.webhooks.render(&mut out);
        let _ = writeln!(
            out,
            "# HELP idverifd_build_info The running build: always 1, with its version as a label.\n# TYPE idverifd_build_info gauge\nidverifd_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        self.stage_analysis.render(&mut out, "idverifd_stage_analysis_seconds", "Analysis time of one frame, by session stage.");
        self.frame_to_decision.render(
            &mut out,
            "idverifd_frame_to_decision_seconds",
            "From a frame's arrival from the camera to the session having acted on it (queueing and analysis).",
        );
        self.api_requests.render(
            &mut out,
            "idverifd_api_request_duration_seconds",
            "Registration API requests until the response head, by route template, method and status class.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text_with_types_and_labels() {
        let t = Telemetry::default();
        t.frames_captured.fetch_add(5, Ordering::Relaxed);
        t.analysed(std::time::Duration::from_millis(1500));
        t.session_ended("verified");
        let text = t.render(&Gauges { camera_up: true, camera_fps: 29.5, ..Default::default() });
        assert!(text.contains("# TYPE idverifd_frames_captured_total counter\nidverifd_frames_captured_total 5\n"));
        assert!(text.contains("idverifd_analysis_seconds_total 1.5\n"), "{text}");
        assert!(text.contains("idverifd_sessions_ended_total{outcome=\"verified\"} 1\n"));
        assert!(text.contains("idverifd_camera_fps 29.5\n"));
        assert!(text.contains("idverifd_sessions_today{outcome=\"verified\"} 1\n"), "{text}");
        assert!(text.contains(&format!("idverifd_build_info{{version=\"{}\"}} 1\n", env!("CARGO_PKG_VERSION"))), "{text}");
    }

    #[test]
    fn histograms_render_by_stage_and_route_template() {
        let t = Telemetry::default();
        t.stage_analysed(Some(crate::record::Stage::Liveness), std::time::Duration::from_millis(30));
        t.stage_analysed(None, std::time::Duration::from_millis(3));
        t.frame_to_decision.observe(std::time::Duration::from_millis(40));
        t.api_requests.observe(&["/v1/verifications/{id}", "GET", "2xx"], std::time::Duration::from_millis(2));
        let text = t.render(&Gauges::default());
        assert!(text.contains("# TYPE idverifd_stage_analysis_seconds histogram\n"), "{text}");
        assert!(text.contains("idverifd_stage_analysis_seconds_bucket{stage=\"liveness\",le=\"0.025\"} 0\n"), "{text}");
        assert!(text.contains("idverifd_stage_analysis_seconds_bucket{stage=\"liveness\",le=\"0.05\"} 1\n"), "{text}");
        assert!(text.contains("idverifd_stage_analysis_seconds_count{stage=\"waiting\"} 1\n"), "{text}");
        assert!(text.contains("idverifd_frame_to_decision_seconds_count 1\n"), "{text}");
        assert!(
            text.contains("idverifd_api_request_duration_seconds_count{route=\"/v1/verifications/{id}\",method=\"GET\",status=\"2xx\"} 1\n"),
            "{text}"
        );
    }
}
