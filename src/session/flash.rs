//! The screen-flash challenge. The kiosk screen facing the subject shows a short
//! random sequence of colours; light reflected by a real face follows it, step by
//! step. A replayed or injected video cannot know the sequence. Enters: the face's
//! mean colour per frame, timed from the sequence start. Leaves: how many steps the
//! face followed.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashColour {
    Red,
    Green,
    Blue,
}

impl FlashColour {
    pub fn hex(self) -> &'static str {
        match self {
            FlashColour::Red => "#FF0000",
            FlashColour::Green => "#00FF00",
            FlashColour::Blue => "#0000FF",
        }
    }

    /// Index of the colour's channel in a BGR triple.
    fn bgr_channel(self) -> usize {
        match self {
            FlashColour::Blue => 0,
            FlashColour::Green => 1,
            FlashColour::Red => 2,
        }
    }
}

/// Steps in a sequence. A source that cannot see the screen matches a step by chance
/// one time in three, so it follows 5 of 6 about 2% of the time.
pub const STEPS: usize = 6;
pub const REQUIRED: usize = 5;
/// The camera sees a new colour a frame or three after the screen shows it.
const SETTLE: Duration = Duration::from_millis(180);

/// A random sequence with no colour twice in a row.
pub fn random_plan() -> Vec<FlashColour> {
    use rand::Rng;
    let colours = [FlashColour::Red, FlashColour::Green, FlashColour::Blue];
    let mut rng = rand::rngs::OsRng;
    let mut plan: Vec<FlashColour> = Vec::with_capacity(STEPS);
    while plan.len() < STEPS {
        let c = colours[rng.gen_range(0..3)];
        if plan.last() != Some(&c) {
            plan.push(c);
        }
    }
    plan
}

/// The face's mean colour (BGR) at a moment of the sequence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub offset: Duration,
    pub bgr: [f32; 3],
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlashVerdict {
    pub followed: usize,
    pub steps: usize,
}

impl FlashVerdict {
    pub fn passed(&self) -> bool {
        self.followed >= REQUIRED
    }
}

/// Counts the steps in which the face's chromaticity moved towards the colour
/// shown more than towards any other, relative to its mean over the sequence.
/// Chromaticity (each channel over their sum) ignores the overall brightness.
pub fn judge(plan: &[FlashColour], step: Duration, samples: &[Sample]) -> FlashVerdict {
    let chroma = |bgr: [f32; 3]| {
        let sum = (bgr[0] + bgr[1] + bgr[2]).max(1e-3);
        [bgr[0] / sum, bgr[1] / sum, bgr[2] / sum]
    };
    let step_means: Vec<Option<[f32; 3]>> = (0..plan.len())
        .map(|i| {
            let (from, to) = (step * i as u32 + SETTLE, step * (i as u32 + 1));
            let inside: Vec<[f32; 3]> = samples.iter().filter(|s| s.offset >= from && s.offset < to).map(|s| chroma(s.bgr)).collect();
            (!inside.is_empty()).then(|| {
                let n = inside.len() as f32;
                [0, 1, 2].map(|c| inside.iter().map(|v| v[c]).sum::<f32>() / n)
            })
        })
        .collect();
    let seen: Vec<[f32; 3]> = step_means.iter().flatten().copied().collect();
    if seen.is_empty() {
        return FlashVerdict { followed: 0, steps: plan.len() };
    }
    let overall = [0, 1, 2].map(|c| seen.iter().map(|v| v[c]).sum::<f32>() / seen.len() as f32);
    let followed = plan
        .iter()
        .zip(&step_means)
        .filter(|(colour, mean)| {
            mean.is_some_and(|m| {
                let shift = [0, 1, 2].map(|c| m[c] - overall[c]);
                let strongest = (0..3).max_by(|&a, &b| shift[a].total_cmp(&shift[b])).unwrap_or(0);
                strongest == colour.bgr_channel() && shift[strongest] > 0.0
            })
        })
        .count();
    FlashVerdict { followed, steps: plan.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: Duration = Duration::from_millis(500);

    /// A face lit by the screen: skin tone plus a share of the shown colour.
    fn lit_track(plan: &[FlashColour], lag: Duration, strength: f32) -> Vec<Sample> {
        (0..plan.len() * 15)
            .map(|i| {
                let offset = Duration::from_millis(i as u64 * 33);
                let shown = offset.checked_sub(lag).map(|t| (t.as_millis() / STEP.as_millis()) as usize);
                let mut bgr = [110.0, 130.0, 170.0];
                if let Some(c) = shown.and_then(|k| plan.get(k)) {
                    bgr[c.bgr_channel()] += strength;
                }
                Sample { offset, bgr }
            })
            .collect()
    }

    #[test]
    fn a_face_lit_by_the_screen_follows_the_sequence() {
        let plan = random_plan();
        assert_eq!(plan.len(), STEPS);
        assert!(plan.windows(2).all(|w| w[0] != w[1]));
        let v = judge(&plan, STEP, &lit_track(&plan, Duration::from_millis(100), 12.0));
        assert_eq!(v.followed, STEPS);
        assert!(v.passed());
    }

    #[test]
    fn a_video_that_cannot_see_the_screen_does_not() {
        let plan = [FlashColour::Red, FlashColour::Green, FlashColour::Blue, FlashColour::Red, FlashColour::Blue, FlashColour::Green];
        // The replay's own colour changes follow some other sequence.
        let other = [FlashColour::Green, FlashColour::Blue, FlashColour::Red, FlashColour::Green, FlashColour::Red, FlashColour::Blue];
        let v = judge(&plan, STEP, &lit_track(&other, Duration::ZERO, 12.0));
        assert!(!v.passed(), "{v:?}");
        // A steady picture follows nothing.
        let steady = judge(&plan, STEP, &lit_track(&plan, Duration::ZERO, 0.0));
        assert!(!steady.passed(), "{steady:?}");
        // No face at all.
        assert_eq!(judge(&plan, STEP, &[]).followed, 0);
    }
}
