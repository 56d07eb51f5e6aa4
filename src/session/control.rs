//! The registration API's handle on sessions: start (one at a time per camera),
//! cancel, read, and subscribe to events. The engine thread owns the running
//! session; the controller talks to it through two bounded queues: one for the
//! registration API (start, cancel) and one for the subject's actions on the
//! kiosk, so no burst of kiosk requests can keep a cancel out.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, oneshot};

use super::{Decision, SessionEvent, SessionRecord, StartRequest, new_session_id};
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

/// Queue lengths: the API's commands are few (one start, one cancel at a time);
/// the kiosk's come from one subject's taps.
const API_QUEUE: usize = 16;
const KIOSK_QUEUE: usize = 8;

/// The engine's end of the two queues.
pub struct Inbox {
    api: Receiver<Command>,
    kiosk: Receiver<Command>,
}

impl Inbox {
    /// The next command, the API's first.
    pub fn next(&self) -> Option<Command> {
        self.api.try_recv().or_else(|_| self.kiosk.try_recv()).ok()
    }
}

pub struct Controller {
    store: Arc<Store>,
    commands: SyncSender<Command>,
    subject_actions: SyncSender<Command>,
    events: broadcast::Sender<(String, SessionEvent)>,
    active: Mutex<Option<String>>,
}

impl Controller {
    pub fn new(store: Arc<Store>) -> (Self, Inbox) {
        let (events, _) = broadcast::channel(256);
        let (commands, api) = std::sync::mpsc::sync_channel(API_QUEUE);
        let (subject_actions, kiosk) = std::sync::mpsc::sync_channel(KIOSK_QUEUE);
        (Self { store, commands, subject_actions, events, active: Mutex::new(None) }, Inbox { api, kiosk })
    }

    fn active_slot(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn active(&self) -> Option<String> {
        self.active_slot().clone()
    }

    /// Starts a session owned by `owner` (the authenticated client), named in
    /// the audit trail as `actor`.
    pub fn start(&self, request: StartRequest, owner: &str, actor: &Actor) -> Result<SessionRecord, StartError> {
        validate(&request).map_err(StartError::Invalid)?;
        if let Some(minor) = &request.guardian_for {
            let target = self.store.get_session(minor)?;
            if let Some(why) = guardian_target_problem(target.as_ref(), owner) {
                return Err(StartError::Invalid(why.into()));
            }
        }
        let mut active = self.active_slot();
        if let Some(id) = active.as_ref() {
            return Err(StartError::Busy { active: id.clone() });
        }
        let mut record = SessionRecord::new(new_session_id(), request);
        record.owner = Some(owner.to_string());
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

    /// A subject's action from the kiosk; ignored unless `id` is running. Goes
    /// on the kiosk's own queue: a full one refuses the action, never an API command.
    pub fn subject_action(&self, command: Command) -> bool {
        self.subject_actions.try_send(command).is_ok()
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

/// Why `guardian_for` may not name `target`: it must be a session of the same
/// client whose decision awaits a guardian. One message for every case, so a
/// client learns nothing about other clients' sessions.
pub fn guardian_target_problem(target: Option<&SessionRecord>, owner: &str) -> Option<&'static str> {
    let acceptable = target.is_some_and(|t| {
        t.owner.as_deref().is_none_or(|o| o == owner)
            && t.outcome.as_ref().is_some_and(|o| o.decision == Decision::PendingGuardian)
    });
    (!acceptable).then_some("guardian_for must name one of your verifications whose decision is pending_guardian")
}

const MAX_TEXT: usize = 256;

fn validate(r: &StartRequest) -> Result<(), String> {
    let printable = |s: &str| s.chars().all(|c| !c.is_control());
    // Characters, as JSON Schema's maxLength counts them (the OpenAPI document says so).
    let length = |s: &str| s.chars().count();
    if r.reference.trim().is_empty() || length(&r.reference) > MAX_TEXT || !printable(&r.reference) {
        return Err(format!("reference must be 1 to {MAX_TEXT} printable characters"));
    }
    if length(&r.nonce) < 8 || length(&r.nonce) > MAX_TEXT || !printable(&r.nonce) {
        return Err(format!("nonce must be 8 to {MAX_TEXT} printable characters; use a fresh random value"));
    }
    if let Some(iin) = &r.expected_iin
        && !(iin.len() == 12 && iin.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("expected_iin must be 12 digits".into());
    }
    if let Some(g) = &r.guardian_for
        && (g.is_empty() || length(g) > MAX_TEXT || !printable(g))
    {
        return Err("guardian_for must be a verification id".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Language, Outcome};

    fn minor(owner: &str, decision: Option<Decision>) -> SessionRecord {
        let request = StartRequest {
            reference: "r".into(),
            nonce: "n".repeat(8),
            language: Language::Kk,
            expected_iin: None,
            guardian_for: None,
            document: None,
        };
        let mut record = SessionRecord::new(new_session_id(), request);
        record.owner = Some(owner.into());
        record.outcome = decision.map(|decision| Outcome { decision, reasons: vec![], checks: vec![] });
        record
    }

    #[test]
    fn a_guardian_may_only_complete_a_pending_minor_of_the_same_client() {
        assert_eq!(guardian_target_problem(Some(&minor("token:a", Some(Decision::PendingGuardian))), "token:a"), None);
        for (target, why) in [
            (None, "no such session"),
            (Some(minor("token:b", Some(Decision::PendingGuardian))), "another client's"),
            (Some(minor("token:a", Some(Decision::Verified))), "already verified"),
            (Some(minor("token:a", Some(Decision::NeedsReview))), "needs review"),
            (Some(minor("token:a", None)), "not decided yet"),
        ] {
            assert!(guardian_target_problem(target.as_ref(), "token:a").is_some(), "{why}");
        }
    }

    #[test]
    fn the_engine_takes_api_commands_before_the_kiosks_and_a_full_kiosk_queue_leaves_the_api_free() {
        let dir = std::env::temp_dir().join(format!("idverifd-control-{}", std::process::id()));
        let store = Arc::new(Store::open(&dir, crate::store::Kek::for_tests()).unwrap());
        let (controller, inbox) = Controller::new(store);
        let mut accepted = 0;
        while controller.subject_action(Command::Continue { id: "x".into() }) {
            accepted += 1;
        }
        assert_eq!(accepted, KIOSK_QUEUE);
        let (reply, _answer) = oneshot::channel();
        controller.commands.try_send(Command::Cancel { id: "x".into(), reply }).expect("the API's queue is free");
        assert!(matches!(inbox.next(), Some(Command::Cancel { .. })), "the cancel comes first");
        assert!(matches!(inbox.next(), Some(Command::Continue { .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
