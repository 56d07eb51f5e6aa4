//! Stage 6, the API (axum over rustls). Enters: HTTPS requests from registration
//! servers. Leaves: sessions started and cancelled, their status, events (SSE) and
//! signed results; the JWKS; health and metrics. Errors are stable codes with plain
//! messages; causes go to the log, and no response or log line carries a subject's
//! personal data.

pub mod kiosk;
pub mod preview;
pub mod status;
pub mod tls;

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Extension, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::session::{Controller, EventKind, SessionEvent, SessionRecord, StartError, StartRequest};
use crate::signing::Jwks;
use crate::store::{Actor, StoreError};
use tls::PeerCertificate;

/// Everything the handlers share.
pub struct ApiState {
    pub controller: Arc<Controller>,
    pub jwks: Jwks,
    pub auth: ClientAuth,
    pub vitals: Arc<status::Vitals>,
}

/// The credentials a registration server may present.
#[derive(Debug, Clone, Default)]
pub struct ClientAuth {
    /// SHA-256 of each accepted bearer token.
    pub token_hashes: Vec<[u8; 32]>,
    /// Connections whose client certificate was pinned at the TLS layer.
    pub pinned_certs: Vec<String>,
}

impl ClientAuth {
    pub fn from_hex(token_hashes: &[String], pinned_certs: &[String]) -> Self {
        Self {
            token_hashes: token_hashes
                .iter()
                .filter_map(|h| hex::decode(h).ok().and_then(|b| <[u8; 32]>::try_from(b).ok()))
                .collect(),
            pinned_certs: pinned_certs.iter().map(|c| c.to_ascii_lowercase()).collect(),
        }
    }

    fn token_accepted(&self, token: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // Compare against every hash without an early exit.
        self.token_hashes.iter().fold(false, |found, h| found | bool::from(h.ct_eq(&digest)))
    }

    fn cert_accepted(&self, peer: Option<&PeerCertificate>) -> bool {
        peer.and_then(|p| p.0.as_deref()).is_some_and(|fp| self.pinned_certs.iter().any(|c| c == fp))
    }
}

/// A client-facing error: a stable code, a plain message, the right status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub(crate) fn not_found(id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no verification with id {id}"))
    }

    /// 507: the disk is full; nothing new can be kept until space is freed.
    pub(crate) fn disk_full(e: StoreError) -> Self {
        tracing::error!(error = %e, "disk full: new verification refused");
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "disk_full",
            "the device's disk is full; no new verification can be stored until space is freed",
        )
    }

    pub(crate) fn storage(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "store failure answered as 503");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", "the device's storage is failing; try again later")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": {"code": self.code, "message": self.message}}))).into_response()
    }
}

pub fn router(state: Arc<ApiState>) -> Router {
    let authenticated = Router::new()
        .route("/v1/verifications", post(create_verification))
        .route("/v1/verifications/{id}", get(get_verification))
        .route("/v1/verifications/{id}/events", get(verification_events))
        .route("/v1/verifications/{id}/cancel", post(cancel_verification))
        .route("/v1/verifications/{id}/result", get(verification_result))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&state), require_client));
    Router::new()
        .merge(authenticated)
        .route("/.well-known/jwks.json", get(jwks))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .with_state(state)
}

async fn require_client(State(state): State<Arc<ApiState>>, headers: HeaderMap, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<PeerCertificate>().and_then(|p| p.0.clone());
    let by_cert = state.auth.cert_accepted(request.extensions().get::<PeerCertificate>());
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| state.auth.token_accepted(t));
    // The audit trail names the client by its certificate fingerprint or by a
    // prefix of its token's hash: never the token itself.
    let actor = match (by_cert, token) {
        (true, _) => Some(Actor::Client(format!("cert:{}", peer.unwrap_or_default()))),
        (false, Some(t)) => Some(Actor::Client(format!("token:{}", &hex::encode(Sha256::digest(t.as_bytes()))[..16]))),
        (false, None) => None,
    };
    if let Some(actor) = actor {
        request.extensions_mut().insert(actor);
        return next.run(request).await;
    }
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "present a pinned client certificate or a bearer token",
    )
    .into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

async fn create_verification(
    State(state): State<Arc<ApiState>>,
    Extension(actor): Extension<Actor>,
    body: Result<Json<StartRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(request) = body.map_err(|rejection| {
        let status = if matches!(rejection, JsonRejection::MissingJsonContentType(_)) {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError::new(status, "invalid_request", rejection.body_text())
    })?;
    let record = state.controller.start_by(request, &actor).map_err(|e| match e {
        StartError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", m),
        StartError::Busy { active } => ApiError::new(
            StatusCode::CONFLICT,
            "session_running",
            format!("verification {active} is running on this camera; wait for its decision or cancel it"),
        ),
        StartError::NonceReused => ApiError::new(StatusCode::CONFLICT, "nonce_reused", e.to_string()),
        StartError::Store(e) if e.is_disk_full() => ApiError::disk_full(e),
        StartError::Store(e) => ApiError::storage(e),
        StartError::EngineGone => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "engine_unavailable", e.to_string()),
    })?;
    state.vitals.telemetry.sessions_started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(session = %record.id, "verification started");
    Ok((StatusCode::CREATED, Json(view(&record))))
}

/// The status of a session as the registration server sees it.
fn view(r: &SessionRecord) -> Value {
    json!({
        "id": r.id,
        "reference": r.request.reference,
        "status": r.status,
        "stage": r.stage,
        "history": r.history,
        "created_at": r.created_at,
        "decided_at": r.decided_at,
        "decision": r.outcome.as_ref().map(|o| json!({"decision": o.decision, "reasons": o.reasons, "checks": o.checks})),
        "evidence": r.evidence.iter().map(|e| json!({"kind": e.kind, "sha256": e.sha256})).collect::<Vec<_>>(),
        "purged": r.purged,
        "interrupted_reason": r.interrupted_reason,
        "links": {
            "events": format!("/v1/verifications/{}/events", r.id),
            "result": format!("/v1/verifications/{}/result", r.id),
        },
    })
}

fn load(state: &ApiState, id: &str) -> Result<SessionRecord, ApiError> {
    state.controller.get(id).map_err(ApiError::storage)?.ok_or_else(|| ApiError::not_found(id))
}

async fn get_verification(State(state): State<Arc<ApiState>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(view(&load(&state, &id)?)))
}

async fn cancel_verification(
    State(state): State<Arc<ApiState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let record = load(&state, &id)?;
    state.controller.audit(&actor, Some(&record.id), "cancel_requested");
    if record.status.is_terminal() {
        return Err(ApiError::new(StatusCode::CONFLICT, "already_ended", format!("verification {id} has already ended")));
    }
    let cancelled = state.controller.cancel(&id).await.ok_or_else(|| {
        ApiError::new(StatusCode::CONFLICT, "already_ended", format!("verification {id} ended before it could be cancelled"))
    })?;
    Ok(Json(view(&cancelled)))
}

async fn verification_result(
    State(state): State<Arc<ApiState>>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = load(&state, &id)?;
    if record.result_purged {
        return Err(ApiError::new(StatusCode::GONE, "purged", "the result was removed after the retention period"));
    }
    match state.controller.result(&id).map_err(ApiError::storage)? {
        Some(jws) => {
            state.controller.audit(&actor, Some(&record.id), "result_fetched");
            Ok(([(header::CONTENT_TYPE, "application/jose")], jws).into_response())
        }
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_decided",
            format!("verification {id} has no decision (status {})", serde_json::to_value(record.status).unwrap_or_default()),
        )),
    }
}

async fn verification_events(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    session_events(Arc::clone(&state.controller), id)
}

/// Replays the stored events, then follows live ones; ends after the last event of
/// a finished session. Serves the registration API and the kiosk alike.
pub(crate) fn session_events(
    controller: Arc<Controller>,
    id: String,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribe before reading the record so nothing falls between the two.
    let mut live = controller.subscribe();
    let record = controller.get(&id).map_err(ApiError::storage)?.ok_or_else(|| ApiError::not_found(&id))?;
    let finished = record.status.is_terminal();
    let mut last_seq = record.events.last().map_or(0, |e| e.seq);
    let history = record.events;
    let stream = channel_stream(32, move |tx: tokio::sync::mpsc::Sender<Event>| async move {
        for event in history {
            if tx.send(sse_event(&event)).await.is_err() {
                return;
            }
        }
        if finished {
            return;
        }
        loop {
            match live.recv().await {
                Ok((sid, event)) if sid == id && event.seq > last_seq => {
                    last_seq = event.seq;
                    let ends = is_final(&event.kind);
                    if tx.send(sse_event(&event)).await.is_err() || ends {
                        return;
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    // A slow reader missed events: send what the record holds now.
                    let Ok(Some(record)) = controller.get(&id) else { return };
                    let missed: Vec<_> = record.events.into_iter().filter(|e| e.seq > last_seq).collect();
                    for event in missed {
                        last_seq = event.seq;
                        if tx.send(sse_event(&event)).await.is_err() {
                            return;
                        }
                    }
                    if record.status.is_terminal() {
                        return;
                    }
                }
                Err(_) => return,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn is_final(kind: &EventKind) -> bool {
    match kind {
        EventKind::Decision { .. } => true,
        EventKind::Status { status } => status.is_terminal(),
        _ => false,
    }
}

fn sse_event(event: &SessionEvent) -> Event {
    Event::default()
        .event(event.kind.name())
        .id(event.seq.to_string())
        .data(serde_json::to_string(event).unwrap_or_default())
}

/// A stream fed by a task through a small channel (keeps handlers free of
/// hand-written `Stream` impls). The task ends when the client goes away.
pub(crate) fn channel_stream<T, F, Fut>(capacity: usize, producer: F) -> impl Stream<Item = Result<T, Infallible>>
where
    T: Send + 'static,
    F: FnOnce(tokio::sync::mpsc::Sender<T>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(capacity);
    tokio::spawn(producer(tx));
    futures_util::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok)
}

async fn jwks(State(state): State<Arc<ApiState>>) -> Json<Jwks> {
    Json(state.jwks.clone())
}

async fn healthz(State(state): State<Arc<ApiState>>) -> Json<Value> {
    let camera = state.vitals.camera.snapshot();
    Json(json!({
        "status": "ok",
        "uptime_seconds": state.vitals.started.elapsed().as_secs(),
        "camera": {"state": camera.state, "fps": (camera.fps_in * 10.0).round() / 10.0, "restarts": camera.restarts},
        "session_active": state.controller.active().is_some(),
    }))
}

async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    let vitals = Arc::clone(&state.vitals);
    let text = tokio::task::spawn_blocking(move || vitals.telemetry.render(&vitals.gauges())).await.unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
