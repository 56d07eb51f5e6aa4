//! After the face photo: the active challenges, the screen flash, and the passive and
//! continuity verdicts the engine reports while they run; the face beside the document.

use super::*;

impl SessionMachine {
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
    pub(super) fn after_challenges(&mut self, now: Instant) -> Vec<Effect> {
        if self.config.flash_plan.is_empty() || self.flash_verdict.is_some() {
            return self.after_face();
        }
        self.state = State::Flash { started: now, shown: 0 };
        let mut out = vec![Effect::Event(EventKind::Stage { stage: Stage::ScreenFlash })];
        self.show(Prompt::LookAtScreen, None, &mut out);
        out.push(Effect::Event(EventKind::Flash { color: Some(self.config.flash_plan[0].hex().to_string()) }));
        out
    }

    pub(super) fn flash_tick(&mut self, started: Instant, shown: usize, now: Instant) -> Vec<Effect> {
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
            out.extend(self.finish(Ending::FlashNotFollowed));
        }
        out
    }

    /// Whether an active liveness challenge is running.
    pub fn in_liveness(&self) -> bool {
        matches!(self.state, State::Liveness { .. })
    }

    pub(super) fn start_challenge(&mut self, index: usize, restarts: u32, now: Instant, out: &mut Vec<Effect>) {
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
                return self.finish(Ending::ChallengeFailed { face_lost: matches!(why, "face_lost" | "face_swapped") });
            }
        }
        out.extend(self.on_tick(now));
        out
    }
}
