//! The technicians' status page (HTTPS, password): camera, frame rates, models,
//! keys, certificate, disk, today's counts, recent errors — and a live preview only
//! while no session runs. Never a name, IIN, document number or face of a subject:
//! everything here is built from counters and device facts, not session records.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};

use super::ApiError;
use super::preview::PreviewFeed;
use crate::capture::CameraStatus;
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
    pub tls_not_after_unix: i64,
    pub store: Arc<crate::store::Store>,
}

impl Vitals {
    pub fn gauges(&self) -> Gauges {
        let camera = self.camera.snapshot();
        Gauges {
            camera_up: camera.state == CameraState::Streaming,
            camera_fps: camera.fps_in,
            session_active: self.controller.active().is_some(),
            uptime_seconds: self.started.elapsed().as_secs(),
            state_dir_bytes: dir_bytes(&self.state_dir),
            disk_free_bytes: free_bytes(&self.state_dir),
            tls_not_after_unix: self.tls_not_after_unix,
        }
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
    pub tls_sha256: String,
}

pub struct StatusState {
    pub vitals: Arc<Vitals>,
    pub facts: DeviceFacts,
    pub preview: Arc<PreviewFeed>,
    pub password_hash: String,
    /// When a successful login was last written to the audit trail.
    pub login_audited_unix: std::sync::atomic::AtomicU64,
}

const LOGIN_AUDIT_QUIET_SECS: u64 = 600;

pub fn router(state: Arc<StatusState>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(STATUS_HTML) }))
        .route("/status.json", get(status_json))
        .route("/preview.mjpeg", get(preview))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), require_technician))
        .with_state(state)
}

async fn require_technician(State(state): State<Arc<StatusState>>, request: Request, next: Next) -> Response {
    let password = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(_, p)| p.to_string()));
    let presented = password.is_some();
    let hash = state.password_hash.clone();
    // Argon2 is deliberately slow: keep it off the async workers.
    let accepted = match password {
        Some(p) => tokio::task::spawn_blocking(move || verify_password(&hash, &p)).await.unwrap_or(false),
        None => false,
    };
    // Failures always reach the audit trail; a success once per quiet spell (the
    // page polls with the same credentials every few seconds).
    let now = crate::unix_now();
    let last = state.login_audited_unix.load(std::sync::atomic::Ordering::Relaxed);
    // A request without credentials (a browser's first) is no login attempt.
    if presented && (!accepted || now.saturating_sub(last) >= LOGIN_AUDIT_QUIET_SECS) {
        if accepted {
            state.login_audited_unix.store(now, std::sync::atomic::Ordering::Relaxed);
        }
        let action = if accepted { "technician_login_succeeded" } else { "technician_login_failed" };
        let vitals = Arc::clone(&state.vitals);
        let _ = tokio::task::spawn_blocking(move || vitals.controller.audit(&crate::store::Actor::Technician, None, action)).await;
    }
    if accepted {
        return next.run(request).await;
    }
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "the technician password is needed").into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"idverifd status\", charset=\"UTF-8\""));
    response
}

pub fn verify_password(phc: &str, password: &str) -> bool {
    use argon2::PasswordVerifier;
    argon2::PasswordHash::new(phc)
        .is_ok_and(|hash| argon2::Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
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
        "tls": { "sha256": f.tls_sha256, "not_after": unix_to_rfc3339(vitals.tls_not_after_unix) },
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
    Ok(state.preview.stream(move || controller.active().is_none()))
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

/// Expiry (Unix time) of a DER certificate.
pub fn certificate_not_after(der: &[u8]) -> i64 {
    x509_parser::parse_x509_certificate(der).map(|(_, cert)| cert.validity().not_after.timestamp()).unwrap_or(0)
}
