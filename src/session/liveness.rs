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

/// A random sequence of `count` different challenges, unpredictable to the subject:
/// `draws` is the engine's source (the OS's in production, a fixed seed in tests).
pub fn random_sequence(count: usize, draws: &mut dyn rand::RngCore) -> Vec<Challenge> {
    use rand::seq::SliceRandom;
    let mut all = Challenge::ALL.to_vec();
    all.shuffle(draws);
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
    /// Failed for good; the reason names what went wrong (`timeout`,
    /// `uniform_scaling`, `wrong_action_<action>`).
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
/// `blink` asks for two blinks in a rhythm: the second closes this long after the
/// first reopened. Natural blinks come every 2–10 s, so two this close are deliberate.
const DOUBLE_BLINK_GAP: (Duration, Duration) = (Duration::from_millis(80), Duration::from_millis(900));
const CLOSER: f32 = 1.25;
/// A real head coming 25% closer changes its perspective shape measurably; a photo
/// scaled by the same amount keeps it within noise.
const PERSPECTIVE_MIN: f32 = 0.03;
/// A pose asked for is held this long: a natural recording passes through
/// turns and nods in a frame or two (the carphone clip, `tests/liveness.rs`).
/// 200 ms took its chance passes from 2 to 0 in 400 draws of two challenges.
const HOLD: Duration = Duration::from_millis(200);
/// A pose held stays held while past this share of its threshold.
/// The synthetic subject's look up (tests/verified.rs) wavers about its threshold;
/// at 0.5 and 0.7 it passes, and the carphone clip's chance passes stay 0 in 400.
const RELEASE: f32 = 0.5;
/// The action must be done within this long after the prompt (or the configured
/// timeout if shorter): a recording cannot wait for the right moment.
const RESPONSE_WINDOW: Duration = Duration::from_millis(3500);
/// The baseline is taken over frames where the head moves by less than this share of
/// an action's threshold: until then it is still moving (from before the prompt).
const BASELINE_STILL: f32 = 0.5;
/// A face centre that jumps by more than this many face widths between frames is
/// another face.
const SWAP_JUMP: f32 = 0.6;
const LOST_AFTER: Duration = Duration::from_millis(700);

/// The actions a judge watches for: the one asked, and any other is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    TurnLeft,
    TurnRight,
    LookUp,
    DoubleBlink,
    MoveCloser,
}

impl Action {
    fn of(challenge: Challenge) -> Self {
        match challenge {
            Challenge::TurnLeft => Action::TurnLeft,
            Challenge::TurnRight => Action::TurnRight,
            Challenge::LookUp => Action::LookUp,
            Challenge::Blink => Action::DoubleBlink,
            Challenge::MoveCloser => Action::MoveCloser,
        }
    }

    fn wrong(self) -> &'static str {
        match self {
            Action::TurnLeft => "wrong_action_turn_left",
            Action::TurnRight => "wrong_action_turn_right",
            Action::LookUp => "wrong_action_look_up",
            Action::DoubleBlink => "wrong_action_blink",
            Action::MoveCloser => "wrong_action_move_closer",
        }
    }
}

pub struct Judge {
    challenge: Challenge,
    window: Duration,
    started: Instant,
    baseline: Vec<Observation>,
    last: Option<(Observation, Instant)>,
    /// Frames in a row each action has been seen, and since when.
    held: [(u32, Option<Instant>); 5],
    blink: BlinkRhythm,
    settled: bool,
    /// The previous challenge's still pose: the head must come back to it before this
    /// challenge's baseline is taken.
    neutral: Option<Observation>,
}

/// Blinks as they happen: when the eyes closed, and when the last blink ended.
#[derive(Default)]
struct BlinkRhythm {
    closed_at: Option<Instant>,
    last_blink_end: Option<Instant>,
    double: bool,
}

impl BlinkRhythm {
    /// One frame's eye openness against the baseline's.
    fn observe(&mut self, openness: f32, base: f32, now: Instant) {
        if openness < BLINK_CLOSED * base {
            if self.closed_at.is_none() {
                self.closed_at = Some(now);
            }
            return;
        }
        let Some(closed) = self.closed_at else { return };
        if openness <= BLINK_OPEN * base {
            return;
        }
        self.closed_at = None;
        if now.duration_since(closed) > BLINK_MAX {
            // Eyes shut for long: not a blink (a photo with closed eyes, a nap).
            self.last_blink_end = None;
            return;
        }
        // A blink ended. Its closing came at `closed`: within the rhythm's gap after
        // the previous blink's end, the two make the double blink asked for.
        if let Some(previous) = self.last_blink_end {
            let gap = closed.saturating_duration_since(previous);
            self.double |= gap >= DOUBLE_BLINK_GAP.0 && gap <= DOUBLE_BLINK_GAP.1;
        }
        self.last_blink_end = Some(now);
    }
}

impl Judge {
    pub fn new(challenge: Challenge, timeout: Duration, now: Instant) -> Self {
        Self {
            challenge,
            window: timeout.min(RESPONSE_WINDOW),
            started: now,
            baseline: Vec::new(),
            last: None,
            held: [(0, None); 5],
            blink: BlinkRhythm::default(),
            settled: false,
            neutral: None,
        }
    }

    /// A judge for the challenge after another: its baseline waits for the head to be
    /// back near `neutral` (the previous judge's [`Judge::neutral`]).
    pub fn after(challenge: Challenge, timeout: Duration, now: Instant, neutral: Option<Observation>) -> Self {
        Self { neutral, ..Self::new(challenge, timeout, now) }
    }

    /// The still pose this judge measured actions from, once it has one.
    pub fn neutral(&self) -> Option<Observation> {
        self.settled.then(|| self.base())
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

    /// Whether the baseline frames show a head already turning, nodding or coming closer.
    fn baseline_moving(&self) -> bool {
        let range = |f: fn(&Observation) -> f32| {
            let v = self.baseline.iter().map(f);
            v.clone().fold(f32::MIN, f32::max) - v.fold(f32::MAX, f32::min)
        };
        range(|o| o.yaw) > BASELINE_STILL * TURN
            || range(|o| o.pitch) > BASELINE_STILL * LOOK_UP * 2.0
            || range(|o| o.fill) > BASELINE_STILL * (CLOSER - 1.0) * self.base().fill
    }

    pub fn observe(&mut self, observation: Option<&Observation>, now: Instant) -> Progress {
        if self.elapsed(now) > self.window {
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
        if !self.settled {
            // The baseline is the first still stretch after the prompt: a head still
            // moving (back from the last challenge, or a recording mid-action) does not
            // set it, and an action already under way at the prompt does not count.
            self.baseline.push(*o);
            if self.baseline.len() > BASELINE_FRAMES {
                self.baseline.remove(0);
            }
            let back = self.neutral.is_none_or(|n| {
                (o.yaw - n.yaw).abs() < BASELINE_STILL * TURN
                    && (o.pitch - n.pitch).abs() < BASELINE_STILL * LOOK_UP * 2.0
                    && o.fill < (1.0 + BASELINE_STILL * (CLOSER - 1.0)) * n.fill
            });
            self.settled = back && self.baseline.len() == BASELINE_FRAMES && !self.baseline_moving();
            return Progress::Pending;
        }
        let base = self.base();
        self.blink.observe(o.eye_openness, base.eye_openness, now);
        // Each action beyond its threshold (times `k`).
        let beyond = |k: f32| {
            [
                (Action::TurnLeft, o.yaw - base.yaw >= k * TURN),
                (Action::TurnRight, o.yaw - base.yaw <= -k * TURN),
                (Action::LookUp, o.pitch - base.pitch <= -k * LOOK_UP),
                (Action::DoubleBlink, self.blink.double),
                (Action::MoveCloser, o.fill >= (1.0 + k * (CLOSER - 1.0)) * base.fill),
            ]
        };
        let (seen, staying) = (beyond(1.0), beyond(RELEASE));
        let asked = Action::of(self.challenge);
        for (i, (action, now_seen)) in seen.iter().enumerate() {
            // Held from the frame it passes its threshold while it stays past
            // [`RELEASE`] of it: a pose held near the threshold wavers around it.
            self.held[i] = match self.held[i] {
                (n, Some(since)) if staying[i].1 => (n + u32::from(*now_seen), Some(since)),
                _ if *now_seen => (1, Some(now)),
                _ => (0, None),
            };
            // Two frames past the threshold, so one noisy landmark does not decide,
            // and held as someone asked holds a pose, not passed through as heads sway.
            let (frames, since) = self.held[i];
            let held = frames >= 2 && since.is_some_and(|t| now.duration_since(t) >= HOLD);
            let done = held || (*now_seen && *action == Action::DoubleBlink);
            if !done {
                continue;
            }
            if *action != asked {
                // Looking up a little while turning is how heads move; only a clear
                // other action, of another kind than the one asked, is wrong.
                let incidental = matches!((asked, action), (Action::TurnLeft | Action::TurnRight, Action::LookUp) | (Action::LookUp, Action::MoveCloser));
                if !incidental {
                    return Progress::Failed(action.wrong());
                }
                continue;
            }
            if asked == Action::MoveCloser && (o.depth_shape - base.depth_shape).abs() < PERSPECTIVE_MIN {
                return Progress::Failed("uniform_scaling");
            }
            return Progress::Passed;
        }
        Progress::Pending
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
    fn turns_and_look_up_pass_only_in_the_asked_direction_the_other_way_fails() {
        let left = Observation { yaw: 0.3, ..still() };
        let track: Vec<_> = [hold(still(), 6), ramp(still(), left, 10), hold(left, 8)].concat();
        assert_eq!(play(Challenge::TurnLeft, &track), Progress::Passed);
        assert_eq!(play(Challenge::TurnRight, &track), Progress::Failed("wrong_action_turn_left"));
        assert_eq!(play(Challenge::Blink, &track), Progress::Failed("wrong_action_turn_left"));
        let up = Observation { pitch: 0.42, ..still() };
        let track: Vec<_> = [hold(still(), 6), ramp(still(), up, 8), hold(up, 8)].concat();
        assert_eq!(play(Challenge::LookUp, &track), Progress::Passed);
        // Held about the threshold, a frame under it now and then: held.
        let wavering: Vec<_> = (0..12).map(|i| Some(Observation { pitch: if i % 3 == 2 { 0.49 } else { 0.46 }, ..still() })).collect();
        assert_eq!(play(Challenge::LookUp, &[hold(still(), 6), wavering].concat()), Progress::Passed);
        // Passed through, not held (a head's sway, 130 ms over the threshold): not the answer.
        let nod: Vec<_> = [hold(still(), 6), ramp(still(), up, 4), hold(up, 1), ramp(up, still(), 4), hold(still(), 30)].concat();
        assert_eq!(play(Challenge::LookUp, &nod), Progress::Pending);
    }

    #[test]
    fn an_action_already_under_way_at_the_prompt_does_not_count_nor_one_after_the_window() {
        let left = Observation { yaw: 0.3, ..still() };
        let early: Vec<_> = [ramp(still(), left, 6), hold(left, 150)].concat();
        assert_eq!(play(Challenge::TurnLeft, &early), Progress::Failed("timeout"));
        let answered: Vec<_> = [ramp(still(), left, 6), hold(left, 6), ramp(left, still(), 10), hold(still(), 8)].concat();
        assert_eq!(play(Challenge::TurnLeft, &answered), Progress::Failed("wrong_action_turn_right"), "turning back is the other way");
        // 4 s of stillness at 30 fps, then the asked turn: too late.
        let late: Vec<_> = [hold(still(), 120), ramp(still(), left, 10), hold(left, 3)].concat();
        assert_eq!(play(Challenge::TurnLeft, &late), Progress::Failed("timeout"));
    }

    fn blinks(gaps_frames: &[usize]) -> Vec<Option<Observation>> {
        let closed = Observation { eye_openness: 0.5, ..still() };
        let mut track = hold(still(), 6);
        for gap in gaps_frames {
            track.extend(hold(closed, 4));
            track.extend(hold(still(), *gap));
        }
        track.extend(hold(still(), 120));
        track
    }

    #[test]
    fn blink_asks_for_a_double_blink_in_rhythm() {
        assert_eq!(play(Challenge::Blink, &blinks(&[8, 3])), Progress::Passed, "two blinks 0.26 s apart");
        assert_eq!(play(Challenge::Blink, &blinks(&[3])), Progress::Failed("timeout"), "one blink is natural, not the answer");
        assert_eq!(play(Challenge::Blink, &blinks(&[45, 3])), Progress::Failed("timeout"), "two blinks 1.5 s apart are natural");
        let closed = Observation { eye_openness: 0.5, ..still() };
        let shut: Vec<_> = [hold(still(), 6), hold(closed, 40), hold(still(), 120)].concat();
        assert_eq!(play(Challenge::Blink, &shut), Progress::Failed("timeout"), "eyes shut for over a second is no blink");
        // A double blink while asked to turn is the wrong answer.
        assert_eq!(play(Challenge::TurnLeft, &blinks(&[8, 3])), Progress::Failed("wrong_action_blink"));
    }

    #[test]
    fn coming_closer_needs_perspective_a_scaled_photo_fails() {
        let head = Observation { fill: 0.95, depth_shape: 0.5, width: 200.0, ..still() };
        let track: Vec<_> = [hold(still(), 6), ramp(still(), head, 12), hold(head, 8)].concat();
        assert_eq!(play(Challenge::MoveCloser, &track), Progress::Passed);
        let photo = Observation { fill: 0.95, width: 200.0, ..still() };
        let track: Vec<_> = [hold(still(), 6), ramp(still(), photo, 12), hold(photo, 8)].concat();
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
    fn sequences_are_distinct_challenges_and_a_seed_repeats_them() {
        use rand::SeedableRng;
        for seed in 0..20 {
            let s = random_sequence(3, &mut rand::rngs::StdRng::seed_from_u64(seed));
            assert_eq!(s.len(), 3);
            assert!(s[0] != s[1] && s[1] != s[2] && s[0] != s[2]);
            assert_eq!(s, random_sequence(3, &mut rand::rngs::StdRng::seed_from_u64(seed)));
        }
        let drawn: std::collections::HashSet<String> = (0..20).map(|_| format!("{:?}", random_sequence(3, &mut rand::rngs::OsRng))).collect();
        assert!(drawn.len() > 5, "the OS source varies: {drawn:?}");
    }
}
