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
#[cfg(test)]
mod tests;

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
