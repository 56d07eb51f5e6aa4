//! The final decision as a pure rule: what the session found in, a decision and its
//! reasons out. The machine only gathers [`Findings`]; nothing here looks at time,
//! frames or state, so the policy is tested as a table.

use super::holder;
use crate::session::{Decision, Reason};

/// How the session came to an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every stage ran to its end.
    Completed,
    /// The subject ran out of time, at the point described.
    SubjectTimeout {
        /// The subject had not yet consented (or the guardian not yet declared).
        awaiting_consent: bool,
        /// A face was seen at least once.
        face_seen: bool,
        /// A document stage (or the typed IIN after it) was still open.
        document_open: bool,
    },
    /// The camera stayed away longer than its grace period.
    CameraLost,
    /// An active challenge failed; `face_lost`: because the face left or was swapped.
    ChallengeFailed { face_lost: bool },
    /// The face did not follow the kiosk's screen flash.
    FlashNotFollowed,
}

/// The document's assessment, as far as the decision needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DocumentFindings {
    pub expected_iin_mismatch: bool,
    pub expired: bool,
    /// Check digits fail or the sides contradict each other.
    pub inconsistent: bool,
    /// The live face is not the document's portrait.
    pub face_mismatch: bool,
    pub portrait_not_compared: bool,
    pub minor: bool,
}

/// Everything the session found that bears on its decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Findings {
    pub ending: Ending,
    /// The evidence photo was kept.
    pub face_captured: bool,
    /// The passive presentation-attack analysis suspects an attack.
    pub attack_suspected: bool,
    /// The face in the challenges is not the one in the evidence photo.
    pub face_changed: bool,
    /// `None`: the session had no document stage, or it was never assessed.
    pub document: Option<DocumentFindings>,
    /// Who held the document; `None` when no document stage started.
    pub holder: Option<holder::Verdict>,
    /// The IIN was typed in by the subject, not read.
    pub iin_by_subject: bool,
    /// Frames came from a replayed source.
    pub replayed_source: bool,
}

/// What the findings add up to: the decision and its reasons, most serious first.
pub fn decide(f: &Findings) -> (Decision, Vec<Reason>) {
    let (decision, mut reasons) = judge(f);
    if !f.face_captured && decision != Decision::Verified && !reasons.contains(&Reason::FaceNotCaptured) {
        reasons.push(Reason::FaceNotCaptured);
    }
    (decision, reasons)
}

fn judge(f: &Findings) -> (Decision, Vec<Reason>) {
    let rejected = |reasons: Vec<Reason>| (Decision::Rejected, reasons);
    match f.ending {
        Ending::Completed => {}
        Ending::CameraLost => return rejected(vec![Reason::CameraLost]),
        Ending::SubjectTimeout { awaiting_consent, face_seen, document_open } => {
            let mut reasons = vec![Reason::SubjectTimeout];
            if awaiting_consent {
                reasons.push(Reason::ConsentNotGiven);
            } else if !face_seen {
                reasons.push(Reason::NoFaceDetected);
            } else if document_open {
                reasons.push(Reason::DocumentNotRead);
            }
            return rejected(reasons);
        }
        Ending::ChallengeFailed { face_lost: true } => return rejected(vec![Reason::FaceLost]),
        Ending::ChallengeFailed { face_lost: false } => return rejected(vec![Reason::ChallengeNotCompleted]),
        Ending::FlashNotFollowed => return rejected(vec![Reason::PresentationAttackSuspected]),
    }
    if f.attack_suspected {
        return rejected(vec![Reason::PresentationAttackSuspected]);
    }
    if f.face_changed {
        return rejected(vec![Reason::FaceMismatch]);
    }
    let doc = f.document.unwrap_or_default();
    let mut reasons: Vec<Reason> = [
        (doc.expected_iin_mismatch, Reason::ExpectedIinMismatch),
        (doc.expired, Reason::DocumentExpired),
        (doc.inconsistent, Reason::DocumentInconsistent),
        // Someone other than the photographed subject held the document. A face never
        // seen beside it (the card held over it) is only reported in the checks.
        (doc.face_mismatch || f.holder == Some(holder::Verdict::Different), Reason::FaceMismatch),
    ]
    .into_iter()
    .filter_map(|(found, reason)| found.then_some(reason))
    .collect();
    if !reasons.is_empty() {
        return rejected(reasons);
    }
    reasons = [
        (f.iin_by_subject, Reason::IinEnteredBySubject),
        (doc.portrait_not_compared, Reason::PortraitNotCompared),
        (f.replayed_source, Reason::ReplayedSource),
    ]
    .into_iter()
    .filter_map(|(found, reason)| found.then_some(reason))
    .collect();
    if doc.minor {
        reasons.insert(0, Reason::GuardianRequired);
        return (Decision::PendingGuardian, reasons);
    }
    if reasons.is_empty() { (Decision::Verified, reasons) } else { (Decision::NeedsReview, reasons) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;
    use Reason::*;

    /// A session that ran every stage and found nothing wrong.
    const CLEAN: Findings = Findings {
        ending: Ending::Completed,
        face_captured: true,
        attack_suspected: false,
        face_changed: false,
        document: None,
        holder: None,
        iin_by_subject: false,
        replayed_source: false,
    };

    const DOC: DocumentFindings = DocumentFindings {
        expected_iin_mismatch: false,
        expired: false,
        inconsistent: false,
        face_mismatch: false,
        portrait_not_compared: false,
        minor: false,
    };

    const fn timeout(awaiting_consent: bool, face_seen: bool, document_open: bool) -> Ending {
        Ending::SubjectTimeout { awaiting_consent, face_seen, document_open }
    }

    const fn with_doc(doc: DocumentFindings) -> Findings {
        Findings { document: Some(doc), holder: Some(holder::Verdict::Same), ..CLEAN }
    }

    /// Every document flaw at once: the reasons come in this order.
    const ALL_FLAWS: DocumentFindings =
        DocumentFindings { expected_iin_mismatch: true, expired: true, inconsistent: true, face_mismatch: true, ..DOC };

    #[rustfmt::skip]
    const TABLE: &[(&str, Findings, Decision, &[Reason])] = &[
        ("nothing wrong", CLEAN, Verified, &[]),
        ("a clean document", with_doc(DOC), Verified, &[]),
        ("holder never seen: reported in the checks only", Findings { holder: Some(holder::Verdict::NoFaceSeen), ..with_doc(DOC) }, Verified, &[]),
        ("replayed source", Findings { replayed_source: true, ..CLEAN }, NeedsReview, &[ReplayedSource]),
        ("typed IIN, no portrait, replayed: in that order",
            Findings { iin_by_subject: true, replayed_source: true, ..with_doc(DocumentFindings { portrait_not_compared: true, ..DOC }) },
            NeedsReview, &[IinEnteredBySubject, PortraitNotCompared, ReplayedSource]),
        ("a minor", with_doc(DocumentFindings { minor: true, ..DOC }), PendingGuardian, &[GuardianRequired]),
        ("a minor, replayed: the guardian first",
            Findings { replayed_source: true, ..with_doc(DocumentFindings { minor: true, ..DOC }) },
            PendingGuardian, &[GuardianRequired, ReplayedSource]),
        ("a minor's flawed document is rejected", with_doc(DocumentFindings { minor: true, expired: true, ..DOC }), Rejected, &[DocumentExpired]),
        ("every document flaw, in order", with_doc(ALL_FLAWS), Rejected, &[ExpectedIinMismatch, DocumentExpired, DocumentInconsistent, FaceMismatch]),
        ("someone else held the document", Findings { holder: Some(holder::Verdict::Different), ..with_doc(DOC) }, Rejected, &[FaceMismatch]),
        ("portrait and holder both differ: one reason", Findings { holder: Some(holder::Verdict::Different), ..with_doc(DocumentFindings { face_mismatch: true, ..DOC }) }, Rejected, &[FaceMismatch]),
        ("the face changed during the challenges", Findings { face_changed: true, ..with_doc(ALL_FLAWS) }, Rejected, &[FaceMismatch]),
        ("a suspected attack outweighs everything found after", Findings { attack_suspected: true, face_changed: true, ..with_doc(ALL_FLAWS) }, Rejected, &[PresentationAttackSuspected]),
        ("flash not followed", Findings { ending: Ending::FlashNotFollowed, ..CLEAN }, Rejected, &[PresentationAttackSuspected]),
        ("a challenge failed", Findings { ending: Ending::ChallengeFailed { face_lost: false }, attack_suspected: true, ..CLEAN }, Rejected, &[ChallengeNotCompleted]),
        ("the face left a challenge", Findings { ending: Ending::ChallengeFailed { face_lost: true }, ..CLEAN }, Rejected, &[FaceLost]),
        ("camera lost before the photo", Findings { ending: Ending::CameraLost, face_captured: false, ..CLEAN }, Rejected, &[CameraLost, FaceNotCaptured]),
        ("camera lost after the photo", Findings { ending: Ending::CameraLost, ..CLEAN }, Rejected, &[CameraLost]),
        ("no consent", Findings { ending: timeout(true, false, false), face_captured: false, ..CLEAN }, Rejected, &[SubjectTimeout, ConsentNotGiven, FaceNotCaptured]),
        ("nobody came", Findings { ending: timeout(false, false, false), face_captured: false, ..CLEAN }, Rejected, &[SubjectTimeout, NoFaceDetected, FaceNotCaptured]),
        ("no photo taken", Findings { ending: timeout(false, true, false), face_captured: false, ..CLEAN }, Rejected, &[SubjectTimeout, FaceNotCaptured]),
        ("the document never read", Findings { ending: timeout(false, true, true), ..CLEAN }, Rejected, &[SubjectTimeout, DocumentNotRead]),
        ("no photo and a replayed source", Findings { face_captured: false, replayed_source: true, ..CLEAN }, NeedsReview, &[ReplayedSource, FaceNotCaptured]),
    ];

    #[test]
    fn findings_decide_as_the_table_says() {
        for (name, findings, decision, reasons) in TABLE {
            assert_eq!(decide(findings), (*decision, reasons.to_vec()), "{name}");
        }
    }

    #[test]
    fn every_decision_is_reachable() {
        for d in Decision::ALL {
            assert!(TABLE.iter().any(|(_, f, _, _)| decide(f).0 == d), "{d:?} unreachable");
        }
    }

    #[test]
    fn reasons_are_in_the_same_order_whatever_else_is_found() {
        // Reasons never repeat, and the order of any two is the same wherever both occur.
        let outcomes: Vec<Vec<Reason>> = TABLE.iter().map(|(_, f, _, _)| decide(f).1).collect();
        for reasons in &outcomes {
            for (i, r) in reasons.iter().enumerate() {
                assert!(!reasons[i + 1..].contains(r), "{r:?} twice in {reasons:?}");
            }
        }
        let position = |rs: &[Reason], r: Reason| rs.iter().position(|x| *x == r);
        for a in &outcomes {
            for b in &outcomes {
                for (i, x) in a.iter().enumerate() {
                    for y in &a[i + 1..] {
                        if let (Some(bx), Some(by)) = (position(b, *x), position(b, *y)) {
                            assert!(bx < by, "{x:?} before {y:?} in {a:?} but not in {b:?}");
                        }
                    }
                }
            }
        }
    }
}
