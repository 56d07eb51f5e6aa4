//! The document stages: framing, reads until two agree, the typed IIN, the verdict
//! and the face of whoever holds the document.

use super::*;

/// [`config`] with the document stages for `kind`.
pub(crate) fn with_documents(kind: DocumentKind) -> MachineConfig {
    MachineConfig {
        document: Some(DocumentStageConfig {
            kind,
            read_interval: Duration::from_millis(500),
            min_area_share: 0.2,
            min_sharpness: 30.0,
            max_glare: 0.03,
            stable_reads: 2,
        }),
        ..config()
    }
}

/// Face stage done, now at the first document side.
fn past_face(config: MachineConfig) -> (SessionMachine, Instant) {
    let t0 = Instant::now();
    let (mut m, mut t) = (SessionMachine::new(config, t0), t0);
    feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    m.on_captured(good().measures.unwrap(), t);
    let fx = m.on_continue(t);
    assert!(fx.iter().any(|e| matches!(e, Effect::Event(EventKind::Stage { stage: Stage::DocumentFront | Stage::PassportPage }))), "{fx:?}");
    (m, t)
}

const WELL_HELD: Framing = Framing { found: true, area_share: 0.5, sharpness: 80.0, glare: 0.0 };

/// Shows a side until the machine asks for a read, then answers with `reading`.
fn show(m: &mut SessionMachine, t: &mut Instant, reading: Option<Reading>) -> Vec<Effect> {
    let mut out = Vec::new();
    for _ in 0..40 {
        *t += Duration::from_millis(33);
        let fx = m.on_document_frame(&WELL_HELD, *t);
        let asked = fx.contains(&Effect::ReadDocument);
        out.extend(fx);
        if asked {
            out.extend(m.on_document_read(reading));
            return out;
        }
    }
    panic!("no read was asked for: {out:?}");
}

#[test]
fn framing_prompts_say_what_is_wrong_with_the_card() {
    let (mut m, mut t) = past_face(with_documents(DocumentKind::IdCard));
    let mut prompts_seen = Vec::new();
    for framing in [
        Framing::default(),
        Framing { area_share: 0.1, ..WELL_HELD },
        Framing { glare: 0.2, ..WELL_HELD },
        Framing { sharpness: 5.0, ..WELL_HELD },
    ] {
        for _ in 0..15 {
            t += Duration::from_millis(33);
            let fx = m.on_document_frame(&framing, t);
            assert!(!fx.contains(&Effect::ReadDocument), "no OCR of a badly held card");
            prompts_seen.extend(prompts(&fx));
        }
    }
    assert_eq!(
        prompts_seen.iter().map(|p| p.0).collect::<Vec<_>>(),
        [Prompt::MoveCardCloser, Prompt::Glare, Prompt::TooBlurry],
        "show_front was already shown on entering the stage"
    );
}

#[test]
fn each_side_is_captured_after_two_agreeing_reads_and_the_back_must_follow_the_front() {
    let (mut m, mut t) = past_face(with_documents(DocumentKind::IdCard));
    let front = Reading { side: Side::Front, fingerprint: 1 };
    let back = Reading { side: Side::Back, fingerprint: 2 };
    assert!(!show(&mut m, &mut t, Some(front)).contains(&Effect::CaptureDocument(Side::Front)));
    // A different read resets the count.
    assert!(!show(&mut m, &mut t, Some(Reading { fingerprint: 9, ..front })).contains(&Effect::CaptureDocument(Side::Front)));
    assert!(!show(&mut m, &mut t, Some(front)).contains(&Effect::CaptureDocument(Side::Front)));
    assert!(show(&mut m, &mut t, Some(front)).contains(&Effect::CaptureDocument(Side::Front)));
    let fx = m.on_document_captured();
    assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::DocumentBack })));
    assert_eq!(m.document_side(), Some(Side::Back));
    // Retake during the back: the front again, then the back again.
    let fx = m.on_retake();
    assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::DocumentFront })));
    show(&mut m, &mut t, Some(front));
    assert!(show(&mut m, &mut t, Some(front)).contains(&Effect::CaptureDocument(Side::Front)));
    m.on_document_captured();
    // Showing the front again gets "show the back".
    let fx = show(&mut m, &mut t, Some(front));
    assert!(prompts(&fx).contains(&(Prompt::ShowBack, None)), "{fx:?}");
    show(&mut m, &mut t, Some(back));
    assert!(show(&mut m, &mut t, Some(back)).contains(&Effect::CaptureDocument(Side::Back)));
    assert_eq!(m.on_document_captured(), vec![Effect::Event(EventKind::Prompt { prompt: Prompt::Captured, value: None }), Effect::AssessDocument]);
    let fx = m.on_document_assessed(DocumentVerdict { iin_readable: true, ..Default::default() });
    let outcome = decision(&fx).unwrap();
    assert_eq!((outcome.decision, outcome.reasons.clone()), (Decision::Verified, vec![]));
}

#[test]
fn a_typed_iin_is_what_the_iin_checks_then_judge() {
    let unread = |name: &str| Check { name: name.into(), passed: false, score: None, threshold: None };
    let checks = vec![unread("document_iin_check_digit"), unread("document_iin_matches_request")];
    let outcome = decide_with(DocumentVerdict { iin_readable: false, checks, ..Default::default() });
    for name in ["document_iin_check_digit", "document_iin_matches_request"] {
        assert!(outcome.checks.iter().any(|c| c.name == name && c.passed), "{name}: {:?}", outcome.checks);
    }
}

fn decide_with(verdict: DocumentVerdict) -> Outcome {
    let (mut m, mut t) = past_face(with_documents(DocumentKind::Passport));
    let page = Reading { side: Side::PassportPage, fingerprint: 3 };
    show(&mut m, &mut t, Some(page));
    assert!(show(&mut m, &mut t, Some(page)).contains(&Effect::CaptureDocument(Side::PassportPage)));
    m.on_document_captured();
    let fx = m.on_document_assessed(verdict);
    if let Some(o) = decision(&fx) {
        return o.clone();
    }
    assert!(prompts(&fx).contains(&(Prompt::EnterIin, None)), "{fx:?}");
    decision(&m.on_iin_entered(false, true, false)).unwrap().clone()
}

#[test]
fn the_document_verdict_decides() {
    let ok = DocumentVerdict { iin_readable: true, ..Default::default() };
    let o = decide_with(DocumentVerdict { expected_iin_mismatch: true, ..ok.clone() });
    assert_eq!((o.decision, o.reasons), (Decision::Rejected, vec![Reason::ExpectedIinMismatch]));
    let o = decide_with(DocumentVerdict { expired: true, ..ok.clone() });
    assert_eq!((o.decision, o.reasons), (Decision::Rejected, vec![Reason::DocumentExpired]));
    let o = decide_with(DocumentVerdict { inconsistent: true, ..ok.clone() });
    assert_eq!((o.decision, o.reasons), (Decision::Rejected, vec![Reason::DocumentInconsistent]));
    let o = decide_with(DocumentVerdict { face_mismatch: true, ..ok.clone() });
    assert_eq!((o.decision, o.reasons), (Decision::Rejected, vec![Reason::FaceMismatch]));
    let o = decide_with(DocumentVerdict { portrait_not_compared: true, ..ok.clone() });
    assert_eq!((o.decision, o.reasons), (Decision::NeedsReview, vec![Reason::PortraitNotCompared]));
    let o = decide_with(DocumentVerdict { minor: true, ..ok.clone() });
    assert_eq!((o.decision, o.reasons), (Decision::PendingGuardian, vec![Reason::GuardianRequired]));
    // OCR could not read the IIN: the subject types it, and a person reviews.
    let o = decide_with(DocumentVerdict { iin_readable: false, ..Default::default() });
    assert_eq!((o.decision, o.reasons), (Decision::NeedsReview, vec![Reason::IinEnteredBySubject]));
}

/// An ID card session in which, while each side is shown, the engine looks for
/// the holder's face whenever a look is due and finds `seen` in turn, then no face.
fn card_held_by(seen: &[Option<f32>]) -> Outcome {
    let (mut m, mut t) = past_face(with_documents(DocumentKind::IdCard));
    let mut seen = seen.iter().copied().chain(std::iter::repeat(None));
    let mut show_looking = |m: &mut SessionMachine, t: &mut Instant, reading: Reading| {
        for _ in 0..30 {
            *t += Duration::from_millis(33);
            if m.holder_look_due(*t) {
                m.on_holder_look(seen.next().flatten(), *t);
            }
            m.on_document_frame(&WELL_HELD, *t);
        }
        m.on_document_read(Some(reading))
    };
    let front = Reading { side: Side::Front, fingerprint: 1 };
    show_looking(&mut m, &mut t, front);
    assert!(show_looking(&mut m, &mut t, front).contains(&Effect::CaptureDocument(Side::Front)));
    m.on_document_captured();
    let back = Reading { side: Side::Back, fingerprint: 2 };
    show_looking(&mut m, &mut t, back);
    assert!(show_looking(&mut m, &mut t, back).contains(&Effect::CaptureDocument(Side::Back)));
    assert!(m.on_document_captured().contains(&Effect::AssessDocument));
    let fx = m.on_document_assessed(DocumentVerdict { iin_readable: true, ..Default::default() });
    decision(&fx).expect("decided").clone()
}

fn holder_check(outcome: &Outcome) -> &Check {
    let mut found = outcome.checks.iter().filter(|c| c.name.starts_with(holder::CHECK_NAME));
    let check = found.next().unwrap_or_else(|| panic!("no holder check: {:?}", outcome.checks));
    assert!(found.next().is_none(), "one holder check: {:?}", outcome.checks);
    check
}

#[test]
fn the_person_holding_the_document_is_the_one_photographed() {
    // No look is asked for before the document stages.
    let t0 = Instant::now();
    let (mut m, mut t) = (SessionMachine::new(with_documents(DocumentKind::IdCard), t0), t0);
    feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    assert!(!m.holder_look_due(t));
    // Looks only where the card sits well enough to read: then it is told reliably
    // from the face beside it.
    let (m, t) = past_face(with_documents(DocumentKind::IdCard));
    assert!(m.holder_look_due(t));
    assert!(m.well_framed(&WELL_HELD));
    assert!(!m.well_framed(&Framing { sharpness: 5.0, ..WELL_HELD }) && !m.well_framed(&Framing::default()));

    let o = card_held_by(&[Some(0.45), Some(0.62), None, Some(0.8)]);
    assert_eq!((o.decision, o.reasons.clone()), (Decision::Verified, vec![]));
    let check = holder_check(&o);
    assert_eq!((check.name.as_str(), check.passed, check.score, check.threshold), (holder::CHECK_NAME, true, Some(0.62), Some(1.0)));
    assert!(o.checks.iter().all(|c| c.passed), "{:?}", o.checks);
}

#[test]
fn someone_else_holding_the_document_is_rejected_as_a_face_mismatch() {
    // One close look among them does not save it: the median decides.
    let o = card_held_by(&[Some(1.3), None, Some(0.9), Some(1.5), Some(1.6), Some(0.5)]);
    assert_eq!((o.decision, o.reasons.clone()), (Decision::Rejected, vec![Reason::FaceMismatch]));
    let check = holder_check(&o);
    assert_eq!((check.name.as_str(), check.passed, check.score), (holder::CHECK_NAME, false, Some(1.4)));
    // A single odd face is not enough to reject on: reported, not decided on.
    let o = card_held_by(&[Some(1.35)]);
    assert_eq!((o.decision, o.reasons.clone()), (Decision::Verified, vec![]));
    assert_eq!(holder_check(&o).name, format!("{} (inconclusive)", holder::CHECK_NAME));
}

#[test]
fn a_holder_never_seen_is_reported_but_not_rejected() {
    // The card held up close, covering the face, the whole time.
    let o = card_held_by(&[None]);
    assert_eq!((o.decision, o.reasons.clone()), (Decision::Verified, vec![]));
    let check = holder_check(&o);
    assert_eq!(
        (check.name.clone(), check.passed, check.score, check.threshold),
        (format!("{} (no_face_seen)", holder::CHECK_NAME), false, None, Some(1.0))
    );
    // A face-only session has no document, so no holder check at all.
    let t0 = Instant::now();
    let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
    feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    m.on_captured(good().measures.unwrap(), t);
    let o = decision(&m.on_continue(t)).unwrap().clone();
    assert!(!o.checks.iter().any(|c| c.name.starts_with(holder::CHECK_NAME)), "{:?}", o.checks);
}
