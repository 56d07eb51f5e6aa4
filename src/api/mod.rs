//! Stage 6, the API (axum over rustls). Enters: HTTPS requests from registration
//! servers. Leaves: sessions started and cancelled, their status, events (SSE) and
//! signed results; the JWKS; health and metrics. Errors are stable codes with plain
//! messages; causes go to the log, and no response or log line carries a subject's
//! personal data.

pub mod auth;
pub mod conn;
pub mod errors;
pub mod kiosk;
pub mod kiosk_door;
pub mod kiosk_strings;
pub mod limits;
pub mod openapi;
pub mod preview;
pub mod request_metrics;
pub mod response_log;
pub mod status;
pub mod tls;
pub mod views;

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use futures_util::Stream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::{Caller, ClientAuth};
pub use errors::ApiError;
use errors::ErrorBody;
use views::{Health, HealthStatus, VerificationView};
use limits::StreamSlots;

use crate::session::{Controller, EventKind, SessionEvent, SessionRecord, StartError, StartRequest};
use crate::signing::Jwks;

/// Largest request body accepted (a start request is well under 2 KiB).
pub const MAX_BODY: usize = 16 * 1024;

/// Everything the handlers share.
pub struct ApiState {
    pub controller: Arc<Controller>,
    pub jwks: Jwks,
    pub auth: Arc<ClientAuth>,
    pub vitals: Arc<status::Vitals>,
    /// Open event streams, at most.
    pub streams: StreamSlots,
}

/// Layers every router gets: bounded bodies, JSON refusals for every path, method and extractor.
pub(crate) fn finish_router(router: Router) -> Router {
    router
        .fallback(errors::no_such_endpoint)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(|request, next| errors::read_body_first(MAX_BODY, request, next)))
        .layer(middleware::from_fn(errors::json_errors))
}

/// The registration server's routes (a client credential).
fn client_routes() -> OpenApiRouter<Arc<ApiState>> {
    OpenApiRouter::new()
        .routes(routes!(create_verification))
        .routes(routes!(get_verification))
        .routes(routes!(verification_events))
        .routes(routes!(cancel_verification))
        .routes(routes!(verification_result))
}

/// `/metrics`: a client credential or the scrape token.
fn scrape_routes() -> OpenApiRouter<Arc<ApiState>> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// No credential.
fn open_routes() -> OpenApiRouter<Arc<ApiState>> {
    OpenApiRouter::new().routes(routes!(jwks)).routes(routes!(healthz)).routes(routes!(openapi_json))
}

/// Every route with its description, without the layers: what [`openapi::document`] reads.
pub(crate) fn documented_routes(base: OpenApiRouter<Arc<ApiState>>) -> OpenApiRouter<Arc<ApiState>> {
    base.merge(client_routes()).merge(scrape_routes()).merge(open_routes())
}

pub fn router(state: Arc<ApiState>) -> Router {
    let (routes, _) = OpenApiRouter::new()
        .merge(client_routes().route_layer(middleware::from_fn_with_state(Arc::clone(&state.auth), auth::require_client)))
        .merge(scrape_routes().route_layer(middleware::from_fn_with_state(Arc::clone(&state.auth), auth::require_scraper)))
        .merge(open_routes())
        .split_for_parts();
    let observed = Arc::clone(&state.vitals.telemetry);
    let router = finish_router(routes.with_state(state)).layer(middleware::from_fn_with_state(observed, request_metrics::observe));
    match response_log::ResponseLog::from_env() {
        Some(log) => router.layer(middleware::from_fn_with_state(log, response_log::record)),
        None => router,
    }
}

#[utoipa::path(
    post,
    path = "/v1/verifications",
    tag = "verifications",
    summary = "Start a verification",
    description = "One session at a time per camera. The nonce is echoed in the signed result and may be used once.",
    request_body = StartRequest,
    security(("bearer" = []), ("mutualTLS" = [])),
    responses(
        (status = 201, description = "Started; the subject is awaited at the kiosk", body = VerificationView),
        (status = 400, description = "Malformed JSON, a missing or invalid field (`invalid_request`)", body = ErrorBody),
        (status = 401, description = "No valid client credential (`unauthenticated`)", body = ErrorBody,
            headers(("www-authenticate" = String, description = "`Bearer`"))),
        (status = 409, description = "A verification is running on this camera (`session_running`; the message names no session) or the nonce was used before (`nonce_reused`)", body = ErrorBody),
        (status = 413, description = "Body over 16 KiB (`body_too_large`)", body = ErrorBody),
        (status = 415, description = "Not `application/json` (`unsupported_media_type`)", body = ErrorBody),
        (status = 503, description = "Storage failing or the analysis engine stopped", body = ErrorBody),
        (status = 507, description = "The device's disk is full (`disk_full`)", body = ErrorBody),
    ),
)]
async fn create_verification(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<StartRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<VerificationView>), ApiError> {
    let Json(request) = body.map_err(|rejection| {
        let (status, code) = match rejection {
            JsonRejection::MissingJsonContentType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            JsonRejection::BytesRejection(_) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
            }
            _ => (StatusCode::BAD_REQUEST, "invalid_request"),
        };
        ApiError::new(status, code, rejection.body_text())
    })?;
    let record = state.controller.start(request, &caller.0, &caller.actor()).map_err(|e| match e {
        StartError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", m),
        StartError::Busy { .. } => ApiError::new(
            StatusCode::CONFLICT,
            "session_running",
            "a verification is running on this camera; wait for its decision or cancel it",
        ),
        StartError::NonceReused => ApiError::new(StatusCode::CONFLICT, "nonce_reused", e.to_string()),
        StartError::Store(e) if e.is_disk_full() => ApiError::disk_full(e),
        StartError::Store(e) => ApiError::storage(e),
        StartError::EngineGone => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "engine_unavailable", e.to_string()),
    })?;
    state.vitals.telemetry.sessions_started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(session = %record.id, "verification started");
    Ok((StatusCode::CREATED, Json(VerificationView::of(&record))))
}

/// A verification id from the path. A path that is not one (bad percent-encoding)
/// names no verification: 404, like an unknown id.
struct SessionId(String);

impl<S: Send + Sync> FromRequestParts<S> for SessionId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        Path::<String>::from_request_parts(parts, state).await.map(|Path(id)| SessionId(id)).map_err(|_| ApiError::not_found())
    }
}

/// The session, if it exists and belongs to `caller`; anyone else is told it does not exist.
fn load(state: &ApiState, caller: &Caller, id: &str) -> Result<SessionRecord, ApiError> {
    let record = state.controller.get(id).map_err(ApiError::storage)?.ok_or_else(ApiError::not_found)?;
    if record.owner.as_deref().is_some_and(|owner| owner != caller.0) {
        return Err(ApiError::not_found());
    }
    Ok(record)
}

#[utoipa::path(
    get,
    path = "/v1/verifications/{id}",
    tag = "verifications",
    summary = "Status, stage, history and decision",
    params(("id" = String, Path, description = "The verification's id, as `POST /v1/verifications` returned it")),
    security(("bearer" = []), ("mutualTLS" = [])),
    responses(
        (status = 200, description = "The verification", body = VerificationView),
        (status = 401, description = "No valid client credential (`unauthenticated`)", body = ErrorBody,
            headers(("www-authenticate" = String, description = "`Bearer`"))),
        (status = 404, description = "No such verification, or another client's (`not_found`)", body = ErrorBody),
        (status = 503, description = "Storage failing (`storage_unavailable`)", body = ErrorBody),
    ),
)]
async fn get_verification(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    SessionId(id): SessionId,
) -> Result<Json<VerificationView>, ApiError> {
    Ok(Json(VerificationView::of(&load(&state, &caller, &id)?)))
}

#[utoipa::path(
    post,
    path = "/v1/verifications/{id}/cancel",
    tag = "verifications",
    summary = "Cancel a running verification",
    params(("id" = String, Path, description = "The verification's id, as `POST /v1/verifications` returned it")),
    security(("bearer" = []), ("mutualTLS" = [])),
    responses(
        (status = 200, description = "Cancelled; the verification as it ended", body = VerificationView),
        (status = 401, description = "No valid client credential (`unauthenticated`)", body = ErrorBody,
            headers(("www-authenticate" = String, description = "`Bearer`"))),
        (status = 404, description = "No such verification, or another client's (`not_found`)", body = ErrorBody),
        (status = 503, description = "Storage failing (`storage_unavailable`)", body = ErrorBody),
        (status = 409, description = "It had already ended (`already_ended`)", body = ErrorBody),
    ),
)]
async fn cancel_verification(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    SessionId(id): SessionId,
) -> Result<Json<VerificationView>, ApiError> {
    let record = load(&state, &caller, &id)?;
    state.controller.audit(&caller.actor(), Some(&record.id), "cancel_requested");
    if record.status.is_terminal() {
        return Err(ApiError::new(StatusCode::CONFLICT, "already_ended", "the verification has already ended"));
    }
    let cancelled = state.controller.cancel(&id).await.ok_or_else(|| {
        ApiError::new(StatusCode::CONFLICT, "already_ended", "the verification ended before it could be cancelled")
    })?;
    Ok(Json(VerificationView::of(&cancelled)))
}

#[utoipa::path(
    get,
    path = "/v1/verifications/{id}/result",
    tag = "verifications",
    summary = "The signed result",
    description = "A compact JWS (RFC 7515), header `alg` `EdDSA` (or `Ed25519`), `kid` the signing key's \
        JWK thumbprint, `typ` `idverif+jws`, `x5c` once a certificate chain is installed. Verify it with \
        `/.well-known/jwks.json` or the chain.",
    params(("id" = String, Path, description = "The verification's id, as `POST /v1/verifications` returned it")),
    security(("bearer" = []), ("mutualTLS" = [])),
    responses(
        (status = 200, description = "The compact JWS", content_type = "application/jose", body = String),
        (status = 401, description = "No valid client credential (`unauthenticated`)", body = ErrorBody,
            headers(("www-authenticate" = String, description = "`Bearer`"))),
        (status = 404, description = "No such verification, or another client's (`not_found`)", body = ErrorBody),
        (status = 503, description = "Storage failing (`storage_unavailable`)", body = ErrorBody),
        (status = 409, description = "No decision yet (`not_decided`)", body = ErrorBody),
        (status = 410, description = "Removed after the result retention period (`purged`)", body = ErrorBody),
    ),
)]
async fn verification_result(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    SessionId(id): SessionId,
) -> Result<Response, ApiError> {
    let record = load(&state, &caller, &id)?;
    if record.result_purged {
        return Err(ApiError::new(StatusCode::GONE, "purged", "the result was removed after the retention period"));
    }
    match state.controller.result(&id).map_err(ApiError::storage)? {
        Some(jws) => {
            state.controller.audit(&caller.actor(), Some(&record.id), "result_fetched");
            Ok(([(header::CONTENT_TYPE, "application/jose")], jws).into_response())
        }
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_decided",
            format!("the verification has no decision yet (status {})", serde_json::to_value(record.status).unwrap_or_default()),
        )),
    }
}

#[utoipa::path(
    get,
    path = "/v1/verifications/{id}/events",
    tag = "verifications",
    summary = "Follow a verification (Server-Sent Events)",
    description = "Every stage change and prompt shown to the subject; stored events first, then live ones; \
        the stream ends after the decision. Each event's `data` is a `SessionEvent`.",
    params(("id" = String, Path, description = "The verification's id, as `POST /v1/verifications` returned it")),
    security(("bearer" = []), ("mutualTLS" = [])),
    responses(
        (status = 200, description = "The event stream", content_type = "text/event-stream", body = String),
        (status = 401, description = "No valid client credential (`unauthenticated`)", body = ErrorBody,
            headers(("www-authenticate" = String, description = "`Bearer`"))),
        (status = 404, description = "No such verification, or another client's (`not_found`)", body = ErrorBody),
        (status = 503, description = "Storage failing (`storage_unavailable`)", body = ErrorBody),
        (status = 429, description = "Too many open event streams (`too_many_streams`)", body = ErrorBody,
            headers(("retry-after" = u64, description = "Seconds to wait"))),
    ),
)]
async fn verification_events(
    State(state): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    SessionId(id): SessionId,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    load(&state, &caller, &id)?;
    session_events(Arc::clone(&state.controller), state.streams.clone(), id)
}

/// Refusal when every event-stream slot is taken.
pub(crate) fn no_stream_slot() -> ApiError {
    ApiError::too_many("too_many_streams", "too many open event streams; close one or try again later", 5)
}

/// Replays the stored events, then follows live ones; ends after the last event of
/// a finished session. Serves the registration API and the kiosk alike.
pub(crate) fn session_events(
    controller: Arc<Controller>,
    slots: StreamSlots,
    id: String,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let slot = slots.take().ok_or_else(no_stream_slot)?;
    // Subscribe before reading the record so nothing falls between the two.
    let mut live = controller.subscribe();
    let record = controller.get(&id).map_err(ApiError::storage)?.ok_or_else(ApiError::not_found)?;
    let finished = record.status.is_terminal();
    let mut last_seq = record.events.last().map_or(0, |e| e.seq);
    let history = record.events;
    let stream = channel_stream(32, move |tx: tokio::sync::mpsc::Sender<Event>| async move {
        let _slot = slot;
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

#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "device",
    summary = "The device's public signing keys",
    description = "Ed25519 keys as JWKs (RFC 8037); old keys stay after a rotation so old results still verify.",
    responses((status = 200, description = "The JWKS", body = Jwks)),
)]
async fn jwks(State(state): State<Arc<ApiState>>) -> Json<Jwks> {
    Json(state.jwks.clone())
}

/// Up or down, nothing more: it answers without credentials.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "device",
    summary = "Liveness of the daemon",
    responses((status = 200, description = "The daemon is up", body = Health)),
)]
async fn healthz() -> Json<Health> {
    Json(Health { status: HealthStatus::Up })
}

/// This API's OpenAPI 3.1 document; no credential, like the JWKS.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "device",
    summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
)]
async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi::document_text()).into_response()
}

/// Counters and gauges kept current by their owners: a scrape reads memory only.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "device",
    summary = "Prometheus metrics",
    security(("bearer" = []), ("mutualTLS" = []), ("scrapeToken" = [])),
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain", body = String),
        (status = 401, description = "No client credential or scrape token (`unauthenticated`)", body = ErrorBody,
            headers(("www-authenticate" = String, description = "`Bearer`"))),
    ),
)]
async fn metrics(State(state): State<Arc<ApiState>>) -> Response {
    let text = state.vitals.telemetry.render(&state.vitals.gauges());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
