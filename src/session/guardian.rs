//! When a guardian's verification completes a minor's. Pure: the engine loads the
//! minor's record, applies the outcome returned here and signs it again.

use super::{Decision, Outcome, Reason};

/// The minor's new outcome once their guardian's session ended with
/// `guardian_decision`, or `None` if it does not complete the minor's: only an
/// adult whose own verification is `verified` does (one needing review, or
/// rejected, leaves the minor pending), and only a minor still `pending_guardian`.
pub fn minor_completed(minor: &Outcome, guardian_decision: Decision, guardian_is_adult: bool) -> Option<Outcome> {
    if guardian_decision != Decision::Verified || !guardian_is_adult || minor.decision != Decision::PendingGuardian {
        return None;
    }
    let reasons: Vec<Reason> = minor.reasons.iter().copied().filter(|r| *r != Reason::GuardianRequired).collect();
    let decision = if reasons.is_empty() { Decision::Verified } else { Decision::NeedsReview };
    Some(Outcome { decision, reasons, checks: minor.checks.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(reasons: &[Reason]) -> Outcome {
        Outcome { decision: Decision::PendingGuardian, reasons: reasons.to_vec(), checks: vec![] }
    }

    #[test]
    fn only_a_verified_adult_completes_a_pending_minor() {
        let minor = pending(&[Reason::GuardianRequired]);
        assert_eq!(minor_completed(&minor, Decision::Verified, true).map(|o| o.decision), Some(Decision::Verified));
        for (decision, adult) in [(Decision::NeedsReview, true), (Decision::Rejected, true), (Decision::Verified, false)] {
            assert_eq!(minor_completed(&minor, decision, adult), None, "{decision:?}, adult {adult}");
        }
        let done = Outcome { decision: Decision::Verified, reasons: vec![], checks: vec![] };
        assert_eq!(minor_completed(&done, Decision::Verified, true), None, "already completed");
    }

    #[test]
    fn the_minors_other_reasons_stay_and_ask_for_review() {
        let minor = pending(&[Reason::GuardianRequired, Reason::ReplayedSource]);
        let completed = minor_completed(&minor, Decision::Verified, true).unwrap();
        assert_eq!((completed.decision, completed.reasons), (Decision::NeedsReview, vec![Reason::ReplayedSource]));
    }
}
