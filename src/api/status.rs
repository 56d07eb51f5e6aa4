//! The technicians' status page (HTTPS, password): camera, frame rates, models,
//! keys, certificate, disk, today's counts, recent errors — and a live preview only
//! while no session runs. Never a name, IIN, document number or face of a subject:
//! everything here is built from counters and device facts, not session records.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{Html, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::ApiError;
use super::auth::TechnicianAuth;
use super::limits::StreamSlots;
use crate::capture::{CameraStatus, Preview};
use crate::capture::pipeline::CameraState;
use crate::session::Controller;
use crate::telemetry::{Gauges, Telemetry};
use crate::vision::models::ModelInfo;

const STATUS_HTML: &str = include_str!("status.html");

/// Live figures shared by the status page and `/metrics`.
pub struct Vitals {
    pub started: Instant,
    pub camera: Arc<CameraStatus>,
    pub telemetry: Arc<Telemetry>,
    pub controller: Arc<Controller>,
    pub state_dir: PathBuf,
    /// The certificate the API and this page serve (renewed while running).
    pub tls: Arc<super::tls::LiveCertificate>,
    /// Disk figures, measured by [`Vitals::measure_disk`] now and then, never per request.
    pub state_dir_bytes: AtomicU64,
    pub disk_free_bytes: AtomicU64,
    pub store: Arc<crate::store::Store>,
}

impl Vitals {
    /// Reads memory only: cheap enough for any scrape rate.
    pub fn gauges(&self) -> Gauges {
        let camera = self.camera.snapshot();
        Gauges {
            camera_up: camera.state == CameraState::Streaming,
            camera_fps: camera.fps_in,
            session_active: self.controller.active().is_some(),
            uptime_seconds: self.started.elapsed().as_secs(),
            state_dir_bytes: self.state_dir_bytes.load(Ordering::Relaxed),
            disk_free_bytes: self.disk_free_bytes.load(Ordering::Relaxed),
            tls_not_after_unix: self.tls.not_after(),
        }
    }

    /// Walks the state directory (blocking; run it off the async workers).
    pub fn measure_disk(&self) {
        self.state_dir_bytes.store(dir_bytes(&self.state_dir), Ordering::Relaxed);
        self.disk_free_bytes.store(free_bytes(&self.state_dir), Ordering::Relaxed);
    }

    /// How personal data is kept: which key wraps it, the oldest still held, and
    /// records set aside because they do not decode. Counts and ages only.
    pub fn store_facts(&self) -> Value {
        let store = &self.store;
        let quarantined = store.quarantined();
        json!({
            "key_encryption_key": store.kek_source().map(|k| k.kind()),
            "key_encryption_key_detail": store.kek_source().map(|k| k.describe()),
            "oldest_personal_record_age_seconds": store.oldest_personal_age(crate::unix_now()),
            "quarantined_records": quarantined.len(),
            "quarantine": quarantined.iter().map(|q| json!({"tree": q.tree, "key": q.key, "at": q.at, "reason": q.reason})).collect::<Vec<_>>(),
            "webhooks": store.outbox_counts(),
        })
    }
}

/// Facts about the device that do not change while it runs.
pub struct DeviceFacts {
    pub device_id: String,
    pub config: String,
    pub models: Vec<ModelInfo>,
    pub kid: String,
    pub jwks_url: String,
}

pub struct StatusState {
    pub vitals: Arc<Vitals>,
    pub facts: DeviceFacts,
    pub preview: Arc<Preview>,
    pub technician: Arc<TechnicianAuth>,
    pub streams: StreamSlots,
}

pub fn router(state: Arc<StatusState>) -> Router {
    super::finish_router(
        Router::new()
            .route("/", get(|| async { Html(STATUS_HTML) }))
            .route("/status.json", get(status_json))
            .route("/preview.mjpeg", get(preview))
            .route_layer(middleware::from_fn_with_state(Arc::clone(&state.technician), super::auth::require_technician))
            .with_state(state),
    )
}

async fn status_json(State(state): State<Arc<StatusState>>) -> Json<Value> {
    let vitals = &state.vitals;
    let (gauges, store) = tokio::task::spawn_blocking({
        let vitals = Arc::clone(vitals);
        move || (vitals.gauges(), vitals.store_facts())
    })
    .await
    .unwrap_or_default();
    let camera = vitals.camera.snapshot();
    let t = &vitals.telemetry;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    let f = &state.facts;
    Json(json!({
        "daemon": {
            "software": crate::SOFTWARE_VERSION,
            "device_id": f.device_id,
            "config": f.config,
            "uptime_seconds": gauges.uptime_seconds,
        },
        "camera": {
            "state": camera.state,
            "source": camera.source,
            "driver": camera.identity.driver,
            "card": camera.identity.card,
            "bus": camera.identity.bus,
            "format": format!("BGR {}x{}", camera.width, camera.height),
            "fps_in": round1(camera.fps_in),
            "frames_captured": load(&t.frames_captured),
            "frames_analysed": load(&t.frames_analysed),
            "frames_dropped": load(&t.frames_dropped),
            "restarts": camera.restarts,
            "last_error": camera.last_error,
            "since_last_frame_ms": camera.since_last_frame_ms,
        },
        "analysis": { "face_ms_mean": round1(t.analysis_ms_mean()) },
        "models": f.models,
        "signing": { "kid": f.kid, "jwks_url": f.jwks_url },
        "tls": { "sha256": vitals.tls.fingerprint(), "not_after": unix_to_rfc3339(vitals.tls.not_after()) },
        "storage": { "state_dir_bytes": gauges.state_dir_bytes, "disk_free_bytes": gauges.disk_free_bytes },
        "store": store,
        "sessions_today": t.sessions_today(),
        "session_active": gauges.session_active,
        "recent_errors": t.recent_errors(),
    }))
}

/// The camera picture, only while no subject is in front of it for a session.
async fn preview(State(state): State<Arc<StatusState>>) -> Result<Response, ApiError> {
    let controller = Arc::clone(&state.vitals.controller);
    if controller.active().is_some() {
        return Err(ApiError::new(StatusCode::CONFLICT, "session_running", "no preview while a session runs"));
    }
    let slot = state.streams.take().ok_or_else(super::no_stream_slot)?;
    Ok(super::preview::mjpeg(&state.preview, slot, move || controller.active().is_none()))
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn unix_to_rfc3339(secs: i64) -> Option<String> {
    let t = std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(u64::try_from(secs).ok()?))?;
    Some(humantime::format_rfc3339_seconds(t).to_string())
}

/// Bytes of every file under `dir`.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

fn free_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return 0 };
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a zeroed out-parameter of the right type.
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return 0;
    }
    stat.f_bavail as u64 * stat.f_frsize as u64
}
