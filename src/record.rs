//! The stored shape of a session and everything it carries: request, stages,
//! events, outcome. Plain data with the two rules the store needs applied to a
//! record (`interrupt`, `purge_personal_data`) and the split of its personal fields
//! from the rest, so the store can seal them. Depends on nothing else of ours.

use serde::{Deserialize, Serialize};

/// What a registration server sends to start a session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The server's own identifier for the candidate's registration (1 to 256
    /// characters, not all spaces, no control characters).
    #[schema(min_length = 1, max_length = 256, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub reference: String,
    /// Echoed in the signed result so the server can refuse a replayed one: a fresh
    /// random value for every verification (8 to 256 characters, no control characters).
    #[schema(min_length = 8, max_length = 256, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub nonce: String,
    /// The kiosk's language for the subject.
    pub language: Language,
    /// The IIN the subject must have; a mismatch rejects the verification.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{12}$")]
    pub expected_iin: Option<String>,
    /// A minor's verification, decided `pending_guardian`, that this guardian's completes.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 256)]
    pub guardian_for: Option<String>,
    /// Which document the subject shows: an ID card (front and back, the default)
    /// or a passport data page.
    #[serde(default)]
    pub document: Option<DocumentKind>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    #[default]
    IdCard,
    Passport,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Kk,
    Ru,
    En,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    WaitingForSubject,
    InProgress,
    Decided,
    Cancelled,
    /// The daemon stopped while the session ran; it cannot be resumed.
    Interrupted,
}

impl Status {
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Decided | Status::Cancelled | Status::Interrupted)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// A guardian confirms, on the kiosk, whose parent or legal guardian they are.
    GuardianConsent,
    FaceCapture,
    FaceReview,
    /// Active liveness: the challenges, one after another.
    Liveness,
    /// The kiosk screen flashes colours that the face must reflect.
    ScreenFlash,
    DocumentFront,
    DocumentBack,
    PassportPage,
    /// OCR could not read the IIN: the subject types it and confirms.
    IinEntry,
    Done,
}

impl Stage {
    /// The wire name (as serialised), e.g. for a metric label.
    pub fn name(self) -> &'static str {
        match self {
            Stage::GuardianConsent => "guardian_consent",
            Stage::FaceCapture => "face_capture",
            Stage::FaceReview => "face_review",
            Stage::Liveness => "liveness",
            Stage::ScreenFlash => "screen_flash",
            Stage::DocumentFront => "document_front",
            Stage::DocumentBack => "document_back",
            Stage::PassportPage => "passport_page",
            Stage::IinEntry => "iin_entry",
            Stage::Done => "done",
        }
    }
}

/// Everything the subject is told, in a form each kiosk language can render.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    ShowFace,
    OnePersonOnly,
    TooDark,
    TooBright,
    CenterFace,
    MoveCloser,
    MoveBack,
    LookStraight,
    HoldStill,
    Countdown,
    Captured,
    CameraUnavailable,
    ShowFront,
    ShowBack,
    ShowPassport,
    MoveCardCloser,
    TooBlurry,
    Glare,
    HoldCardFlat,
    EnterIin,
    TurnLeft,
    TurnRight,
    LookUp,
    Blink,
    LookAtScreen,
}

impl Prompt {
    /// Every prompt, for the kiosk's text table and its test.
    pub const ALL: [Prompt; 25] = [Prompt::ShowFace, Prompt::OnePersonOnly, Prompt::TooDark, Prompt::TooBright, Prompt::CenterFace, Prompt::MoveCloser, Prompt::MoveBack, Prompt::LookStraight, Prompt::HoldStill, Prompt::Countdown, Prompt::Captured, Prompt::CameraUnavailable, Prompt::ShowFront, Prompt::ShowBack, Prompt::ShowPassport, Prompt::MoveCardCloser, Prompt::TooBlurry, Prompt::Glare, Prompt::HoldCardFlat, Prompt::EnterIin, Prompt::TurnLeft, Prompt::TurnRight, Prompt::LookUp, Prompt::Blink, Prompt::LookAtScreen];

    /// Position in [`Prompt::ALL`]; the match is exhaustive, so a new prompt
    /// cannot be added without a position, and the test below fails until
    /// `ALL` names it too.
    #[cfg(test)]
    pub(crate) const fn ordinal(self) -> usize {
        match self {
            Prompt::ShowFace => 0,
            Prompt::OnePersonOnly => 1,
            Prompt::TooDark => 2,
            Prompt::TooBright => 3,
            Prompt::CenterFace => 4,
            Prompt::MoveCloser => 5,
            Prompt::MoveBack => 6,
            Prompt::LookStraight => 7,
            Prompt::HoldStill => 8,
            Prompt::Countdown => 9,
            Prompt::Captured => 10,
            Prompt::CameraUnavailable => 11,
            Prompt::ShowFront => 12,
            Prompt::ShowBack => 13,
            Prompt::ShowPassport => 14,
            Prompt::MoveCardCloser => 15,
            Prompt::TooBlurry => 16,
            Prompt::Glare => 17,
            Prompt::HoldCardFlat => 18,
            Prompt::EnterIin => 19,
            Prompt::TurnLeft => 20,
            Prompt::TurnRight => 21,
            Prompt::LookUp => 22,
            Prompt::Blink => 23,
            Prompt::LookAtScreen => 24,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Verified,
    Rejected,
    NeedsReview,
    PendingGuardian,
}

impl Decision {
    pub const ALL: [Decision; 4] = [Decision::Verified, Decision::Rejected, Decision::NeedsReview, Decision::PendingGuardian];

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Verified => "verified",
            Decision::Rejected => "rejected",
            Decision::NeedsReview => "needs_review",
            Decision::PendingGuardian => "pending_guardian",
        }
    }
}

/// Why a decision was taken; stable codes a registration operator can act on.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    SubjectTimeout,
    ConsentNotGiven,
    NoFaceDetected,
    FaceNotCaptured,
    CameraLost,
    ReplayedSource,
    EvidenceNotStored,
    DocumentNotRead,
    ExpectedIinMismatch,
    DocumentExpired,
    DocumentInconsistent,
    IinEnteredBySubject,
    GuardianRequired,
    FaceMismatch,
    ChallengeNotCompleted,
    /// The face left the camera, or another face took its place, during a challenge.
    FaceLost,
    /// The face did not reflect the kiosk's colour sequence: a replayed or injected video.
    PresentationAttackSuspected,
    /// No face could be compared with the document's portrait.
    PortraitNotCompared,
}

impl Reason {
    /// Every reason, for tables that must cover them all (the kiosk's next steps).
    pub const ALL: [Reason; 18] = {
        use Reason::*;
        // A new reason fails to compile here until it is listed below too.
        const fn listed(r: Reason) {
            match r {
                SubjectTimeout | ConsentNotGiven | NoFaceDetected | FaceNotCaptured | CameraLost | ReplayedSource
                | EvidenceNotStored | DocumentNotRead | ExpectedIinMismatch | DocumentExpired | DocumentInconsistent
                | IinEnteredBySubject | GuardianRequired | FaceMismatch | ChallengeNotCompleted | FaceLost
                | PresentationAttackSuspected | PortraitNotCompared => {}
            }
        }
        listed(SubjectTimeout);
        [
            SubjectTimeout, ConsentNotGiven, NoFaceDetected, FaceNotCaptured, CameraLost, ReplayedSource,
            EvidenceNotStored, DocumentNotRead, ExpectedIinMismatch, DocumentExpired, DocumentInconsistent,
            IinEnteredBySubject, GuardianRequired, FaceMismatch, ChallengeNotCompleted, FaceLost,
            PresentationAttackSuspected, PortraitNotCompared,
        ]
    };
}

/// One measured check: what was measured, against what, and whether it held.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    pub score: Option<f64>,
    pub threshold: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    pub checks: Vec<Check>,
}

/// An event as streamed to the server (SSE) and the kiosk, and kept with the session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct SessionEvent {
    pub seq: u64,
    pub at: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Status { status: Status },
    Stage { stage: Stage },
    Prompt {
        prompt: Prompt,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<u32>,
    },
    Camera { available: bool },
    /// The subject consented on the kiosk, in the language they chose.
    Consent { language: Language },
    /// The guardian declared being the minor's parent or legal guardian.
    GuardianDeclaration,
    /// The kiosk fills its screen with this colour (`None`: back to normal).
    Flash { color: Option<String> },
    Decision { decision: Decision, reasons: Vec<Reason> },
}

impl EventKind {
    /// The audit trail's name for a stage or status change (`stage:face_capture`,
    /// `status:cancelled`); `None` for events the trail does not record.
    pub fn audit_action(&self) -> Option<String> {
        let name = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
        match self {
            EventKind::Stage { stage } => Some(format!("stage:{}", name(serde_json::to_value(stage).ok()?))),
            EventKind::Status { status } => Some(format!("status:{}", name(serde_json::to_value(status).ok()?))),
            _ => None,
        }
    }

    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Status { .. } => "status",
            EventKind::Stage { .. } => "stage",
            EventKind::Prompt { .. } => "prompt",
            EventKind::Camera { .. } => "camera",
            EventKind::Consent { .. } => "consent",
            EventKind::Flash { .. } => "flash",
            EventKind::GuardianDeclaration => "guardian_declaration",
            EventKind::Decision { .. } => "decision",
        }
    }
}

/// A kept image: only its digest and size leave the device.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvidenceMeta {
    pub kind: String,
    pub sha256: String,
    pub bytes: u64,
    pub captured_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GuardianLink {
    /// `guardian` on the minor's record, `minor` on the guardian's.
    pub role: String,
    pub verification: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConsentRecord {
    pub given_at: String,
    pub language: Language,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct StageEntry {
    pub stage: Stage,
    pub at: String,
}

/// The stored state of one session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionRecord {
    pub id: String,
    pub request: StartRequest,
    pub created_at: String,
    pub created_unix: u64,
    pub status: Status,
    pub stage: Option<Stage>,
    pub history: Vec<StageEntry>,
    pub events: Vec<SessionEvent>,
    pub evidence: Vec<EvidenceMeta>,
    pub retakes: u32,
    /// When the subject consented on the kiosk, and in which language.
    #[serde(default)]
    pub consent: Option<ConsentRecord>,
    /// The document as read (personal data: purged after the retention period).
    #[serde(default)]
    pub document: Option<serde_json::Value>,
    /// The guardian's verification that completed this minor's, or the minor's
    /// verification this guardian completed.
    #[serde(default)]
    pub guardian: Option<GuardianLink>,
    pub outcome: Option<Outcome>,
    pub decided_at: Option<String>,
    /// Personal data removed after the retention period.
    #[serde(default)]
    pub purged: bool,
    /// The signed result removed after its own (longer) retention period; its
    /// SHA-256 stays, so a copy held by the server can still be matched to it.
    #[serde(default)]
    pub result_purged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_sha256: Option<String>,
    /// The signed result's `version`: 1 when first decided, one more each time it
    /// is signed again (a guardian completing a minor); 0 while undecided.
    #[serde(default)]
    pub result_version: u32,
    /// Why a session ended `interrupted` when the daemon knows (`disk_full`,
    /// `storage_failed`); a stable code, never personal data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted_reason: Option<String>,
    /// The client that started it (`cert:<sha256>` or `token:<sha256>`); only it
    /// may read or cancel the session. Never in the signed result.
    #[serde(default)]
    pub owner: Option<String>,
}

/// The fields of a record that identify the subject: sealed at rest apart from
/// the rest of the record, and removed at purge.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PersonalFields {
    #[serde(default)]
    pub expected_iin: Option<String>,
    /// The document as read: names, IIN, numbers, and an IIN the subject typed.
    #[serde(default)]
    pub document: Option<serde_json::Value>,
}

impl PersonalFields {
    pub fn is_empty(&self) -> bool {
        self.expected_iin.is_none() && self.document.is_none()
    }
}

impl SessionRecord {
    pub fn new(id: String, request: StartRequest) -> Self {
        Self {
            id,
            request,
            created_at: crate::rfc3339_now(),
            created_unix: crate::unix_now(),
            status: Status::WaitingForSubject,
            stage: None,
            history: Vec::new(),
            events: Vec::new(),
            evidence: Vec::new(),
            retakes: 0,
            consent: None,
            document: None,
            guardian: None,
            outcome: None,
            decided_at: None,
            purged: false,
            result_purged: false,
            result_sha256: None,
            result_version: 0,
            interrupted_reason: None,
            owner: None,
        }
    }

    /// The record without its personal fields, and those fields.
    pub fn split_personal(&self) -> (SessionRecord, PersonalFields) {
        let mut bare = self.clone();
        let personal = PersonalFields { expected_iin: bare.request.expected_iin.take(), document: bare.document.take() };
        (bare, personal)
    }

    /// Puts personal fields opened from the seal back into the record.
    pub fn restore_personal(&mut self, personal: PersonalFields) {
        self.request.expected_iin = personal.expected_iin;
        self.document = personal.document;
    }

    /// A session that was running when the daemon stopped cannot be resumed (the
    /// subject has left the camera): it ends `interrupted`. `None` if it had ended.
    pub fn interrupt(&mut self) -> Option<SessionEvent> {
        if self.status.is_terminal() {
            return None;
        }
        Some(self.push_event(EventKind::Status { status: Status::Interrupted }))
    }

    /// The decision could not be stored: it never happened for anyone outside.
    /// The record drops it and ends `interrupted` with `reason`.
    pub fn decision_not_stored(&mut self, reason: &str) -> SessionEvent {
        if matches!(self.events.last(), Some(SessionEvent { kind: EventKind::Decision { .. }, .. })) {
            self.events.pop();
        }
        self.outcome = None;
        self.decided_at = None;
        self.interrupted_reason = Some(reason.to_string());
        self.push_event(EventKind::Status { status: Status::Interrupted })
    }

    /// Only an ended session's personal data may go; the record keeps its id,
    /// status, stages, decision and evidence digests.
    pub fn purge_personal_data(&mut self) {
        self.request.expected_iin = None;
        self.document = None;
        self.purged = true;
    }

    /// The signed result is gone; its digest stays.
    pub fn purge_result(&mut self, jws_sha256: Option<String>) {
        self.result_purged = true;
        if jws_sha256.is_some() {
            self.result_sha256 = jws_sha256;
        }
    }

    /// Appends an event with the next sequence number and applies it to the record.
    pub fn push_event(&mut self, kind: EventKind) -> SessionEvent {
        let event = SessionEvent { seq: self.events.len() as u64 + 1, at: crate::rfc3339_now(), kind };
        match &event.kind {
            EventKind::Status { status } => self.status = *status,
            EventKind::Stage { stage } => {
                self.stage = Some(*stage);
                self.history.push(StageEntry { stage: *stage, at: event.at.clone() });
            }
            EventKind::Consent { language } => {
                self.consent = Some(ConsentRecord { given_at: event.at.clone(), language: *language });
            }
            EventKind::Decision { .. } => {
                self.status = Status::Decided;
                self.decided_at = Some(event.at.clone());
            }
            _ => {}
        }
        self.events.push(event.clone());
        event
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> SessionRecord {
        let request = StartRequest {
            reference: "r".into(),
            nonce: "n-12345678".into(),
            language: Language::Kk,
            expected_iin: Some("950101300123".into()),
            guardian_for: None,
            document: None,
        };
        SessionRecord::new("vf_1".into(), request)
    }

    #[test]
    fn stage_names_are_the_wire_names() {
        use Stage::*;
        for stage in [GuardianConsent, FaceCapture, FaceReview, Liveness, ScreenFlash, DocumentFront, DocumentBack, PassportPage, IinEntry, Done] {
            assert_eq!(serde_json::to_value(stage).unwrap(), stage.name());
        }
    }

    #[test]
    fn personal_fields_split_off_and_back_and_purge_keeps_the_rest() {
        let mut r = record();
        r.document = Some(serde_json::json!({"surname": "X"}));
        let (bare, personal) = r.split_personal();
        assert!(bare.request.expected_iin.is_none() && bare.document.is_none());
        let mut back = bare.clone();
        back.restore_personal(personal);
        assert_eq!(back, r);
        r.push_event(EventKind::Status { status: Status::Cancelled });
        r.purge_personal_data();
        assert!(r.purged && r.document.is_none() && r.request.expected_iin.is_none());
        assert_eq!(r.status, Status::Cancelled);
    }

    #[test]
    fn only_unfinished_sessions_are_interrupted_and_an_unstored_decision_is_dropped() {
        let mut r = record();
        assert!(r.interrupt().is_some());
        assert!(r.interrupt().is_none(), "already ended");
        let mut r = record();
        r.outcome = Some(Outcome { decision: Decision::Verified, reasons: vec![], checks: vec![] });
        r.push_event(EventKind::Decision { decision: Decision::Verified, reasons: vec![] });
        let event = r.decision_not_stored("disk_full");
        assert_eq!(event.kind, EventKind::Status { status: Status::Interrupted });
        assert_eq!((r.status, r.outcome.is_none(), r.decided_at.is_none()), (Status::Interrupted, true, true));
        assert!(!r.events.iter().any(|e| matches!(e.kind, EventKind::Decision { .. })));
        assert_eq!(r.interrupted_reason.as_deref(), Some("disk_full"));
    }
}
