//! Stage 3, the verification session. Enters: quality assessments of frames (from
//! vision), subject actions and the clock. Leaves: stage changes and prompts (events
//! for the kiosk and the registration server) and, at the end, a decision with
//! reasons and checks. Pure: the machine does no I/O; the engine in `app` applies
//! its effects (evidence, signing, storage).

pub mod control;
pub mod flash;
pub mod guardian;
pub mod holder;
pub mod liveness;
pub mod machine;
pub mod result;

use serde::{Deserialize, Serialize};

pub use control::{Controller, StartError};
pub use machine::{Effect, MachineConfig, SessionMachine};

/// What a registration server sends to start a session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The server's own identifier for the candidate's registration.
    pub reference: String,
    /// Echoed in the signed result so the server can refuse a replayed one.
    pub nonce: String,
    pub language: Language,
    #[serde(default)]
    pub expected_iin: Option<String>,
    #[serde(default)]
    pub guardian_for: Option<String>,
    /// Which document the subject shows: an ID card (front and back, the default)
    /// or a passport data page.
    #[serde(default)]
    pub document: Option<DocumentKind>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    #[default]
    IdCard,
    Passport,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Kk,
    Ru,
    En,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
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

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
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

/// Everything the subject is told, in a form each kiosk language can render.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
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
    const fn ordinal(self) -> usize {
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

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
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

/// One measured check: what was measured, against what, and whether it held.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionEvent {
    pub seq: u64,
    pub at: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
    /// The client that started it (`cert:<sha256>` or `token:<sha256>`); only it
    /// may read or cancel the session. Never in the signed result.
    #[serde(default)]
    pub owner: Option<String>,
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
            owner: None,
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

/// Session ids are random and carry nothing about the subject.
pub fn new_session_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("vf_{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_all_names_every_prompt_once_in_order() {
        for (i, p) in Prompt::ALL.iter().enumerate() {
            assert_eq!(p.ordinal(), i, "{p:?} out of place in Prompt::ALL");
        }
    }

    #[test]
    fn decision_all_names_every_decision() {
        for d in Decision::ALL {
            // Exhaustive: a new decision fails to compile here until it is listed.
            match d {
                Decision::Verified | Decision::Rejected | Decision::NeedsReview | Decision::PendingGuardian => {}
            }
        }
        assert_eq!(Decision::ALL.len(), 4);
    }
}
