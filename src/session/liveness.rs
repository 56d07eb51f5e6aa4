//! Active liveness: challenges the subject performs on request, judged from the
//! face's pose and landmarks over time. Enters: one [`Observation`] per frame (or
//! none when no face is seen). Leaves: whether the challenge passed, failed, or is
//! still pending. A recorded or injected video cannot know which challenge comes
//! next, so it cannot perform it in time.
//!
//! Conventions (image as the camera sees it, not mirrored): yaw grows when the nose
//! moves towards the image's right, which is the subject turning to their left;
//! pitch (nose between eye line and mouth line) shrinks when the head tilts back.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::Prompt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Challenge {
    TurnLeft,
    TurnRight,
    LookUp,
    Blink,
    MoveCloser,
}

impl Challenge {
    pub const ALL: [Challenge; 5] =
        [Challenge::TurnLeft, Challenge::TurnRight, Challenge::LookUp, Challenge::Blink, Challenge::MoveCloser];

    pub fn prompt(self) -> Prompt {
        match self {
            Challenge::TurnLeft => Prompt::TurnLeft,
            Challenge::TurnRight => Prompt::TurnRight,
            Challenge::LookUp => Prompt::LookUp,
            Challenge::Blink => Prompt::Blink,
            Challenge::MoveCloser => Prompt::MoveCloser,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Challenge::TurnLeft => "turn_left",
            Challenge::TurnRight => "turn_right",
            Challenge::LookUp => "look_up",
            Challenge::Blink => "blink",
            Challenge::MoveCloser => "move_closer",
        }
    }
}

/// A random sequence of `count` different challenges, unpredictable to the subject.
pub fn random_sequence(count: usize) -> Vec<Challenge> {
    use rand::seq::SliceRandom;
    let mut all = Challenge::ALL.to_vec();
    all.shuffle(&mut rand::rngs::OsRng);
    all.truncate(count.min(all.len()));
    all
}

/// What one frame says about the face.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Observation {
    pub yaw: f32,
    pub pitch: f32,
    /// Face width relative to the oval.
    pub fill: f32,
    /// Texture of the eye regions relative to the face (drops when the eyes close).
    pub eye_openness: f32,
    /// Nose-to-eye-line distance over eye distance: constant when a flat picture
    /// is scaled, changing when a real head comes closer (perspective).
    pub depth_shape: f32,
    /// Face box centre and width, in pixels: continuity of the tracked face.
    pub centre: (f32, f32),
    pub width: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Pending,
    Passed,
    /// Failed for good (`timeout`, `uniform_scaling`).
    Failed(&'static str),
    /// The face was lost or replaced: the challenge must start again.
    Restart(&'static str),
}

/// Thresholds, with the reasons for their size next to them.
const BASELINE_FRAMES: usize = 5;
/// A deliberate head turn moves the nose by a quarter of the eye distance or more;
/// natural sway (the demo clip) stays under 0.16.
const TURN: f32 = 0.2;
const LOOK_UP: f32 = 0.08;
const BLINK_CLOSED: f32 = 0.75;
const BLINK_OPEN: f32 = 0.9;
const BLINK_MAX: Duration = Duration::from_millis(700);
const CLOSER: f32 = 1.25;
/// A real head coming 25% closer changes its perspective shape measurably; a photo
/// scaled by the same amount keeps it within noise.
const PERSPECTIVE_MIN: f32 = 0.03;
/// A face centre that jumps by more than this many face widths between frames is
/// another face.
const SWAP_JUMP: f32 = 0.6;
const LOST_AFTER: Duration = Duration::from_millis(700);

pub struct Judge {
    challenge: Challenge,
    timeout: Duration,
    started: Instant,
    baseline: Vec<Observation>,
    last: Option<(Observation, Instant)>,
    held: u32,
    closed_at: Option<Instant>,
}

impl Judge {
    pub fn new(challenge: Challenge, timeout: Duration, now: Instant) -> Self {
        Self { challenge, timeout, started: now, baseline: Vec::new(), last: None, held: 0, closed_at: None }
    }

    pub fn challenge(&self) -> Challenge {
        self.challenge
    }

    pub fn elapsed(&self, now: Instant) -> Duration {
        now.duration_since(self.started)
    }

    fn base(&self) -> Observation {
        let n = self.baseline.len().max(1) as f32;
        let sum = |f: fn(&Observation) -> f32| self.baseline.iter().map(f).sum::<f32>() / n;
        Observation {
            yaw: sum(|o| o.yaw),
            pitch: sum(|o| o.pitch),
            fill: sum(|o| o.fill),
            eye_openness: sum(|o| o.eye_openness),
            depth_shape: sum(|o| o.depth_shape),
            ..Default::default()
        }
    }

    pub fn observe(&mut self, observation: Option<&Observation>, now: Instant) -> Progress {
        if self.elapsed(now) > self.timeout {
            return Progress::Failed("timeout");
        }
        let Some(o) = observation else {
            return match self.last {
                Some((_, seen)) if now.duration_since(seen) > LOST_AFTER => Progress::Restart("face_lost"),
                _ => Progress::Pending,
            };
        };
        if let Some((prev, _)) = self.last {
            let jump = ((o.centre.0 - prev.centre.0).powi(2) + (o.centre.1 - prev.centre.1).powi(2)).sqrt();
            if jump > SWAP_JUMP * prev.width.max(1.0) {
                return Progress::Restart("face_swapped");
            }
        }
        self.last = Some((*o, now));
        if self.baseline.len() < BASELINE_FRAMES {
            self.baseline.push(*o);
            return Progress::Pending;
        }
        let base = self.base();
        let done = match self.challenge {
            Challenge::TurnLeft => o.yaw - base.yaw >= TURN,
            Challenge::TurnRight => o.yaw - base.yaw <= -TURN,
            Challenge::LookUp => o.pitch - base.pitch <= -LOOK_UP,
            Challenge::Blink => {
                if o.eye_openness < BLINK_CLOSED * base.eye_openness {
                    self.closed_at.get_or_insert(now);
                    false
                } else {
                    // Open again soon after closing: a blink, not eyes shut for a photo.
                    let reopened = o.eye_openness > BLINK_OPEN * base.eye_openness;
                    match self.closed_at {
                        Some(t) if reopened && now.duration_since(t) <= BLINK_MAX => true,
                        Some(t) if now.duration_since(t) > BLINK_MAX => {
                            self.closed_at = None;
                            false
                        }
                        _ => false,
                    }
                }
            }
            Challenge::MoveCloser => {
                if o.fill >= CLOSER * base.fill {
                    if (o.depth_shape - base.depth_shape).abs() < PERSPECTIVE_MIN {
                        return Progress::Failed("uniform_scaling");
                    }
                    true
                } else {
                    false
                }
            }
        };
        // Two frames in a row, so one noisy landmark does not pass a challenge.
        self.held = if done { self.held + 1 } else { 0 };
        if self.held >= 2 || (done && self.challenge == Challenge::Blink) { Progress::Passed } else { Progress::Pending }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: Duration = Duration::from_millis(33);

    fn still() -> Observation {
        Observation { yaw: 0.0, pitch: 0.55, fill: 0.7, eye_openness: 1.0, depth_shape: 0.45, centre: (320.0, 240.0), width: 150.0 }
    }

    /// Plays a recorded track through a judge; returns the first decisive progress.
    fn play(challenge: Challenge, track: &[Option<Observation>]) -> Progress {
        let t0 = Instant::now();
        let mut judge = Judge::new(challenge, Duration::from_secs(6), t0);
        for (i, o) in track.iter().enumerate() {
            let p = judge.observe(o.as_ref(), t0 + STEP * i as u32);
            if p != Progress::Pending {
                return p;
            }
        }
        Progress::Pending
    }

    fn ramp(from: Observation, to: Observation, frames: usize) -> Vec<Option<Observation>> {
        (0..frames)
            .map(|i| {
                let k = i as f32 / (frames - 1).max(1) as f32;
                let mix = |a: f32, b: f32| a + (b - a) * k;
                Some(Observation {
                    yaw: mix(from.yaw, to.yaw),
                    pitch: mix(from.pitch, to.pitch),
                    fill: mix(from.fill, to.fill),
                    eye_openness: mix(from.eye_openness, to.eye_openness),
                    depth_shape: mix(from.depth_shape, to.depth_shape),
                    centre: (mix(from.centre.0, to.centre.0), mix(from.centre.1, to.centre.1)),
                    width: mix(from.width, to.width),
                })
            })
            .collect()
    }

    fn hold(o: Observation, frames: usize) -> Vec<Option<Observation>> {
        vec![Some(o); frames]
    }

    #[test]
    fn turns_and_look_up_pass_only_in_the_asked_direction() {
        let left = Observation { yaw: 0.3, ..still() };
        let track: Vec<_> = [hold(still(), 6), ramp(still(), left, 10), hold(left, 3)].concat();
        assert_eq!(play(Challenge::TurnLeft, &track), Progress::Passed);
        assert_eq!(play(Challenge::TurnRight, &track), Progress::Pending);
        let up = Observation { pitch: 0.42, ..still() };
        let track: Vec<_> = [hold(still(), 6), ramp(still(), up, 8), hold(up, 3)].concat();
        assert_eq!(play(Challenge::LookUp, &track), Progress::Passed);
    }

    #[test]
    fn a_blink_is_a_short_dip_and_closed_eyes_are_not() {
        let closed = Observation { eye_openness: 0.5, ..still() };
        let blink: Vec<_> = [hold(still(), 6), hold(closed, 4), hold(still(), 3)].concat();
        assert_eq!(play(Challenge::Blink, &blink), Progress::Passed);
        let shut: Vec<_> = [hold(still(), 6), hold(closed, 40), hold(still(), 3)].concat();
        assert_eq!(play(Challenge::Blink, &shut), Progress::Pending, "eyes shut for over a second is no blink");
    }

    #[test]
    fn coming_closer_needs_perspective_a_scaled_photo_fails() {
        let head = Observation { fill: 0.95, depth_shape: 0.5, width: 200.0, ..still() };
        let track: Vec<_> = [hold(still(), 6), ramp(still(), head, 12), hold(head, 3)].concat();
        assert_eq!(play(Challenge::MoveCloser, &track), Progress::Passed);
        let photo = Observation { fill: 0.95, width: 200.0, ..still() };
        let track: Vec<_> = [hold(still(), 6), ramp(still(), photo, 12)].concat();
        assert_eq!(play(Challenge::MoveCloser, &track), Progress::Failed("uniform_scaling"));
    }

    #[test]
    fn timeout_lost_face_and_swapped_face() {
        assert_eq!(play(Challenge::TurnLeft, &hold(still(), 200)), Progress::Failed("timeout"));
        let lost: Vec<_> = [hold(still(), 6), vec![None; 30]].concat();
        assert_eq!(play(Challenge::TurnLeft, &lost), Progress::Restart("face_lost"));
        let other = Observation { centre: (520.0, 240.0), ..still() };
        let swapped: Vec<_> = [hold(still(), 6), hold(other, 2)].concat();
        assert_eq!(play(Challenge::TurnLeft, &swapped), Progress::Restart("face_swapped"));
    }

    #[test]
    fn sequences_are_distinct_challenges() {
        for _ in 0..20 {
            let s = random_sequence(3);
            assert_eq!(s.len(), 3);
            assert!(s[0] != s[1] && s[1] != s[2] && s[0] != s[2]);
        }
    }
}
