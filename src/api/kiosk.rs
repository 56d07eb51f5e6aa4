//! The kiosk: the candidate's screen, served on a loopback listener to the kiosk
//! browser on the appliance. It shows the running session only — its prompts,
//! the live preview and the subject's own photo — and carries the subject's
//! actions (language and consent, retake, continue) back to the engine. Between
//! sessions it shows nothing of anyone.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};

use super::kiosk_door::{KioskDoor, require_kiosk_key};
use super::limits::StreamSlots;
use super::{ApiError, session_events};
use crate::capture::Preview;
use crate::session::control::Command;
use crate::session::{Controller, Language};
use crate::vision::Oval;

const INDEX_HTML: &str = include_str!("kiosk/index.html");
const KIOSK_CSS: &str = include_str!("kiosk/kiosk.css");
const KIOSK_JS: &str = include_str!("kiosk/kiosk.js");

pub struct KioskState {
    pub controller: Arc<Controller>,
    pub preview: Arc<Preview>,
    pub oval: Oval,
    pub door: Arc<KioskDoor>,
    pub streams: StreamSlots,
    /// The kiosk script with its texts filled in ([`kiosk_script`]).
    pub script: String,
}

/// The kiosk script with every text in it, the centre's own wording applied.
pub fn kiosk_script(centre: &crate::config::CentreWording) -> String {
    super::kiosk_strings::script(KIOSK_JS, centre)
}

pub fn router(state: Arc<KioskState>) -> Router {
    let door = Arc::clone(&state.door);
    let routes = Router::new()
        .route("/", get(|| async { Html(INDEX_HTML) }))
        .route("/kiosk/kiosk.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], KIOSK_CSS) }))
        .route("/kiosk/kiosk.js", get(|state: State<Arc<KioskState>>| async move {
            ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], state.script.clone())
        }))
        .route("/kiosk/api/session", get(current_session))
        .route("/kiosk/api/events", get(events))
        .route("/kiosk/api/consent", post(consent))
        .route("/kiosk/api/retake", post(retake))
        .route("/kiosk/api/continue", post(continue_))
        .route("/kiosk/api/iin", post(iin))
        .route("/kiosk/api/guardian", post(guardian))
        .route("/kiosk/api/photo", get(photo))
        .route("/kiosk/preview.mjpeg", get(preview))
        .with_state(state);
    // The key is checked before routing: without it, not even a 404 is told.
    super::finish_router(routes).layer(axum::middleware::from_fn_with_state(door, require_kiosk_key))
}

/// Total bytes of the page's assets (HTML + CSS + JS), for the page-weight figure.
pub fn page_weight() -> usize {
    INDEX_HTML.len() + KIOSK_CSS.len() + KIOSK_JS.len()
}

#[derive(Deserialize)]
struct SessionParam {
    session: String,
}

#[derive(Deserialize)]
struct ConsentBody {
    session: String,
    language: Language,
}

async fn current_session(State(state): State<Arc<KioskState>>) -> Result<Json<Value>, ApiError> {
    let Some(id) = state.controller.active() else { return Ok(Json(json!({"session": null}))) };
    let Some(record) = state.controller.get(&id).map_err(ApiError::storage)? else {
        return Ok(Json(json!({"session": null})));
    };
    // A guardian's own session shows whose guardian they are: the minor's name as printed.
    let minor_name = match &record.request.guardian_for {
        Some(minor) => state.controller.get(minor).map_err(ApiError::storage)?.and_then(|m| m.document).map(|d| {
            [&d["surname"], &d["given_names"]].iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(" ")
        }),
        None => None,
    };
    // While the subject types the IIN, the fields read from the document are
    // shown for them to check (their own session only).
    let read_fields = (record.stage == Some(crate::session::Stage::IinEntry)).then(|| record.document.as_ref()).flatten().map(|d| {
        json!({"surname": d["surname"], "given_names": d["given_names"], "patronymic": d["patronymic"], "birth_date": d["birth_date"]})
    });
    Ok(Json(json!({"session": {
        "id": record.id,
        "minor_name": minor_name,
        "read_fields": read_fields,
        "language": record.consent.as_ref().map_or(record.request.language, |c| c.language),
        "consent_given": record.consent.is_some(),
        "status": record.status,
        "stage": record.stage,
        "oval": state.oval,
    }})))
}

/// Only the running session's id is accepted: the kiosk never reaches another
/// subject's data, past or present.
fn require_active(state: &KioskState, id: &str) -> Result<(), ApiError> {
    if state.controller.active().as_deref() == Some(id) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::CONFLICT, "not_running", "that session is not running on this kiosk"))
    }
}

async fn events(
    State(state): State<Arc<KioskState>>,
    Query(q): Query<SessionParam>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    require_active(&state, &q.session)?;
    session_events(Arc::clone(&state.controller), state.streams.clone(), q.session)
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(|r| {
        let status = if r.status() == StatusCode::UNPROCESSABLE_ENTITY { StatusCode::BAD_REQUEST } else { r.status() };
        ApiError::new(status, "invalid_request", r.body_text())
    })
}

fn send(state: &KioskState, command: Command) -> Result<Json<Value>, ApiError> {
    if state.controller.subject_action(command) {
        Ok(Json(json!({"ok": true})))
    } else {
        Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "engine_busy", "please try again"))
    }
}

async fn consent(State(state): State<Arc<KioskState>>, b: Result<Json<ConsentBody>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    let b = body(b)?;
    require_active(&state, &b.session)?;
    send(&state, Command::Consent { id: b.session, language: b.language })
}

async fn retake(State(state): State<Arc<KioskState>>, b: Result<Json<SessionParam>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    let b = body(b)?;
    require_active(&state, &b.session)?;
    send(&state, Command::Retake { id: b.session })
}

async fn continue_(State(state): State<Arc<KioskState>>, b: Result<Json<SessionParam>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    let b = body(b)?;
    require_active(&state, &b.session)?;
    send(&state, Command::Continue { id: b.session })
}

#[derive(Deserialize)]
struct GuardianBody {
    session: String,
    /// "I am their parent (legal guardian) and I agree …"
    confirmed: bool,
}

async fn guardian(State(state): State<Arc<KioskState>>, b: Result<Json<GuardianBody>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    let b = body(b)?;
    require_active(&state, &b.session)?;
    if !b.confirmed {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "not_confirmed", "the guardian must confirm the declaration"));
    }
    send(&state, Command::GuardianDeclaration { id: b.session })
}

#[derive(Deserialize)]
struct IinBody {
    session: String,
    iin: String,
    /// "I confirm the data are true."
    confirmed: bool,
}

/// The IIN typed by the subject when OCR could not read it, with their confirmation.
async fn iin(State(state): State<Arc<KioskState>>, b: Result<Json<IinBody>, JsonRejection>) -> Result<Json<Value>, ApiError> {
    let b = body(b)?;
    require_active(&state, &b.session)?;
    if !b.confirmed {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "not_confirmed", "the subject must confirm the data are true"));
    }
    // Never echo the number: a message saying what is wrong is enough.
    crate::identity::Iin::parse(b.iin.trim())
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "iin_invalid", e.to_string()))?;
    send(&state, Command::EnterIin { id: b.session, iin: b.iin.trim().to_string() })
}

/// The subject's own photo, for Retake / Continue; only while their session runs.
async fn photo(State(state): State<Arc<KioskState>>, Query(q): Query<SessionParam>) -> Result<Response, ApiError> {
    require_active(&state, &q.session)?;
    match state.controller.evidence(&q.session, "face").map_err(ApiError::storage)? {
        Some(jpeg) => Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], jpeg).into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "no_photo", "no photo has been taken yet")),
    }
}

/// The live camera picture, only while a session runs.
async fn preview(State(state): State<Arc<KioskState>>) -> Result<Response, ApiError> {
    if state.controller.active().is_none() {
        return Err(ApiError::new(StatusCode::CONFLICT, "not_running", "the preview is shown during a session only"));
    }
    let slot = state.streams.take().ok_or_else(super::no_stream_slot)?;
    let controller = Arc::clone(&state.controller);
    Ok(super::preview::mjpeg(&state.preview, slot, move || controller.active().is_some()))
}
