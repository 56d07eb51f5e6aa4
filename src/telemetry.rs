//! Counters shared by the stages and their Prometheus rendering. Numbers only:
//! nothing here can carry a subject's data.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Telemetry {
    pub frames_captured: AtomicU64,
    pub frames_dropped: AtomicU64,
    pub frames_analysed: AtomicU64,
    pub analysis_micros_total: AtomicU64,
    pub camera_restarts: AtomicU64,
    pub sessions_started: AtomicU64,
    /// Decided sessions by decision, plus `cancelled`, `interrupted`, `failed`.
    sessions_ended: Mutex<BTreeMap<String, u64>>,
}

/// Gauges read at render time from the parts that own them.
pub struct Gauges {
    pub camera_up: bool,
    pub camera_fps: f64,
    pub session_active: bool,
    pub uptime_seconds: u64,
}

impl Telemetry {
    pub fn analysed(&self, elapsed: std::time::Duration) {
        self.frames_analysed.fetch_add(1, Ordering::Relaxed);
        self.analysis_micros_total.fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn session_ended(&self, outcome: &str) {
        *self.sessions_ended.lock().unwrap_or_else(|p| p.into_inner()).entry(outcome.to_string()).or_default() += 1;
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
        let text = t.render(&Gauges { camera_up: true, camera_fps: 29.5, session_active: false, uptime_seconds: 3 });
        assert!(text.contains("# TYPE idverifd_frames_captured_total counter\nidverifd_frames_captured_total 5\n"));
        assert!(text.contains("idverifd_analysis_seconds_total 1.5\n"), "{text}");
        assert!(text.contains("idverifd_sessions_ended_total{outcome=\"verified\"} 1\n"));
        assert!(text.contains("idverifd_camera_fps 29.5\n"));
    }
}
