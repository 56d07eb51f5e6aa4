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

use std::time::{Duration, Instant};

use super::flash::{self, FlashColour, FlashVerdict, Sample};
use super::holder::{self, HolderFaces};
use super::liveness::{Challenge, Judge, Observation, Progress};
use super::{Check, Decision, DocumentKind, EventKind, Outcome, Prompt, Reason, Stage, Status};
use crate::vision::{Assessment, FaceMeasures, Gate, QualityThresholds};

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

#[derive(Debug, Clone)]
pub struct DocumentStageConfig {
    pub kind: DocumentKind,
    /// OCR runs at most this often (it takes a good part of a second).
    pub read_interval: Duration,
    /// The document must cover this share of the frame to be read.
    pub min_area_share: f32,
    pub min_sharpness: f32,
    /// Share of blown-out pixels above which the subject is asked to tilt the card.
    pub max_glare: f32,
    /// Consecutive identical reads before a side is captured.
    pub stable_reads: u32,
}

/// A side of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Front,
    Back,
    PassportPage,
}

impl Side {
    pub fn stage(self) -> Stage {
        match self {
            Side::Front => Stage::DocumentFront,
            Side::Back => Stage::DocumentBack,
            Side::PassportPage => Stage::PassportPage,
        }
    }

    fn prompt(self) -> Prompt {
        match self {
            Side::Front => Prompt::ShowFront,
            Side::Back => Prompt::ShowBack,
            Side::PassportPage => Prompt::ShowPassport,
        }
    }

    /// The evidence image's name.
    pub fn evidence_kind(self) -> &'static str {
        match self {
            Side::Front => "document_front",
            Side::Back => "document_back",
            Side::PassportPage => "passport_page",
        }
    }
}

/// How the document sits in the frame (measured on every frame, cheaply).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Framing {
    pub found: bool,
    pub area_share: f32,
    pub sharpness: f32,
    pub glare: f32,
}

/// One OCR read of a side: which side it was and a digest of what it said, so two
/// reads can be compared without keeping their text here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub side: Side,
    pub fingerprint: u64,
}

/// The engine's assessment of the document once every side is captured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DocumentVerdict {
    pub iin_readable: bool,
    pub expected_iin_mismatch: bool,
    pub expired: bool,
    /// Check digits fail or the sides contradict each other.
    pub inconsistent: bool,
    pub minor: bool,
    /// The live face is not the document's portrait.
    pub face_mismatch: bool,
    /// The portrait could not be compared (not found on the document, or no live face kept).
    pub portrait_not_compared: bool,
    pub checks: Vec<Check>,
}

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

    /// The passive analysis of the frames so far (the engine updates it as frames come).
    pub fn on_passive(&mut self, attack_suspected: bool, check: Check) {
        self.passive = Some((attack_suspected, check));
    }

    /// The face seen during the challenges compared with the evidence photo.
    pub fn on_continuity(&mut self, same_person: bool, check: Check) {
        self.continuity = Some((same_person, check));
    }

    /// Whether the engine should look for the face of whoever holds the document in
    /// this frame: a document stage runs, the last look is old enough, and the faces
    /// seen so far do not yet agree.
    pub fn holder_look_due(&self, now: Instant) -> bool {
        self.document_side().is_some() && self.holder.as_ref().is_some_and(|h| h.due(now, self.config.match_threshold))
    }

    /// One look beside the document: the distance of the face there from the evidence
    /// photo, or `None` when no face was seen off the document.
    pub fn on_holder_look(&mut self, distance: Option<f32>, now: Instant) {
        if let (Some(_), Some(h)) = (self.document_side(), self.holder.as_mut()) {
            h.record(distance, now);
        }
    }

    /// Whether the screen-flash sequence is running.
    pub fn in_flash(&self) -> bool {
        matches!(self.state, State::Flash { .. })
    }

    /// The face's mean colour in a frame of the flash sequence, and its surroundings'.
    pub fn on_flash_sample(&mut self, bgr: [f32; 3], surround: Option<[f32; 3]>, now: Instant) {
        if let State::Flash { started, .. } = self.state {
            self.flash_samples.push(Sample { offset: now.duration_since(started), bgr, surround });
        }
    }

    /// Challenges done: the flash sequence if the kiosk screen is there, then the rest.
    fn after_challenges(&mut self, now: Instant) -> Vec<Effect> {
        if self.config.flash_plan.is_empty() || self.flash_verdict.is_some() {
            return self.after_face();
        }
        self.state = State::Flash { started: now, shown: 0 };
        let mut out = vec![Effect::Event(EventKind::Stage { stage: Stage::ScreenFlash })];
        self.show(Prompt::LookAtScreen, None, &mut out);
        out.push(Effect::Event(EventKind::Flash { color: Some(self.config.flash_plan[0].hex().to_string()) }));
        out
    }

    fn flash_tick(&mut self, started: Instant, shown: usize, now: Instant) -> Vec<Effect> {
        let step = self.config.flash_step;
        let index = (now.duration_since(started).as_millis() / step.as_millis().max(1)) as usize;
        let plan = &self.config.flash_plan;
        if index < plan.len() {
            if index > shown {
                self.state = State::Flash { started, shown: index };
                return vec![Effect::Event(EventKind::Flash { color: Some(plan[index].hex().to_string()) })];
            }
            return Vec::new();
        }
        let verdict = flash::judge(plan, step, &self.flash_samples);
        self.flash_verdict = Some(verdict);
        self.flash_samples.clear();
        let mut out = vec![Effect::Event(EventKind::Flash { color: None })];
        if verdict.passed() {
            out.extend(self.after_face());
        } else {
            out.extend(self.finish(Decision::Rejected, vec![Reason::PresentationAttackSuspected]));
        }
        out
    }

    /// Whether an active liveness challenge is running.
    pub fn in_liveness(&self) -> bool {
        matches!(self.state, State::Liveness { .. })
    }

    fn start_challenge(&mut self, index: usize, restarts: u32, now: Instant, out: &mut Vec<Effect>) {
        let challenge = self.config.challenges[index];
        self.state = State::Liveness { index, restarts };
        // After another challenge, the head must first come back to where it was.
        let neutral = self.judge.as_ref().and_then(|j| j.neutral());
        self.judge = Some(Judge::after(challenge, self.config.challenge_timeout, now, neutral));
        self.show(challenge.prompt(), None, out);
    }

    /// One frame of a challenge (`None`: no face in it).
    pub fn on_liveness_frame(&mut self, observation: Option<&Observation>, now: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        let State::Liveness { index, restarts } = self.state else { return out };
        let Some(judge) = self.judge.as_mut() else { return out };
        let challenge = judge.challenge();
        match judge.observe(observation, now) {
            Progress::Pending => {}
            Progress::Passed => {
                self.challenge_results.push((challenge, true, "passed"));
                if index + 1 < self.config.challenges.len() {
                    self.start_challenge(index + 1, 0, now, &mut out);
                } else {
                    self.judge = None;
                    out.extend(self.after_challenges(now));
                }
            }
            Progress::Restart(_) if restarts < CHALLENGE_RESTARTS => {
                self.start_challenge(index, restarts + 1, now, &mut out);
            }
            Progress::Restart(why) | Progress::Failed(why) => {
                self.challenge_results.push((challenge, false, why));
                self.judge = None;
                let reason = if matches!(why, "face_lost" | "face_swapped") { Reason::FaceLost } else { Reason::ChallengeNotCompleted };
                return self.finish(Decision::Rejected, vec![reason]);
            }
        }
        out.extend(self.on_tick(now));
        out
    }

    /// The side the subject should be showing, while a document stage runs.
    pub fn document_side(&self) -> Option<Side> {
        match self.state {
            State::Document { side, .. } => Some(side),
            _ => None,
        }
    }

    fn enter_document(&mut self, side: Side, out: &mut Vec<Effect>) {
        self.state = State::Document { side, last_read: None, last_fingerprint: None, stable: 0 };
        // Kept across sides and retakes: the holder is the same person throughout.
        self.holder.get_or_insert_default();
        self.shown_prompt = None;
        self.pending_prompt = None;
        out.push(Effect::Event(EventKind::Stage { stage: side.stage() }));
        self.show(side.prompt(), None, out);
    }

    /// What to tell the subject about how the document sits (`HoldStill`: it sits well).
    fn framing_prompt(side: Side, framing: &Framing, cfg: &DocumentStageConfig) -> Prompt {
        if !framing.found {
            side.prompt()
        } else if framing.area_share < cfg.min_area_share {
            Prompt::MoveCardCloser
        } else if framing.glare > cfg.max_glare {
            Prompt::Glare
        } else if framing.sharpness < cfg.min_sharpness {
            Prompt::TooBlurry
        } else {
            Prompt::HoldStill
        }
    }

    /// Whether the document sits well enough in this frame to be read — and so to be
    /// told reliably from what is around it.
    pub fn well_framed(&self, framing: &Framing) -> bool {
        match (&self.state, &self.config.document) {
            (State::Document { side, .. }, Some(cfg)) => Self::framing_prompt(*side, framing, cfg) == Prompt::HoldStill,
            _ => false,
        }
    }

    /// How the document sits in this frame; asks for a read when it sits well.
    pub fn on_document_frame(&mut self, framing: &Framing, now: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        let Some(cfg) = self.config.document.clone() else { return out };
        if let State::Document { side, last_read, .. } = self.state {
            let prompt = Self::framing_prompt(side, framing, &cfg);
            self.prompt(prompt, now, &mut out);
            if prompt == Prompt::HoldStill && last_read.is_none_or(|t| now.duration_since(t) >= cfg.read_interval) {
                if let State::Document { last_read, .. } = &mut self.state {
                    *last_read = Some(now);
                }
                out.push(Effect::ReadDocument);
            }
        }
        out.extend(self.on_tick(now));
        out
    }

    /// The result of an OCR read (`None`: nothing readable).
    pub fn on_document_read(&mut self, reading: Option<Reading>) -> Vec<Effect> {
        let mut out = Vec::new();
        let Some(needed) = self.config.document.as_ref().map(|c| c.stable_reads) else { return out };
        let State::Document { side, last_fingerprint, stable, .. } = &mut self.state else { return out };
        let side = *side;
        match reading {
            Some(r) if r.side == side => {
                *stable = if *last_fingerprint == Some(r.fingerprint) { *stable + 1 } else { 1 };
                *last_fingerprint = Some(r.fingerprint);
                if *stable >= needed {
                    out.push(Effect::CaptureDocument(side));
                }
            }
            // The other side is showing: ask for this one.
            Some(_) => {
                *stable = 0;
                *last_fingerprint = None;
                self.show(side.prompt(), None, &mut out);
            }
            None => {
                *stable = 0;
                *last_fingerprint = None;
            }
        }
        out
    }

    /// The engine kept the side just read.
    pub fn on_document_captured(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        let State::Document { side, .. } = self.state else { return out };
        self.show(Prompt::Captured, None, &mut out);
        match side {
            Side::Front => self.enter_document(Side::Back, &mut out),
            Side::Back | Side::PassportPage => {
                self.state = State::Assessing;
                out.push(Effect::AssessDocument);
            }
        }
        out
    }

    /// The document as assessed; an unreadable IIN goes to the subject to type in.
    pub fn on_document_assessed(&mut self, verdict: DocumentVerdict) -> Vec<Effect> {
        if self.state != State::Assessing {
            return Vec::new();
        }
        let needs_entry = !verdict.iin_readable && !verdict.expired && !verdict.inconsistent;
        self.verdict = Some(verdict);
        if needs_entry {
            self.state = State::AwaitingIin;
            let mut out = vec![Effect::Event(EventKind::Stage { stage: Stage::IinEntry })];
            self.show(Prompt::EnterIin, None, &mut out);
            return out;
        }
        let (decision, reasons) = self.decision();
        self.finish(decision, reasons)
    }

    /// The subject typed the IIN and confirmed the data are true.
    /// `iin_valid`: its check digit holds; `inconsistent`: the typed IIN contradicts
    /// the document (birth date, sex, century).
    pub fn on_iin_entered(&mut self, expected_iin_mismatch: bool, iin_valid: bool, inconsistent: bool) -> Vec<Effect> {
        if self.state != State::AwaitingIin {
            return Vec::new();
        }
        self.iin_by_subject = true;
        if let Some(v) = &mut self.verdict {
            v.iin_readable = true;
            v.expected_iin_mismatch = expected_iin_mismatch;
            v.inconsistent |= inconsistent;
            // The IIN checks made when none was read now judge the typed one.
            for check in &mut v.checks {
                match check.name.as_str() {
                    "document_iin_check_digit" => check.passed = iin_valid,
                    "document_iin_matches_request" => check.passed = !expected_iin_mismatch,
                    "document_consistent" => check.passed &= !inconsistent,
                    _ => {}
                }
            }
        }
        let (decision, reasons) = self.decision();
        self.finish(decision, reasons)
    }

    /// Everything the session found, as one decision.
    fn decision(&self) -> (Decision, Vec<Reason>) {
        if self.passive.as_ref().is_some_and(|(attack, _)| *attack) {
            return (Decision::Rejected, vec![Reason::PresentationAttackSuspected]);
        }
        if self.continuity.as_ref().is_some_and(|(same, _)| !same) {
            return (Decision::Rejected, vec![Reason::FaceMismatch]);
        }
        let mut reasons = Vec::new();
        if let Some(v) = &self.verdict {
            if v.expected_iin_mismatch {
                reasons.push(Reason::ExpectedIinMismatch);
            }
            if v.expired {
                reasons.push(Reason::DocumentExpired);
            }
            if v.inconsistent {
                reasons.push(Reason::DocumentInconsistent);
            }
            if v.face_mismatch {
                reasons.push(Reason::FaceMismatch);
            }
        }
        // Someone other than the photographed subject held the document. A face never
        // seen beside it (the card held over it) is only reported in the checks.
        let holder = self.holder.as_ref().map(|h| h.verdict(self.config.match_threshold));
        if holder == Some(holder::Verdict::Different) && !reasons.contains(&Reason::FaceMismatch) {
            reasons.push(Reason::FaceMismatch);
        }
        if !reasons.is_empty() {
            return (Decision::Rejected, reasons);
        }
        if self.iin_by_subject {
            reasons.push(Reason::IinEnteredBySubject);
        }
        if self.verdict.as_ref().is_some_and(|v| v.portrait_not_compared) {
            reasons.push(Reason::PortraitNotCompared);
        }
        if self.config.replayed_source {
            reasons.push(Reason::ReplayedSource);
        }
        if self.verdict.as_ref().is_some_and(|v| v.minor) {
            reasons.insert(0, Reason::GuardianRequired);
            return (Decision::PendingGuardian, reasons);
        }
        if reasons.is_empty() { (Decision::Verified, reasons) } else { (Decision::NeedsReview, reasons) }
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

    fn enter_framing(&mut self, out: &mut Vec<Effect>) {
        self.state = State::Framing { good_since: None };
        self.shown_prompt = None;
        self.pending_prompt = None;
        out.push(Effect::CollectCandidates(false));
        out.push(Effect::Event(EventKind::Stage { stage: Stage::FaceCapture }));
    }

    fn frame_in_stage(&mut self, a: &Assessment, now: Instant, out: &mut Vec<Effect>) {
        let good = a.passed();
        match &mut self.state {
            State::Framing { good_since } => {
                if !good {
                    *good_since = None;
                    let prompt = prompt_for(a.failing.first().copied().unwrap_or(Gate::NoFace));
                    self.prompt(prompt, now, out);
                    return;
                }
                let since = *good_since.get_or_insert(now);
                if now.duration_since(since) < self.config.settle {
                    self.prompt(Prompt::HoldStill, now, out);
                    return;
                }
                self.state = State::Countdown { started: now, bad_since: None, shown: self.config.countdown_seconds };
                self.show(Prompt::Countdown, Some(self.config.countdown_seconds), out);
                out.push(Effect::CollectCandidates(true));
            }
            State::Countdown { bad_since, .. } => {
                if good {
                    *bad_since = None;
                    return;
                }
                let since = *bad_since.get_or_insert(now);
                if now.duration_since(since) > self.config.countdown_tolerance {
                    // The subject moved out of place: back to framing, say why.
                    self.state = State::Framing { good_since: None };
                    out.push(Effect::CollectCandidates(false));
                    let prompt = prompt_for(a.failing.first().copied().unwrap_or(Gate::NoFace));
                    self.show(prompt, None, out);
                }
            }
            _ => {}
        }
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
            return self.finish(Decision::Rejected, vec![Reason::CameraLost]);
        }
        if now.duration_since(self.started) > self.config.subject_timeout && !matches!(self.state, State::Review { .. }) {
            let mut reasons = vec![Reason::SubjectTimeout];
            if matches!(self.state, State::AwaitingConsent | State::AwaitingGuardian) {
                reasons.push(Reason::ConsentNotGiven);
            } else if !self.face_seen {
                reasons.push(Reason::NoFaceDetected);
            } else if matches!(self.state, State::Document { .. } | State::AwaitingIin) {
                reasons.push(Reason::DocumentNotRead);
            }
            return self.finish(Decision::Rejected, reasons);
        }
        match self.state.clone() {
            State::Flash { started, shown } => out.extend(self.flash_tick(started, shown, now)),
            State::Countdown { started, shown, bad_since } => {
                let elapsed = now.duration_since(started).as_secs_f64();
                let total = f64::from(self.config.countdown_seconds);
                if elapsed >= total {
                    self.state = State::Capturing;
                    // Capture first: stopping the collection discards the candidates.
                    out.push(Effect::CaptureFace);
                    out.push(Effect::CollectCandidates(false));
                } else {
                    let remaining = (total - elapsed).ceil() as u32;
                    if remaining < shown {
                        self.state = State::Countdown { started, bad_since, shown: remaining };
                        self.show(Prompt::Countdown, Some(remaining), &mut out);
                    }
                }
            }
            State::Review { since } if now.duration_since(since) >= self.config.review => {
                out.extend(self.complete(now));
            }
            _ => {}
        }
        out
    }

    /// The engine kept the evidence photo.
    pub fn on_captured(&mut self, measures: FaceMeasures, now: Instant) -> Vec<Effect> {
        if self.state != State::Capturing {
            return Vec::new();
        }
        self.captured = Some(measures);
        self.state = State::Review { since: now };
        let mut out = Vec::new();
        self.show(Prompt::Captured, None, &mut out);
        out.push(Effect::Event(EventKind::Stage { stage: Stage::FaceReview }));
        out
    }

    /// No usable candidate (every frame of the last second failed to encode or store).
    pub fn on_capture_failed(&mut self) -> Vec<Effect> {
        if self.state != State::Capturing {
            return Vec::new();
        }
        let mut out = Vec::new();
        self.enter_framing(&mut out);
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

    /// The subject pressed Continue on the review screen.
    pub fn on_continue(&mut self, now: Instant) -> Vec<Effect> {
        if matches!(self.state, State::Review { .. }) { self.complete(now) } else { Vec::new() }
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

    /// The face photo is taken: on to the challenges, then the document.
    fn complete(&mut self, now: Instant) -> Vec<Effect> {
        if !self.config.challenges.is_empty() && self.challenge_results.is_empty() {
            let borderline = self.passive.as_ref().is_some_and(|(suspected, c)| {
                !suspected && matches!((c.score, c.threshold), (Some(score), Some(t)) if score >= BORDERLINE_PASSIVE * t)
            });
            if let (true, Some(extra)) = (borderline, self.config.borderline_challenge.take()) {
                self.config.challenges.push(extra);
            }
            let mut out = vec![Effect::CollectCandidates(false), Effect::Event(EventKind::Stage { stage: Stage::Liveness })];
            self.start_challenge(0, 0, now, &mut out);
            return out;
        }
        self.after_challenges(now)
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
        let (decision, reasons) = self.decision();
        self.finish(decision, reasons)
    }

    fn finish(&mut self, decision: Decision, mut reasons: Vec<Reason>) -> Vec<Effect> {
        if self.captured.is_none() && decision != Decision::Verified && !reasons.contains(&Reason::FaceNotCaptured) {
            reasons.push(Reason::FaceNotCaptured);
        }
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

    /// The figures of the kept photo against their thresholds.
    fn checks(&self) -> Vec<Check> {
        let Some(m) = self.captured else {
            return vec![Check { name: "face_captured".into(), passed: false, score: None, threshold: None }];
        };
        let g = &self.config.gates;
        let check = |name: &str, passed: bool, score: f32, threshold: f32| Check {
            name: name.into(),
            passed,
            score: Some(round3(score)),
            threshold: Some(round3(threshold)),
        };
        vec![
            check("face_detection", m.score >= self.config.detection_score, m.score, self.config.detection_score),
            check("face_size", m.fill >= g.min_fill && m.fill <= g.max_fill, m.fill, g.min_fill),
            check("face_centred", m.centre_offset <= g.max_centre_offset, m.centre_offset, g.max_centre_offset),
            check("face_frontal", m.yaw.abs() <= g.max_yaw, m.yaw.abs(), g.max_yaw),
            check("face_sharpness", m.sharpness >= g.min_sharpness, m.sharpness, g.min_sharpness),
            check(
                "face_brightness",
                (g.min_brightness..=g.max_brightness).contains(&m.brightness),
                m.brightness,
                g.min_brightness,
            ),
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

fn round3(v: f32) -> f64 {
    (f64::from(v) * 1000.0).round() / 1000.0
}

fn prompt_for(gate: Gate) -> Prompt {
    match gate {
        Gate::NoFace => Prompt::ShowFace,
        Gate::MultipleFaces => Prompt::OnePersonOnly,
        Gate::TooDark => Prompt::TooDark,
        Gate::TooBright => Prompt::TooBright,
        Gate::NotCentred => Prompt::CenterFace,
        Gate::TooFar => Prompt::MoveCloser,
        Gate::TooClose => Prompt::MoveBack,
        Gate::NotFrontal => Prompt::LookStraight,
        Gate::Blurry => Prompt::HoldStill,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::face::{BoxF, Face, Point};

    fn config() -> MachineConfig {
        MachineConfig {
            subject_timeout: Duration::from_secs(30),
            settle: Duration::from_millis(500),
            countdown_seconds: 3,
            countdown_tolerance: Duration::from_millis(400),
            review: Duration::from_secs(2),
            camera_grace: Duration::from_secs(5),
            detection_score: 0.7,
            match_threshold: 1.0,
            gates: QualityThresholds::default(),
            replayed_source: false,
            require_consent: false,
            require_guardian_declaration: false,
            document: None,
            challenges: Vec::new(),
            borderline_challenge: None,
            challenge_timeout: Duration::from_secs(6),
            flash_plan: Vec::new(),
            flash_step: Duration::from_millis(500),
        }
    }

    fn good() -> Assessment {
        Assessment {
            faces: 1,
            primary: Some(Face { bbox: BoxF::default(), landmarks: [Point::default(); 5], score: 0.9 }),
            measures: Some(FaceMeasures { score: 0.9, fill: 0.8, sharpness: 120.0, brightness: 120.0, ..Default::default() }),
            failing: vec![],
        }
    }

    fn failing(gate: Gate) -> Assessment {
        Assessment { failing: vec![gate], ..good() }
    }

    fn none() -> Assessment {
        Assessment { faces: 0, primary: None, measures: None, failing: vec![Gate::NoFace] }
    }

    fn prompts(effects: &[Effect]) -> Vec<(Prompt, Option<u32>)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Event(EventKind::Prompt { prompt, value }) => Some((*prompt, *value)),
                _ => None,
            })
            .collect()
    }

    /// Feeds `assessment` at 30 fps for `duration`, collecting the effects.
    fn feed(m: &mut SessionMachine, t: &mut Instant, assessment: &Assessment, duration: Duration) -> Vec<Effect> {
        let mut out = Vec::new();
        let end = *t + duration;
        while *t < end {
            *t += Duration::from_millis(33);
            out.extend(m.on_frame(assessment, *t));
        }
        out
    }

    fn decision(effects: &[Effect]) -> Option<&Outcome> {
        effects.iter().find_map(|e| if let Effect::Decide(o) = e { Some(o) } else { None })
    }

    #[test]
    fn well_placed_face_counts_down_captures_and_is_verified_after_review() {
        let t0 = Instant::now();
        let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
        let fx = feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        let shown = prompts(&fx);
        assert_eq!(
            shown,
            vec![(Prompt::HoldStill, None), (Prompt::Countdown, Some(3)), (Prompt::Countdown, Some(2)), (Prompt::Countdown, Some(1))]
        );
        assert!(fx.contains(&Effect::Event(EventKind::Status { status: Status::InProgress })));
        let capture = fx.iter().position(|e| *e == Effect::CaptureFace).expect("capture");
        let discard = fx.iter().rposition(|e| *e == Effect::CollectCandidates(false)).expect("collection stops");
        assert!(capture < discard, "the candidates must be used before they are discarded");
        let measures = good().measures.unwrap();
        let fx = m.on_captured(measures, t);
        assert_eq!(prompts(&fx), vec![(Prompt::Captured, None)]);
        let fx = feed(&mut m, &mut t, &good(), Duration::from_millis(2100));
        let outcome = decision(&fx).expect("decided after the review period");
        assert_eq!(outcome.decision, Decision::Verified);
        assert!(outcome.checks.iter().all(|c| c.passed), "{:?}", outcome.checks);
        assert!(m.is_done());
    }

    #[test]
    fn prompts_name_the_first_failing_gate_and_do_not_flicker() {
        let t0 = Instant::now();
        let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
        let mut fx = feed(&mut m, &mut t, &failing(Gate::TooFar), Duration::from_millis(500));
        // One frame of a different failure must not change the prompt.
        fx.extend(feed(&mut m, &mut t, &failing(Gate::NotCentred), Duration::from_millis(40)));
        fx.extend(feed(&mut m, &mut t, &failing(Gate::TooFar), Duration::from_millis(500)));
        fx.extend(feed(&mut m, &mut t, &failing(Gate::TooDark), Duration::from_millis(500)));
        assert_eq!(prompts(&fx), vec![(Prompt::MoveCloser, None), (Prompt::TooDark, None)]);
    }

    #[test]
    fn moving_out_during_countdown_abandons_it_and_a_blink_does_not() {
        let t0 = Instant::now();
        let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
        feed(&mut m, &mut t, &good(), Duration::from_millis(1000));
        // A 200 ms dip (blink, detector miss) is tolerated.
        let fx = feed(&mut m, &mut t, &failing(Gate::Blurry), Duration::from_millis(200));
        assert!(!fx.contains(&Effect::CollectCandidates(false)), "{fx:?}");
        // Leaving the oval for longer abandons the countdown with a reason.
        let fx = feed(&mut m, &mut t, &failing(Gate::NotCentred), Duration::from_millis(600));
        assert_eq!(prompts(&fx), vec![(Prompt::CenterFace, None)]);
        assert!(!fx.contains(&Effect::CaptureFace));
    }

    #[test]
    fn retake_restarts_the_face_stage() {
        let t0 = Instant::now();
        let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
        feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        m.on_captured(good().measures.unwrap(), t);
        let fx = m.on_retake();
        assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::FaceCapture })));
        // A second full countdown is needed before anything is decided.
        let fx = feed(&mut m, &mut t, &good(), Duration::from_millis(3000));
        assert!(decision(&fx).is_none());
        assert!(!m.is_done());
    }

    #[test]
    fn absent_subject_is_rejected_with_reasons_at_the_timeout() {
        let t0 = Instant::now();
        let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
        let fx = feed(&mut m, &mut t, &none(), Duration::from_secs(31));
        assert_eq!(prompts(&fx), vec![(Prompt::ShowFace, None)]);
        let outcome = decision(&fx).expect("timed out");
        assert_eq!(outcome.decision, Decision::Rejected);
        assert_eq!(outcome.reasons, vec![Reason::SubjectTimeout, Reason::NoFaceDetected, Reason::FaceNotCaptured]);
    }

    #[test]
    fn lost_camera_ends_the_session_after_the_grace_period_unless_it_returns() {
        let t0 = Instant::now();
        let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
        feed(&mut m, &mut t, &good(), Duration::from_millis(1500));
        let fx = m.on_camera_lost(t);
        assert!(fx.contains(&Effect::Event(EventKind::Camera { available: false })));
        // It comes back: the countdown restarts from framing.
        t += Duration::from_secs(2);
        let fx = m.on_frame(&good(), t);
        assert!(fx.contains(&Effect::Event(EventKind::Camera { available: true })));
        assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::FaceCapture })));
        // Lost again, for good.
        m.on_camera_lost(t);
        t += Duration::from_secs(6);
        let fx = m.on_tick(t);
        assert_eq!(decision(&fx).unwrap().reasons[0], Reason::CameraLost);
    }

    #[test]
    fn nothing_is_looked_at_before_consent_and_no_consent_times_out_with_that_reason() {
        let t0 = Instant::now();
        let mut m = SessionMachine::new(MachineConfig { require_consent: true, ..config() }, t0);
        assert!(!m.wants_frames());
        let mut t = t0;
        let fx = feed(&mut m, &mut t, &good(), Duration::from_secs(2));
        assert!(prompts(&fx).is_empty(), "no prompt before consent: {fx:?}");
        let fx = m.on_consent(super::super::Language::Kk);
        assert_eq!(fx, vec![Effect::Event(EventKind::Consent { language: super::super::Language::Kk })]);
        assert!(m.wants_frames());
        let fx = feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        assert!(fx.contains(&Effect::CaptureFace));

        // A guardian's session also waits for the declaration before anything is captured.
        let mut m = SessionMachine::new(MachineConfig { require_consent: true, require_guardian_declaration: true, ..config() }, t0);
        let fx = m.on_consent(super::super::Language::Ru);
        assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::GuardianConsent })));
        assert!(!m.wants_frames());
        assert_eq!(m.on_guardian_declared(), vec![Effect::Event(EventKind::GuardianDeclaration)]);
        assert!(m.wants_frames());

        let mut m = SessionMachine::new(MachineConfig { require_consent: true, ..config() }, t0);
        let outcome = m.on_tick(t0 + Duration::from_secs(31));
        assert_eq!(decision(&outcome).unwrap().reasons, vec![Reason::SubjectTimeout, Reason::ConsentNotGiven, Reason::FaceNotCaptured]);
    }

    fn with_documents(kind: DocumentKind) -> MachineConfig {
        MachineConfig {
            document: Some(DocumentStageConfig {
                kind,
                read_interval: Duration::from_millis(500),
                min_area_share: 0.2,
                min_sharpness: 30.0,
                max_glare: 0.03,
                stable_reads: 2,
            }),
            ..config()
        }
    }

    /// Face stage done, now at the first document side.
    fn past_face(config: MachineConfig) -> (SessionMachine, Instant) {
        let t0 = Instant::now();
        let (mut m, mut t) = (SessionMachine::new(config, t0), t0);
        feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        m.on_captured(good().measures.unwrap(), t);
        let fx = m.on_continue(t);
        assert!(fx.iter().any(|e| matches!(e, Effect::Event(EventKind::Stage { stage: Stage::DocumentFront | Stage::PassportPage }))), "{fx:?}");
        (m, t)
    }

    const WELL_HELD: Framing = Framing { found: true, area_share: 0.5, sharpness: 80.0, glare: 0.0 };

    /// Shows a side until the machine asks for a read, then answers with `reading`.
    fn show(m: &mut SessionMachine, t: &mut Instant, reading: Option<Reading>) -> Vec<Effect> {
        let mut out = Vec::new();
        for _ in 0..40 {
            *t += Duration::from_millis(33);
            let fx = m.on_document_frame(&WELL_HELD, *t);
            let asked = fx.contains(&Effect::ReadDocument);
            out.extend(fx);
            if asked {
                out.extend(m.on_document_read(reading));
                return out;
            }
        }
        panic!("no read was asked for: {out:?}");
    }

    #[test]
    fn framing_prompts_say_what_is_wrong_with_the_card() {
        let (mut m, mut t) = past_face(with_documents(DocumentKind::IdCard));
        let mut prompts_seen = Vec::new();
        for framing in [
            Framing::default(),
            Framing { area_share: 0.1, ..WELL_HELD },
            Framing { glare: 0.2, ..WELL_HELD },
            Framing { sharpness: 5.0, ..WELL_HELD },
        ] {
            for _ in 0..15 {
                t += Duration::from_millis(33);
                let fx = m.on_document_frame(&framing, t);
                assert!(!fx.contains(&Effect::ReadDocument), "no OCR of a badly held card");
                prompts_seen.extend(prompts(&fx));
            }
        }
        assert_eq!(
            prompts_seen.iter().map(|p| p.0).collect::<Vec<_>>(),
            [Prompt::MoveCardCloser, Prompt::Glare, Prompt::TooBlurry],
            "show_front was already shown on entering the stage"
        );
    }

    #[test]
    fn each_side_is_captured_after_two_agreeing_reads_and_the_back_must_follow_the_front() {
        let (mut m, mut t) = past_face(with_documents(DocumentKind::IdCard));
        let front = Reading { side: Side::Front, fingerprint: 1 };
        let back = Reading { side: Side::Back, fingerprint: 2 };
        assert!(!show(&mut m, &mut t, Some(front)).contains(&Effect::CaptureDocument(Side::Front)));
        // A different read resets the count.
        assert!(!show(&mut m, &mut t, Some(Reading { fingerprint: 9, ..front })).contains(&Effect::CaptureDocument(Side::Front)));
        assert!(!show(&mut m, &mut t, Some(front)).contains(&Effect::CaptureDocument(Side::Front)));
        assert!(show(&mut m, &mut t, Some(front)).contains(&Effect::CaptureDocument(Side::Front)));
        let fx = m.on_document_captured();
        assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::DocumentBack })));
        assert_eq!(m.document_side(), Some(Side::Back));
        // Retake during the back: the front again, then the back again.
        let fx = m.on_retake();
        assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::DocumentFront })));
        show(&mut m, &mut t, Some(front));
        assert!(show(&mut m, &mut t, Some(front)).contains(&Effect::CaptureDocument(Side::Front)));
        m.on_document_captured();
        // Showing the front again gets "show the back".
        let fx = show(&mut m, &mut t, Some(front));
        assert!(prompts(&fx).contains(&(Prompt::ShowBack, None)), "{fx:?}");
        show(&mut m, &mut t, Some(back));
        assert!(show(&mut m, &mut t, Some(back)).contains(&Effect::CaptureDocument(Side::Back)));
        assert_eq!(m.on_document_captured(), vec![Effect::Event(EventKind::Prompt { prompt: Prompt::Captured, value: None }), Effect::AssessDocument]);
        let fx = m.on_document_assessed(DocumentVerdict { iin_readable: true, ..Default::default() });
        let outcome = decision(&fx).unwrap();
        assert_eq!((outcome.decision, outcome.reasons.clone()), (Decision::Verified, vec![]));
    }

    #[test]
    fn a_typed_iin_is_what_the_iin_checks_then_judge() {
        let unread = |name: &str| Check { name: name.into(), passed: false, score: None, threshold: None };
        let checks = vec![unread("document_iin_check_digit"), unread("document_iin_matches_request")];
        let outcome = decide_with(DocumentVerdict { iin_readable: false, checks, ..Default::default() });
        for name in ["document_iin_check_digit", "document_iin_matches_request"] {
            assert!(outcome.checks.iter().any(|c| c.name == name && c.passed), "{name}: {:?}", outcome.checks);
        }
    }

    fn decide_with(verdict: DocumentVerdict) -> Outcome {
        let (mut m, mut t) = past_face(with_documents(DocumentKind::Passport));
        let page = Reading { side: Side::PassportPage, fingerprint: 3 };
        show(&mut m, &mut t, Some(page));
        assert!(show(&mut m, &mut t, Some(page)).contains(&Effect::CaptureDocument(Side::PassportPage)));
        m.on_document_captured();
        let fx = m.on_document_assessed(verdict);
        if let Some(o) = decision(&fx) {
            return o.clone();
        }
        assert!(prompts(&fx).contains(&(Prompt::EnterIin, None)), "{fx:?}");
        decision(&m.on_iin_entered(false, true, false)).unwrap().clone()
    }

    #[test]
    fn the_document_verdict_decides() {
        let ok = DocumentVerdict { iin_readable: true, ..Default::default() };
        let o = decide_with(DocumentVerdict { expected_iin_mismatch: true, ..ok.clone() });
        assert_eq!((o.decision, o.reasons), (Decision::Rejected, vec![Reason::ExpectedIinMismatch]));
        let o = decide_with(DocumentVerdict { expired: true, ..ok.clone() });
        assert_eq!((o.decision, o.reasons), (Decision::Rejected, vec![Reason::DocumentExpired]));
        let o = decide_with(DocumentVerdict { inconsistent: true, ..ok.clone() });
        assert_eq!((o.decision, o.reasons), (Decision::Rejected, vec![Reason::DocumentInconsistent]));
        let o = decide_with(DocumentVerdict { face_mismatch: true, ..ok.clone() });
        assert_eq!((o.decision, o.reasons), (Decision::Rejected, vec![Reason::FaceMismatch]));
        let o = decide_with(DocumentVerdict { portrait_not_compared: true, ..ok.clone() });
        assert_eq!((o.decision, o.reasons), (Decision::NeedsReview, vec![Reason::PortraitNotCompared]));
        let o = decide_with(DocumentVerdict { minor: true, ..ok.clone() });
        assert_eq!((o.decision, o.reasons), (Decision::PendingGuardian, vec![Reason::GuardianRequired]));
        // OCR could not read the IIN: the subject types it, and a person reviews.
        let o = decide_with(DocumentVerdict { iin_readable: false, ..Default::default() });
        assert_eq!((o.decision, o.reasons), (Decision::NeedsReview, vec![Reason::IinEnteredBySubject]));
    }

    /// An ID card session in which, while each side is shown, the engine looks for
    /// the holder's face whenever a look is due and finds `seen` in turn, then no face.
    fn card_held_by(seen: &[Option<f32>]) -> Outcome {
        let (mut m, mut t) = past_face(with_documents(DocumentKind::IdCard));
        let mut seen = seen.iter().copied().chain(std::iter::repeat(None));
        let mut show_looking = |m: &mut SessionMachine, t: &mut Instant, reading: Reading| {
            for _ in 0..30 {
                *t += Duration::from_millis(33);
                if m.holder_look_due(*t) {
                    m.on_holder_look(seen.next().flatten(), *t);
                }
                m.on_document_frame(&WELL_HELD, *t);
            }
            m.on_document_read(Some(reading))
        };
        let front = Reading { side: Side::Front, fingerprint: 1 };
        show_looking(&mut m, &mut t, front);
        assert!(show_looking(&mut m, &mut t, front).contains(&Effect::CaptureDocument(Side::Front)));
        m.on_document_captured();
        let back = Reading { side: Side::Back, fingerprint: 2 };
        show_looking(&mut m, &mut t, back);
        assert!(show_looking(&mut m, &mut t, back).contains(&Effect::CaptureDocument(Side::Back)));
        assert!(m.on_document_captured().contains(&Effect::AssessDocument));
        let fx = m.on_document_assessed(DocumentVerdict { iin_readable: true, ..Default::default() });
        decision(&fx).expect("decided").clone()
    }

    fn holder_check(outcome: &Outcome) -> &Check {
        let mut found = outcome.checks.iter().filter(|c| c.name.starts_with(holder::CHECK_NAME));
        let check = found.next().unwrap_or_else(|| panic!("no holder check: {:?}", outcome.checks));
        assert!(found.next().is_none(), "one holder check: {:?}", outcome.checks);
        check
    }

    #[test]
    fn the_person_holding_the_document_is_the_one_photographed() {
        // No look is asked for before the document stages.
        let t0 = Instant::now();
        let (mut m, mut t) = (SessionMachine::new(with_documents(DocumentKind::IdCard), t0), t0);
        feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        assert!(!m.holder_look_due(t));
        // Looks only where the card sits well enough to read: then it is told reliably
        // from the face beside it.
        let (m, t) = past_face(with_documents(DocumentKind::IdCard));
        assert!(m.holder_look_due(t));
        assert!(m.well_framed(&WELL_HELD));
        assert!(!m.well_framed(&Framing { sharpness: 5.0, ..WELL_HELD }) && !m.well_framed(&Framing::default()));

        let o = card_held_by(&[Some(0.45), Some(0.62), None, Some(0.8)]);
        assert_eq!((o.decision, o.reasons.clone()), (Decision::Verified, vec![]));
        let check = holder_check(&o);
        assert_eq!((check.name.as_str(), check.passed, check.score, check.threshold), (holder::CHECK_NAME, true, Some(0.62), Some(1.0)));
        assert!(o.checks.iter().all(|c| c.passed), "{:?}", o.checks);
    }

    #[test]
    fn someone_else_holding_the_document_is_rejected_as_a_face_mismatch() {
        // One close look among them does not save it: the median decides.
        let o = card_held_by(&[Some(1.3), None, Some(0.9), Some(1.5), Some(1.6), Some(0.5)]);
        assert_eq!((o.decision, o.reasons.clone()), (Decision::Rejected, vec![Reason::FaceMismatch]));
        let check = holder_check(&o);
        assert_eq!((check.name.as_str(), check.passed, check.score), (holder::CHECK_NAME, false, Some(1.4)));
        // A single odd face is not enough to reject on: reported, not decided on.
        let o = card_held_by(&[Some(1.35)]);
        assert_eq!((o.decision, o.reasons.clone()), (Decision::Verified, vec![]));
        assert_eq!(holder_check(&o).name, format!("{} (inconclusive)", holder::CHECK_NAME));
    }

    #[test]
    fn a_holder_never_seen_is_reported_but_not_rejected() {
        // The card held up close, covering the face, the whole time.
        let o = card_held_by(&[None]);
        assert_eq!((o.decision, o.reasons.clone()), (Decision::Verified, vec![]));
        let check = holder_check(&o);
        assert_eq!(
            (check.name.clone(), check.passed, check.score, check.threshold),
            (format!("{} (no_face_seen)", holder::CHECK_NAME), false, None, Some(1.0))
        );
        // A face-only session has no document, so no holder check at all.
        let t0 = Instant::now();
        let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
        feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        m.on_captured(good().measures.unwrap(), t);
        let o = decision(&m.on_continue(t)).unwrap().clone();
        assert!(!o.checks.iter().any(|c| c.name.starts_with(holder::CHECK_NAME)), "{:?}", o.checks);
    }

    #[test]
    fn challenges_run_in_order_after_the_photo_and_a_failed_one_rejects() {
        use super::super::liveness::{Challenge, Observation};
        let t0 = Instant::now();
        let cfg = MachineConfig { challenges: vec![Challenge::TurnLeft, Challenge::LookUp], ..config() };
        let (mut m, mut t) = (SessionMachine::new(cfg.clone(), t0), t0);
        feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        m.on_captured(good().measures.unwrap(), t);
        let fx = m.on_continue(t);
        assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::Liveness })));
        assert!(prompts(&fx).contains(&(Prompt::TurnLeft, None)));
        let base = Observation { pitch: 0.55, fill: 0.7, eye_openness: 1.0, depth_shape: 0.45, centre: (320.0, 240.0), width: 150.0, ..Default::default() };
        let mut play = |m: &mut SessionMachine, o: Observation, n: usize| {
            let mut out = Vec::new();
            for _ in 0..n {
                t += Duration::from_millis(33);
                out.extend(m.on_liveness_frame(Some(&o), t));
            }
            out
        };
        play(&mut m, base, 6);
        let fx = play(&mut m, Observation { yaw: 0.3, ..base }, 3);
        assert!(prompts(&fx).contains(&(Prompt::LookUp, None)), "{fx:?}");
        play(&mut m, base, 6);
        let fx = play(&mut m, Observation { pitch: 0.4, ..base }, 3);
        let outcome = decision(&fx).expect("decided after the last challenge");
        assert_eq!(outcome.decision, Decision::Verified);
        assert!(outcome.checks.iter().any(|c| c.name == "challenge_turn_left" && c.passed));

        // A replayed clip does not follow the prompt: the challenge times out.
        let (mut m, mut t) = (SessionMachine::new(cfg, t0), t0);
        feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        m.on_captured(good().measures.unwrap(), t);
        m.on_continue(t);
        let mut out = Vec::new();
        for _ in 0..200 {
            t += Duration::from_millis(33);
            out.extend(m.on_liveness_frame(Some(&base), t));
        }
        let outcome = decision(&out).expect("timed out");
        assert_eq!((outcome.decision, outcome.reasons.clone()), (Decision::Rejected, vec![Reason::ChallengeNotCompleted]));
        assert!(outcome.checks.iter().any(|c| c.name == "challenge_turn_left (timeout)" && !c.passed));

        // The face keeps leaving the camera: after the allowed restarts, face_lost.
        let cfg = MachineConfig { challenges: vec![Challenge::Blink], ..config() };
        let (mut m, mut t) = (SessionMachine::new(cfg, t0), t0);
        feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        m.on_captured(good().measures.unwrap(), t);
        m.on_continue(t);
        let mut out = Vec::new();
        for _ in 0..4 {
            out.extend(play(&mut m, base, 6));
            for _ in 0..30 {
                t += Duration::from_millis(33);
                out.extend(m.on_liveness_frame(None, t));
            }
        }
        let outcome = decision(&out).expect("gave up on a lost face");
        assert_eq!(outcome.reasons, vec![Reason::FaceLost]);
    }

    #[test]
    fn a_borderline_passive_score_asks_the_extra_challenge() {
        use super::super::liveness::Challenge;
        for (score, asked) in [(0.1, 1), (0.3, 2)] {
            let t0 = Instant::now();
            let cfg = MachineConfig { challenges: vec![Challenge::TurnLeft], borderline_challenge: Some(Challenge::Blink), ..config() };
            let (mut m, mut t) = (SessionMachine::new(cfg, t0), t0);
            feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
            m.on_passive(false, Check { name: "passive_liveness".into(), passed: true, score: Some(score), threshold: Some(0.5) });
            m.on_captured(good().measures.unwrap(), t);
            m.on_continue(t);
            assert_eq!(m.config.challenges.len(), asked, "passive score {score}");
        }
    }

    #[test]
    fn the_flash_sequence_is_shown_step_by_step_and_an_unlit_face_is_rejected() {
        use super::super::flash::FlashColour::{Blue, Green, Red};
        let plan = vec![Red, Green, Blue, Red, Green, Blue];
        let t0 = Instant::now();
        let cfg = MachineConfig { flash_plan: plan.clone(), ..config() };
        let (mut m, mut t) = (SessionMachine::new(cfg, t0), t0);
        feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        m.on_captured(good().measures.unwrap(), t);
        let fx = m.on_continue(t);
        assert!(fx.contains(&Effect::Event(EventKind::Flash { color: Some("#FF0000".into()) })), "{fx:?}");
        let mut colours = Vec::new();
        let mut all = Vec::new();
        for _ in 0..100 {
            t += Duration::from_millis(33);
            // A face that does not change colour: a picture that cannot see the screen.
            m.on_flash_sample([110.0, 130.0, 170.0], None, t);
            let fx = m.on_tick(t);
            colours.extend(fx.iter().filter_map(|e| match e {
                Effect::Event(EventKind::Flash { color }) => Some(color.clone()),
                _ => None,
            }));
            all.extend(fx);
        }
        assert_eq!(colours, [Some("#00FF00"), Some("#0000FF"), Some("#FF0000"), Some("#00FF00"), Some("#0000FF"), None].map(|c| c.map(String::from)));
        let outcome = decision(&all).expect("decided after the sequence");
        assert_eq!((outcome.decision, outcome.reasons.clone()), (Decision::Rejected, vec![Reason::PresentationAttackSuspected]));
        assert!(outcome.checks.iter().any(|c| c.name.starts_with("screen_flash (followed 0/6") && !c.passed), "{:?}", outcome.checks);
    }

    #[test]
    fn a_suspected_presentation_attack_rejects_whatever_else_passed() {
        let t0 = Instant::now();
        let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
        feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        m.on_passive(true, Check { name: "passive_liveness (print)".into(), passed: false, score: Some(0.9), threshold: Some(0.5) });
        m.on_captured(good().measures.unwrap(), t);
        let fx = m.on_continue(t);
        let outcome = decision(&fx).unwrap();
        assert_eq!((outcome.decision, outcome.reasons.clone()), (Decision::Rejected, vec![Reason::PresentationAttackSuspected]));
        assert!(outcome.checks.iter().any(|c| c.name.starts_with("passive_liveness") && !c.passed));
    }

    #[test]
    fn replayed_source_is_never_verified() {
        let t0 = Instant::now();
        let mut m = SessionMachine::new(MachineConfig { replayed_source: true, ..config() }, t0);
        let mut t = t0;
        feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        m.on_captured(good().measures.unwrap(), t);
        let outcome = m.on_continue(t);
        let outcome = decision(&outcome).unwrap();
        assert_eq!(outcome.decision, Decision::NeedsReview);
        assert_eq!(outcome.reasons, vec![Reason::ReplayedSource]);
    }
}
