//! The session as a state machine over time. Inputs carry their own `Instant`, so
//! the machine is deterministic and tested on recorded sequences without a camera.
//!
//! ```text
//! AwaitingConsent ─consent─> Waiting ─face seen─> Framing ─all gates hold for `settle`─> Countdown 3,2,1 ─> Capture
//!                        ^  gate fails longer than `countdown_tolerance` ─┘        │
//!                        └──────────── retake ─── Review ("captured") <────────────┘
//!                                                   │ continue / review elapsed
//!                                                   v
//!                                                 Decide
//! ```
//! Then, when the session has document stages: document_front → document_back (or
//! passport_page), each side captured once two OCR reads in a row agree; the
//! engine assesses the document; an unreadable IIN is typed in by the subject.
//! Meanwhile the face beside the document is compared with the evidence photo
//! ([`super::holder`]): someone else holding it rejects the session.
//! Any state: subject timeout → rejected; camera lost longer than `camera_grace` →
//! rejected; a camera that comes back restarts the face stage.

mod challenges;
mod decision;
mod document;
mod face;
#[cfg(test)]
pub(crate) mod tests;

use std::time::{Duration, Instant};

use super::flash::{self, FlashColour, FlashVerdict, Sample};
use super::holder::{self, HolderFaces};
use super::liveness::{Challenge, Judge, Observation, Progress};
use super::{Check, DocumentKind, EventKind, Outcome, Prompt, Stage, Status};
use crate::vision::{Assessment, FaceMeasures, Gate, QualityThresholds};

pub use decision::{DocumentFindings, Ending, Findings, decide};
pub use document::{DocumentStageConfig, DocumentVerdict, Framing, Reading, Side};

/// A candidate prompt must hold this long before it is shown, so the kiosk does
/// not flicker between messages on a detector's frame-to-frame noise.
const PROMPT_SETTLE: Duration = Duration::from_millis(300);

#[derive(Debug, Clone)]
pub struct MachineConfig {
    pub subject_timeout: Duration,
    pub settle: Duration,
    pub countdown_seconds: u32,
    pub countdown_tolerance: Duration,
    pub review: Duration,
    pub camera_grace: Duration,
    pub detection_score: f32,
    /// Largest embedding distance that counts as the same person (`face.match_threshold`).
    pub match_threshold: f32,
    pub gates: QualityThresholds,
    /// Frames come from a replayed source: never `verified`.
    pub replayed_source: bool,
    /// Nothing is captured until the subject consents on the kiosk.
    pub require_consent: bool,
    /// A guardian's session: after consent, the guardian's declaration on the kiosk.
    pub require_guardian_declaration: bool,
    /// After the face, the document stages; `None` runs the face stage only.
    pub document: Option<DocumentStageConfig>,
    /// Active liveness challenges after the face photo, in order (empty: none).
    pub challenges: Vec<Challenge>,
    /// Drawn with them, and asked after them only when the passive presentation-attack
    /// score is borderline (at least [`BORDERLINE_PASSIVE`] of its threshold).
    pub borderline_challenge: Option<Challenge>,
    pub challenge_timeout: Duration,
    /// The screen-flash sequence (empty: no kiosk screen, no flash).
    pub flash_plan: Vec<FlashColour>,
    pub flash_step: Duration,
}

/// A passive score at or above this share of its threshold (but under it) asks one
/// more challenge: the passive cues saw something, not enough to reject.
pub const BORDERLINE_PASSIVE: f64 = 0.5;

/// A lost or swapped face may restart a challenge this many times.
const CHALLENGE_RESTARTS: u32 = 2;


/// What the engine must do after an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Record and publish an event.
    Event(EventKind),
    /// Start keeping candidate frames for the evidence photo, or stop and discard them.
    CollectCandidates(bool),
    /// Keep the best candidate of the last second as the face evidence, then call
    /// [`SessionMachine::on_captured`] (or `on_capture_failed`).
    CaptureFace,
    /// OCR the current frame's document and call [`SessionMachine::on_document_read`].
    ReadDocument,
    /// Keep the last read of this side (evidence and fields), then call
    /// [`SessionMachine::on_document_captured`].
    CaptureDocument(Side),
    /// Every side is in: assess the document and call [`SessionMachine::on_document_assessed`].
    AssessDocument,
    /// The session is over.
    Decide(Outcome),
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    AwaitingConsent,
    AwaitingGuardian,
    Waiting,
    Framing { good_since: Option<Instant> },
    Countdown { started: Instant, bad_since: Option<Instant>, shown: u32 },
    Capturing,
    Review { since: Instant },
    Liveness { index: usize, restarts: u32 },
    Flash { started: Instant, shown: usize },
    Document { side: Side, last_read: Option<Instant>, last_fingerprint: Option<u64>, stable: u32 },
    Assessing,
    AwaitingIin,
    Done,
}

pub struct SessionMachine {
    config: MachineConfig,
    started: Instant,
    state: State,
    shown_prompt: Option<Prompt>,
    pending_prompt: Option<(Prompt, Instant)>,
    face_seen: bool,
    camera_lost_since: Option<Instant>,
    captured: Option<FaceMeasures>,
    verdict: Option<DocumentVerdict>,
    iin_by_subject: bool,
    judge: Option<Judge>,
    flash_samples: Vec<Sample>,
    flash_verdict: Option<FlashVerdict>,
    /// The latest passive presentation-attack verdict: suspected, and its check.
    passive: Option<(bool, Check)>,
    /// Whether the face in the challenges is the one in the evidence photo.
    continuity: Option<(bool, Check)>,
    /// The faces seen beside the document; `None` until a document stage starts.
    holder: Option<HolderFaces>,
    /// Each challenge asked, whether it passed, and why not.
    challenge_results: Vec<(Challenge, bool, &'static str)>,
}

impl SessionMachine {
    pub fn new(config: MachineConfig, now: Instant) -> Self {
        Self {
            state: if config.require_consent { State::AwaitingConsent } else { State::Waiting },
            config,
            started: now,
            shown_prompt: None,
            pending_prompt: None,
            face_seen: false,
            camera_lost_since: None,
            captured: None,
            verdict: None,
            iin_by_subject: false,
            judge: None,
            flash_samples: Vec::new(),
            flash_verdict: None,
            passive: None,
            continuity: None,
            holder: None,
            challenge_results: Vec::new(),
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Frames are only looked at once the subject has consented.
    pub fn wants_frames(&self) -> bool {
        !matches!(self.state, State::AwaitingConsent | State::AwaitingGuardian | State::Done)
    }

    /// The subject consented on the kiosk; capture may begin.
    pub fn on_consent(&mut self, language: super::Language) -> Vec<Effect> {
        if self.state != State::AwaitingConsent {
            return Vec::new();
        }
        let mut out = vec![Effect::Event(EventKind::Consent { language })];
        if self.config.require_guardian_declaration {
            self.state = State::AwaitingGuardian;
            out.push(Effect::Event(EventKind::Stage { stage: Stage::GuardianConsent }));
        } else {
            self.state = State::Waiting;
        }
        out
    }

    /// The guardian confirmed on the kiosk; capture may begin.
    pub fn on_guardian_declared(&mut self) -> Vec<Effect> {
        if self.state != State::AwaitingGuardian {
            return Vec::new();
        }
        self.state = State::Waiting;
        vec![Effect::Event(EventKind::GuardianDeclaration)]
    }

    /// One analysed frame.
    pub fn on_frame(&mut self, assessment: &Assessment, now: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        if self.state == State::Done {
            return out;
        }
        if self.camera_lost_since.take().is_some() {
            out.push(Effect::Event(EventKind::Camera { available: true }));
            if matches!(self.state, State::Countdown { .. } | State::Capturing) {
                self.enter_framing(&mut out);
            }
        }
        if assessment.faces > 0 && !self.face_seen {
            self.face_seen = true;
        }
        match self.state.clone() {
            State::Waiting if assessment.faces > 0 => {
                out.push(Effect::Event(EventKind::Status { status: Status::InProgress }));
                self.enter_framing(&mut out);
                self.frame_in_stage(assessment, now, &mut out);
            }
            State::Waiting => self.prompt(Prompt::ShowFace, now, &mut out),
            State::Framing { .. } | State::Countdown { .. } => self.frame_in_stage(assessment, now, &mut out),
            State::AwaitingConsent
            | State::AwaitingGuardian
            | State::Capturing
            | State::Review { .. }
            | State::Liveness { .. }
            | State::Flash { .. }
            | State::Document { .. }
            | State::Assessing
            | State::AwaitingIin
            | State::Done => {}
        }
        out.extend(self.on_tick(now));
        out
    }

    /// The clock alone: countdown steps, review, timeouts.
    pub fn on_tick(&mut self, now: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        if self.state == State::Done {
            return out;
        }
        if let Some(lost) = self.camera_lost_since
            && now.duration_since(lost) > self.config.camera_grace
        {
            return self.finish(Ending::CameraLost);
        }
        if now.duration_since(self.started) > self.config.subject_timeout && !matches!(self.state, State::Review { .. }) {
            return self.finish(Ending::SubjectTimeout {
                awaiting_consent: matches!(self.state, State::AwaitingConsent | State::AwaitingGuardian),
                face_seen: self.face_seen,
                document_open: matches!(self.state, State::Document { .. } | State::AwaitingIin),
            });
        }
        match self.state.clone() {
            State::Flash { started, shown } => out.extend(self.flash_tick(started, shown, now)),
            State::Countdown { started, shown, bad_since } => self.countdown_tick(started, shown, bad_since, now, &mut out),
            State::Review { since } if now.duration_since(since) >= self.config.review => {
                out.extend(self.complete(now));
            }
            _ => {}
        }
        out
    }

    /// The subject pressed Retake: during the face countdown or review, the photo
    /// again; during a document stage, the card from its front (or the page) again.
    pub fn on_retake(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        match self.state {
            State::Countdown { .. } | State::Review { .. } => {
                self.captured = None;
                self.enter_framing(&mut out);
            }
            State::Document { side, .. } => {
                let first = if side == Side::PassportPage { Side::PassportPage } else { Side::Front };
                self.enter_document(first, &mut out);
            }
            _ => {}
        }
        out
    }

    /// The camera stopped delivering frames.
    pub fn on_camera_lost(&mut self, now: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        if self.state == State::Done || self.camera_lost_since.is_some() {
            return out;
        }
        self.camera_lost_since = Some(now);
        out.push(Effect::Event(EventKind::Camera { available: false }));
        self.show(Prompt::CameraUnavailable, None, &mut out);
        out
    }

    /// Face and liveness done: the document, or the decision.
    fn after_face(&mut self) -> Vec<Effect> {
        if let Some(cfg) = &self.config.document {
            let first = match cfg.kind {
                DocumentKind::IdCard => Side::Front,
                DocumentKind::Passport => Side::PassportPage,
            };
            let mut out = vec![Effect::CollectCandidates(false)];
            self.enter_document(first, &mut out);
            return out;
        }
        self.finish(Ending::Completed)
    }

    /// What the session found, for [`decide`].
    fn findings(&self, ending: Ending) -> Findings {
        Findings {
            ending,
            face_captured: self.captured.is_some(),
            attack_suspected: self.passive.as_ref().is_some_and(|(attack, _)| *attack),
            face_changed: self.continuity.as_ref().is_some_and(|(same, _)| !same),
            document: self.verdict.as_ref().map(DocumentVerdict::findings),
            holder: self.holder.as_ref().map(|h| h.verdict(self.config.match_threshold)),
            iin_by_subject: self.iin_by_subject,
            replayed_source: self.config.replayed_source,
        }
    }

    /// The session is over: the decision on what it found, with every check behind it.
    fn finish(&mut self, ending: Ending) -> Vec<Effect> {
        let (decision, reasons) = decide(&self.findings(ending));
        self.state = State::Done;
        let mut checks = self.checks();
        checks.extend(self.challenge_results.iter().map(|(c, passed, why)| Check {
            name: format!("challenge_{}{}", c.name(), if *passed { String::new() } else { format!(" ({why})") }),
            passed: *passed,
            score: None,
            threshold: None,
        }));
        for (_, check) in self.passive.iter().chain(&self.continuity) {
            checks.push(check.clone());
        }
        if let Some(h) = &self.holder {
            checks.push(h.check(self.config.match_threshold));
        }
        if let Some(f) = self.flash_verdict {
            let figures = match f.face_over_surround {
                Some(r) => format!(" (followed {}/{}, face_shift={:.3}, face_over_surround={r:.2})", f.followed, f.steps, f.face_shift),
                None => format!(" (followed {}/{}, face_shift={:.3})", f.followed, f.steps, f.face_shift),
            };
            checks.push(Check {
                name: format!("screen_flash{}", if f.passed() { String::new() } else { figures }),
                passed: f.passed(),
                score: Some(f.followed as f64 / f.steps.max(1) as f64),
                threshold: Some(flash::REQUIRED as f64 / flash::STEPS as f64),
            });
        }
        if let Some(v) = &self.verdict {
            checks.extend(v.checks.iter().cloned());
        }
        vec![
            Effect::CollectCandidates(false),
            Effect::Event(EventKind::Stage { stage: Stage::Done }),
            Effect::Decide(Outcome { decision, reasons, checks }),
        ]
    }

    /// Shows `prompt` once it has been the candidate for [`PROMPT_SETTLE`].
    fn prompt(&mut self, prompt: Prompt, now: Instant, out: &mut Vec<Effect>) {
        if self.shown_prompt == Some(prompt) {
            self.pending_prompt = None;
            return;
        }
        match self.pending_prompt {
            Some((p, since)) if p == prompt => {
                if now.duration_since(since) >= PROMPT_SETTLE || self.shown_prompt.is_none() {
                    self.show(prompt, None, out);
                }
            }
            _ => {
                self.pending_prompt = Some((prompt, now));
                if self.shown_prompt.is_none() {
                    self.show(prompt, None, out);
                }
            }
        }
    }

    fn show(&mut self, prompt: Prompt, value: Option<u32>, out: &mut Vec<Effect>) {
        self.shown_prompt = Some(prompt);
        self.pending_prompt = None;
        out.push(Effect::Event(EventKind::Prompt { prompt, value }));
    }
}
