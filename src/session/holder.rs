//! Who holds the document. Enters: during the document stages, now and then, the
//! distance between the face beside the document and the evidence photo (or none
//! seen). Leaves: whether to look again, and a verdict with its check. Pure: the
//! engine finds and embeds the face; nothing here sees an image or an embedding.

use std::time::{Duration, Instant};

use super::Check;

/// Looks at most this often: a look is a face detection and, when a face is found,
/// an embedding (~10 ms), on top of the document's own analysis.
pub const LOOK_EVERY: Duration = Duration::from_millis(400);
/// Looking stops once this many faces agree (all the same person, or all not).
pub const AGREEING: usize = 3;
/// A mismatch rejects only when seen at least this often: one odd crop (motion blur,
/// the card's edge across the chin) must not reject a candidate.
pub const MIN_MISMATCHES: usize = 2;

pub const CHECK_NAME: &str = "same_person_holding_document";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No look was made (the document was never found, or no evidence photo to compare with).
    NotCompared,
    /// Looked, but no face was beside the document: it may have covered the face.
    NoFaceSeen,
    /// One face beside the document, not the evidence photo's: too little to reject on.
    Inconclusive,
    Same,
    Different,
}

/// The looks so far: their distances from the evidence photo.
#[derive(Debug, Clone, Default)]
pub struct HolderFaces {
    last_look: Option<Instant>,
    looks: usize,
    distances: Vec<f32>,
}

impl HolderFaces {
    /// Whether to look now: not too soon after the last look, and not yet settled.
    pub fn due(&self, now: Instant, threshold: f32) -> bool {
        let settled = self.matches(threshold) >= AGREEING || self.distances.len() - self.matches(threshold) >= AGREEING;
        !settled && self.last_look.is_none_or(|t| now.duration_since(t) >= LOOK_EVERY)
    }

    /// One look: the distance of the face beside the document, or `None` if none was.
    pub fn record(&mut self, distance: Option<f32>, now: Instant) {
        self.last_look = Some(now);
        self.looks += 1;
        self.distances.extend(distance.filter(|d| d.is_finite()));
    }

    fn matches(&self, threshold: f32) -> usize {
        self.distances.iter().filter(|d| **d <= threshold).count()
    }

    /// The median distance (of the two middle ones when even): robust to one bad crop.
    pub fn median(&self) -> Option<f32> {
        let mut d = self.distances.clone();
        d.sort_by(f32::total_cmp);
        let n = d.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(d[n / 2]),
            _ => Some((d[n / 2 - 1] + d[n / 2]) / 2.0),
        }
    }

    pub fn verdict(&self, threshold: f32) -> Verdict {
        let Some(median) = self.median() else {
            return if self.looks == 0 { Verdict::NotCompared } else { Verdict::NoFaceSeen };
        };
        if median <= threshold {
            Verdict::Same
        } else if self.distances.len() - self.matches(threshold) >= MIN_MISMATCHES {
            Verdict::Different
        } else {
            Verdict::Inconclusive
        }
    }

    /// As the result lists it: the median distance against the threshold. A verdict
    /// short of a comparison says why in the name, as a challenge's check does.
    pub fn check(&self, threshold: f32) -> Check {
        let verdict = self.verdict(threshold);
        let why = match verdict {
            Verdict::NotCompared => " (not_compared)",
            Verdict::NoFaceSeen => " (no_face_seen)",
            Verdict::Inconclusive => " (inconclusive)",
            Verdict::Same | Verdict::Different => "",
        };
        Check {
            name: format!("{CHECK_NAME}{why}"),
            passed: verdict == Verdict::Same,
            score: self.median().map(|d| (f64::from(d) * 1000.0).round() / 1000.0),
            threshold: Some(f64::from(threshold)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: f32 = 1.0;

    fn looked(distances: &[Option<f32>]) -> (HolderFaces, Instant) {
        let mut h = HolderFaces::default();
        let mut t = Instant::now();
        for d in distances {
            assert!(h.due(t, T), "a look was due");
            h.record(*d, t);
            t += LOOK_EVERY;
        }
        (h, t)
    }

    #[test]
    fn the_median_decides_and_one_odd_look_does_not() {
        assert_eq!(looked(&[]).0.verdict(T), Verdict::NotCompared);
        assert_eq!(looked(&[None, None]).0.verdict(T), Verdict::NoFaceSeen);
        assert_eq!(looked(&[Some(0.6)]).0.verdict(T), Verdict::Same);
        assert_eq!(looked(&[Some(1.4)]).0.verdict(T), Verdict::Inconclusive);
        assert_eq!(looked(&[Some(0.5), Some(1.4), Some(0.7)]).0.verdict(T), Verdict::Same);
        assert_eq!(looked(&[Some(1.3), None, Some(1.4)]).0.verdict(T), Verdict::Different);
        let (h, _) = looked(&[Some(0.4), Some(0.8), Some(1.5), Some(1.2)]);
        assert_eq!((h.median(), h.verdict(T)), (Some(1.0), Verdict::Same));
    }

    #[test]
    fn looks_are_spaced_and_stop_once_three_agree() {
        let (mut h, t) = looked(&[Some(0.5), None, Some(1.3), Some(0.6)]);
        assert!(h.due(t, T));
        h.record(Some(0.7), t);
        assert!(!h.due(t + LOOK_EVERY / 2, T), "too soon");
        assert!(!h.due(t + LOOK_EVERY * 10, T), "three agreed");
        let (h, t) = looked(&[Some(1.3), Some(1.5), Some(1.4)]);
        assert!(!h.due(t, T));
    }

    #[test]
    fn the_check_gives_the_median_and_says_why_when_nothing_was_compared() {
        let (h, _) = looked(&[Some(0.4121), Some(0.6), Some(0.9)]);
        assert_eq!(h.check(T), Check { name: CHECK_NAME.into(), passed: true, score: Some(0.6), threshold: Some(1.0) });
        let (h, _) = looked(&[Some(1.3), Some(1.5)]);
        assert_eq!(h.check(T), Check { name: CHECK_NAME.into(), passed: false, score: Some(1.4), threshold: Some(1.0) });
        let (h, _) = looked(&[None]);
        assert_eq!(
            h.check(T),
            Check { name: format!("{CHECK_NAME} (no_face_seen)"), passed: false, score: None, threshold: Some(1.0) }
        );
    }
}
