//! When a guardian's verification completes a minor's. Pure: the engine loads the
//! minor's record, completes it here and signs it again (a new result version,
//! announced anew by webhook).

use super::{Decision, GuardianLink, Outcome, Reason, SessionRecord};

/// Completes `minor` with `guardian`'s decision if it does: the minor's outcome is
/// the completed one, both records link to each other, and the minor's result
/// version goes up by one, ready to be signed again. `None` (nothing changed) if
/// the guardian does not complete it.
pub fn complete_minor(minor: &mut SessionRecord, guardian: &mut SessionRecord, guardian_decision: Decision, at: &str) -> Option<Outcome> {
    let guardian_is_adult = guardian.document.as_ref().is_some_and(|d| d["minor"] == false);
    let outcome = minor_completed(minor.outcome.as_ref()?, guardian_decision, guardian_is_adult)?;
    minor.outcome = Some(outcome.clone());
    guardian.guardian = Some(GuardianLink { role: "minor".into(), verification: minor.id.clone(), at: at.to_string() });
    minor.guardian = Some(GuardianLink { role: "guardian".into(), verification: guardian.id.clone(), at: at.to_string() });
    minor.result_version = minor.result_version.max(1) + 1;
    Some(outcome)
}

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

    fn record(id: &str, minor: bool) -> SessionRecord {
        let request = serde_json::from_value(serde_json::json!({"reference": "r", "nonce": id, "language": "kk"})).unwrap();
        let mut record = SessionRecord::new(id.into(), request);
        record.document = Some(serde_json::json!({"minor": minor}));
        record
    }

    #[test]
    fn a_completed_minor_is_linked_and_its_result_becomes_version_2() {
        let mut minor = record("vf_minor", true);
        minor.outcome = Some(pending(&[Reason::GuardianRequired]));
        minor.result_version = 1;
        let mut child_as_guardian = record("vf_child", true);
        assert!(complete_minor(&mut minor, &mut child_as_guardian, Decision::Verified, "t").is_none());
        assert_eq!((minor.result_version, minor.guardian.is_none()), (1, true), "unchanged when not completed");

        let mut guardian = record("vf_guardian", false);
        let outcome = complete_minor(&mut minor, &mut guardian, Decision::Verified, "t").unwrap();
        assert_eq!(outcome.decision, Decision::Verified);
        assert_eq!(minor.result_version, 2, "signed again: the next version");
        assert_eq!(minor.guardian.as_ref().map(|g| g.verification.as_str()), Some("vf_guardian"));
        assert_eq!(guardian.guardian.as_ref().map(|g| g.verification.as_str()), Some("vf_minor"));
        assert!(complete_minor(&mut minor, &mut guardian, Decision::Verified, "t").is_none(), "only once");
    }

    #[test]
    fn the_minors_other_reasons_stay_and_ask_for_review() {
        let minor = pending(&[Reason::GuardianRequired, Reason::ReplayedSource]);
        let completed = minor_completed(&minor, Decision::Verified, true).unwrap();
        assert_eq!((completed.decision, completed.reasons), (Decision::NeedsReview, vec![Reason::ReplayedSource]));
    }
}
