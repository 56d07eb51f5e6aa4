//! The registration API's handle on sessions: start (one at a time per camera),
//! cancel, read, and subscribe to events. The engine thread owns the running
//! session; the controller talks to it through a bounded command channel.

use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, oneshot};

use super::{SessionEvent, SessionRecord, StartRequest, new_session_id};
use crate::store::{Actor, Store, StoreError};

/// What the engine is asked to do.
pub enum Command {
    Start(Box<SessionRecord>),
    Cancel { id: String, reply: oneshot::Sender<SessionRecord> },
    Consent { id: String, language: super::Language },
    GuardianDeclaration { id: String },
    Retake { id: String },
    /// The subject typed the IIN on the kiosk and confirmed the data are true.
    EnterIin { id: String, iin: String },
    Continue { id: String },
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Invalid(String),
    #[error("a verification is already running on this camera")]
    Busy { active: String },
    #[error("this nonce was already used; send a fresh nonce for every verification")]
    NonceReused,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the session engine is not running")]
    EngineGone,
}

pub struct Controller {
    store: Arc<Store>,
    commands: SyncSender<Command>,
    events: broadcast::Sender<(String, SessionEvent)>,
    active: Mutex<Option<String>>,
}

impl Controller {
    pub fn new(store: Arc<Store>, commands: SyncSender<Command>) -> Self {
        let (events, _) = broadcast::channel(256);
        Self { store, commands, events, active: Mutex::new(None) }
    }

    fn active_slot(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn active(&self) -> Option<String> {
        self.active_slot().clone()
    }

    pub fn start(&self, request: StartRequest) -> Result<SessionRecord, StartError> {
        self.start_by(request, &Actor::Client("unidentified".into()))
    }

    /// Starts a session on behalf of `actor`, who is named in the audit trail.
    pub fn start_by(&self, request: StartRequest, actor: &Actor) -> Result<SessionRecord, StartError> {
        validate(&request).map_err(StartError::Invalid)?;
        let mut active = self.active_slot();
        if let Some(id) = active.as_ref() {
            return Err(StartError::Busy { active: id.clone() });
        }
        let record = SessionRecord::new(new_session_id(), request);
        if !self.store.claim_nonce(&record.request.nonce, &record.id)? {
            return Err(StartError::NonceReused);
        }
        self.store.put_session_audited(&record, actor, "session_started")?;
        self.store.flush()?;
        match self.commands.try_send(Command::Start(Box::new(record.clone()))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => return Err(StartError::EngineGone),
        }
        *active = Some(record.id.clone());
        Ok(record)
    }

    /// Cancels the running session; `None` if `id` is not running.
    pub async fn cancel(&self, id: &str) -> Option<SessionRecord> {
        if self.active().as_deref() != Some(id) {
            return None;
        }
        let (reply, answer) = oneshot::channel();
        self.commands.try_send(Command::Cancel { id: id.to_string(), reply }).ok()?;
        answer.await.ok()
    }

    /// A subject's action from the kiosk; ignored unless `id` is running.
    pub fn subject_action(&self, command: Command) -> bool {
        self.commands.try_send(command).is_ok()
    }

    pub fn get(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.store.get_session(id)
    }

    pub fn result(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.store.get_result(id)
    }

    /// Records an action of a client, the technician or the kiosk in the audit trail.
    pub fn audit(&self, actor: &Actor, session: Option<&str>, action: &str) {
        if let Err(e) = self.store.audit_by(actor, session, action) {
            tracing::error!(error = %e, action, "audit trail write failed");
        }
    }

    pub fn evidence(&self, id: &str, kind: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get_evidence(id, kind)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<(String, SessionEvent)> {
        self.events.subscribe()
    }

    /// Called by the engine for every event it has stored.
    pub fn publish(&self, id: &str, event: SessionEvent) {
        let _ = self.events.send((id.to_string(), event));
    }

    /// Called by the engine when the session has reached a terminal status.
    pub fn ended(&self, id: &str) {
        let mut active = self.active_slot();
        if active.as_deref() == Some(id) {
            *active = None;
        }
    }
}

const MAX_TEXT: usize = 256;

fn validate(r: &StartRequest) -> Result<(), String> {
    let printable = |s: &str| s.chars().all(|c| !c.is_control());
    if r.reference.trim().is_empty() || r.reference.len() > MAX_TEXT || !printable(&r.reference) {
        return Err(format!("reference must be 1 to {MAX_TEXT} printable characters"));
    }
    if r.nonce.len() < 8 || r.nonce.len() > MAX_TEXT || !printable(&r.nonce) {
        return Err(format!("nonce must be 8 to {MAX_TEXT} printable characters; use a fresh random value"));
    }
    if let Some(iin) = &r.expected_iin
        && !(iin.len() == 12 && iin.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("expected_iin must be 12 digits".into());
    }
    if let Some(g) = &r.guardian_for
        && (g.is_empty() || g.len() > MAX_TEXT || !printable(g))
    {
        return Err("guardian_for must be a verification id".into());
    }
    Ok(())
}
