//! The final decision: what every finding adds up to, and the checks behind it.

use super::*;

impl SessionMachine {
    /// Everything the session found, as one decision.
    pub(super) fn decision(&self) -> (Decision, Vec<Reason>) {
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
