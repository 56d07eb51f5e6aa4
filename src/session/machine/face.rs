//! The face stage: framing prompts until every quality gate holds for `settle`, the
//! countdown, the capture of the evidence photo and its review; then on to the
//! challenges. The figures of the kept photo become the result's face checks.

use super::*;

impl SessionMachine {
    pub(super) fn enter_framing(&mut self, out: &mut Vec<Effect>) {
        self.state = State::Framing { good_since: None };
        self.shown_prompt = None;
        self.pending_prompt = None;
        out.push(Effect::CollectCandidates(false));
        out.push(Effect::Event(EventKind::Stage { stage: Stage::FaceCapture }));
    }

    pub(super) fn frame_in_stage(&mut self, a: &Assessment, now: Instant, out: &mut Vec<Effect>) {
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

    /// One step of the countdown: the next number, or the capture at its end.
    pub(super) fn countdown_tick(&mut self, started: Instant, shown: u32, bad_since: Option<Instant>, now: Instant, out: &mut Vec<Effect>) {
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
                self.show(Prompt::Countdown, Some(remaining), out);
            }
        }
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

    /// The subject pressed Continue on the review screen.
    pub fn on_continue(&mut self, now: Instant) -> Vec<Effect> {
        if matches!(self.state, State::Review { .. }) { self.complete(now) } else { Vec::new() }
    }

    /// The face photo is taken: on to the challenges, then the document.
    pub(super) fn complete(&mut self, now: Instant) -> Vec<Effect> {
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

    /// The figures of the kept photo against their thresholds.
    pub(super) fn checks(&self) -> Vec<Check> {
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
