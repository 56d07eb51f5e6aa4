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
//! Any state: subject timeout → rejected; camera lost longer than `camera_grace` →
//! rejected; a camera that comes back restarts the face stage.

use std::time::{Duration, Instant};

use super::{Check, Decision, EventKind, Outcome, Prompt, Reason, Stage, Status};
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
    pub gates: QualityThresholds,
    /// Frames come from a replayed source: never `verified`.
    pub replayed_source: bool,
    /// Nothing is captured until the subject consents on the kiosk.
    pub require_consent: bool,
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
    /// The session is over.
    Decide(Outcome),
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    AwaitingConsent,
    Waiting,
    Framing { good_since: Option<Instant> },
    Countdown { started: Instant, bad_since: Option<Instant>, shown: u32 },
    Capturing,
    Review { since: Instant },
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
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Frames are only looked at once the subject has consented.
    pub fn wants_frames(&self) -> bool {
        !matches!(self.state, State::AwaitingConsent | State::Done)
    }

    /// The subject consented on the kiosk; capture may begin.
    pub fn on_consent(&mut self, language: super::Language) -> Vec<Effect> {
        if self.state != State::AwaitingConsent {
            return Vec::new();
        }
        self.state = State::Waiting;
        vec![Effect::Event(EventKind::Consent { language })]
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
            State::AwaitingConsent | State::Capturing | State::Review { .. } | State::Done => {}
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
            if self.state == State::AwaitingConsent {
                reasons.push(Reason::ConsentNotGiven);
            } else if !self.face_seen {
                reasons.push(Reason::NoFaceDetected);
            }
            return self.finish(Decision::Rejected, reasons);
        }
        match self.state.clone() {
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
                out.extend(self.complete());
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

    /// The subject pressed Retake (during the countdown or the review).
    pub fn on_retake(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        if matches!(self.state, State::Countdown { .. } | State::Review { .. }) {
            self.captured = None;
            self.enter_framing(&mut out);
        }
        out
    }

    /// The subject pressed Continue on the review screen.
    pub fn on_continue(&mut self) -> Vec<Effect> {
        if matches!(self.state, State::Review { .. }) { self.complete() } else { Vec::new() }
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

    fn complete(&mut self) -> Vec<Effect> {
        let mut reasons = Vec::new();
        let decision = if self.config.replayed_source {
            reasons.push(Reason::ReplayedSource);
            Decision::NeedsReview
        } else {
            Decision::Verified
        };
        self.finish(decision, reasons)
    }

    fn finish(&mut self, decision: Decision, mut reasons: Vec<Reason>) -> Vec<Effect> {
        if self.captured.is_none() && decision != Decision::Verified && !reasons.contains(&Reason::FaceNotCaptured) {
            reasons.push(Reason::FaceNotCaptured);
        }
        self.state = State::Done;
        let checks = self.checks();
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
            gates: QualityThresholds::default(),
            replayed_source: false,
            require_consent: false,
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

        let mut m = SessionMachine::new(MachineConfig { require_consent: true, ..config() }, t0);
        let outcome = m.on_tick(t0 + Duration::from_secs(31));
        assert_eq!(decision(&outcome).unwrap().reasons, vec![Reason::SubjectTimeout, Reason::ConsentNotGiven, Reason::FaceNotCaptured]);
    }

    #[test]
    fn replayed_source_is_never_verified() {
        let t0 = Instant::now();
        let mut m = SessionMachine::new(MachineConfig { replayed_source: true, ..config() }, t0);
        let mut t = t0;
        feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        m.on_captured(good().measures.unwrap(), t);
        let outcome = m.on_continue();
        let outcome = decision(&outcome).unwrap();
        assert_eq!(outcome.decision, Decision::NeedsReview);
        assert_eq!(outcome.reasons, vec![Reason::ReplayedSource]);
    }
}
