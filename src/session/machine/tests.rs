//! The machine on recorded input sequences: prompts, captures, challenges, flash,
//! documents and the decision, each without a camera or a model.

use super::*;
use crate::vision::face::{BoxF, Face, Point};
use crate::session::{Decision, Reason};

fn config() -> MachineConfig {
    MachineConfig {
        subject_timeout: Duration::from_secs(30),
        settle: Duration::from_millis(500),
        countdown_seconds: 3,
        countdown_tolerance: Duration::from_millis(400),
        review: Duration::from_secs(2),
        camera_grace: Duration::from_secs(5),
        detection_score: 0.7,
        match_threshold: 1.0,
        gates: QualityThresholds::default(),
        replayed_source: false,
        require_consent: false,
        require_guardian_declaration: false,
        document: None,
        challenges: Vec::new(),
        borderline_challenge: None,
        challenge_timeout: Duration::from_secs(6),
        flash_plan: Vec::new(),
        flash_step: Duration::from_millis(500),
    }
}

fn good() -> Assessment {
    Assessment {
        faces: 1,
        primary: Some(Face { bbox: BoxF::default(), landmarks: [Point::default(); 5], score: 0.9 }),
        measures: Some(FaceMeasures { score: 0.9, fill: 0.8, sharpness: 120.0, brightness: 120.0, ..Default::default() }),
        failing: vec![],
    }
}

fn failing(gate: Gate) -> Assessment {
    Assessment { failing: vec![gate], ..good() }
}

fn none() -> Assessment {
    Assessment { faces: 0, primary: None, measures: None, failing: vec![Gate::NoFace] }
}

fn prompts(effects: &[Effect]) -> Vec<(Prompt, Option<u32>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Event(EventKind::Prompt { prompt, value }) => Some((*prompt, *value)),
            _ => None,
        })
        .collect()
}

/// Feeds `assessment` at 30 fps for `duration`, collecting the effects.
fn feed(m: &mut SessionMachine, t: &mut Instant, assessment: &Assessment, duration: Duration) -> Vec<Effect> {
    let mut out = Vec::new();
    let end = *t + duration;
    while *t < end {
        *t += Duration::from_millis(33);
        out.extend(m.on_frame(assessment, *t));
    }
    out
}

fn decision(effects: &[Effect]) -> Option<&Outcome> {
    effects.iter().find_map(|e| if let Effect::Decide(o) = e { Some(o) } else { None })
}

#[test]
fn well_placed_face_counts_down_captures_and_is_verified_after_review() {
    let t0 = Instant::now();
    let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
    let fx = feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    let shown = prompts(&fx);
    assert_eq!(
        shown,
        vec![(Prompt::HoldStill, None), (Prompt::Countdown, Some(3)), (Prompt::Countdown, Some(2)), (Prompt::Countdown, Some(1))]
    );
    assert!(fx.contains(&Effect::Event(EventKind::Status { status: Status::InProgress })));
    let capture = fx.iter().position(|e| *e == Effect::CaptureFace).expect("capture");
    let discard = fx.iter().rposition(|e| *e == Effect::CollectCandidates(false)).expect("collection stops");
    assert!(capture < discard, "the candidates must be used before they are discarded");
    let measures = good().measures.unwrap();
    let fx = m.on_captured(measures, t);
    assert_eq!(prompts(&fx), vec![(Prompt::Captured, None)]);
    let fx = feed(&mut m, &mut t, &good(), Duration::from_millis(2100));
    let outcome = decision(&fx).expect("decided after the review period");
    assert_eq!(outcome.decision, Decision::Verified);
    assert!(outcome.checks.iter().all(|c| c.passed), "{:?}", outcome.checks);
    assert!(m.is_done());
}

#[test]
fn prompts_name_the_first_failing_gate_and_do_not_flicker() {
    let t0 = Instant::now();
    let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
    let mut fx = feed(&mut m, &mut t, &failing(Gate::TooFar), Duration::from_millis(500));
    // One frame of a different failure must not change the prompt.
    fx.extend(feed(&mut m, &mut t, &failing(Gate::NotCentred), Duration::from_millis(40)));
    fx.extend(feed(&mut m, &mut t, &failing(Gate::TooFar), Duration::from_millis(500)));
    fx.extend(feed(&mut m, &mut t, &failing(Gate::TooDark), Duration::from_millis(500)));
    assert_eq!(prompts(&fx), vec![(Prompt::MoveCloser, None), (Prompt::TooDark, None)]);
}

#[test]
fn moving_out_during_countdown_abandons_it_and_a_blink_does_not() {
    let t0 = Instant::now();
    let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
    feed(&mut m, &mut t, &good(), Duration::from_millis(1000));
    // A 200 ms dip (blink, detector miss) is tolerated.
    let fx = feed(&mut m, &mut t, &failing(Gate::Blurry), Duration::from_millis(200));
    assert!(!fx.contains(&Effect::CollectCandidates(false)), "{fx:?}");
    // Leaving the oval for longer abandons the countdown with a reason.
    let fx = feed(&mut m, &mut t, &failing(Gate::NotCentred), Duration::from_millis(600));
    assert_eq!(prompts(&fx), vec![(Prompt::CenterFace, None)]);
    assert!(!fx.contains(&Effect::CaptureFace));
}

#[test]
fn retake_restarts_the_face_stage() {
    let t0 = Instant::now();
    let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
    feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    m.on_captured(good().measures.unwrap(), t);
    let fx = m.on_retake();
    assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::FaceCapture })));
    // A second full countdown is needed before anything is decided.
    let fx = feed(&mut m, &mut t, &good(), Duration::from_millis(3000));
    assert!(decision(&fx).is_none());
    assert!(!m.is_done());
}

#[test]
fn absent_subject_is_rejected_with_reasons_at_the_timeout() {
    let t0 = Instant::now();
    let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
    let fx = feed(&mut m, &mut t, &none(), Duration::from_secs(31));
    assert_eq!(prompts(&fx), vec![(Prompt::ShowFace, None)]);
    let outcome = decision(&fx).expect("timed out");
    assert_eq!(outcome.decision, Decision::Rejected);
    assert_eq!(outcome.reasons, vec![Reason::SubjectTimeout, Reason::NoFaceDetected, Reason::FaceNotCaptured]);
}

#[test]
fn lost_camera_ends_the_session_after_the_grace_period_unless_it_returns() {
    let t0 = Instant::now();
    let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
    feed(&mut m, &mut t, &good(), Duration::from_millis(1500));
    let fx = m.on_camera_lost(t);
    assert!(fx.contains(&Effect::Event(EventKind::Camera { available: false })));
    // It comes back: the countdown restarts from framing.
    t += Duration::from_secs(2);
    let fx = m.on_frame(&good(), t);
    assert!(fx.contains(&Effect::Event(EventKind::Camera { available: true })));
    assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::FaceCapture })));
    // Lost again, for good.
    m.on_camera_lost(t);
    t += Duration::from_secs(6);
    let fx = m.on_tick(t);
    assert_eq!(decision(&fx).unwrap().reasons[0], Reason::CameraLost);
}

#[test]
fn nothing_is_looked_at_before_consent_and_no_consent_times_out_with_that_reason() {
    let t0 = Instant::now();
    let mut m = SessionMachine::new(MachineConfig { require_consent: true, ..config() }, t0);
    assert!(!m.wants_frames());
    let mut t = t0;
    let fx = feed(&mut m, &mut t, &good(), Duration::from_secs(2));
    assert!(prompts(&fx).is_empty(), "no prompt before consent: {fx:?}");
    let fx = m.on_consent(super::super::Language::Kk);
    assert_eq!(fx, vec![Effect::Event(EventKind::Consent { language: super::super::Language::Kk })]);
    assert!(m.wants_frames());
    let fx = feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    assert!(fx.contains(&Effect::CaptureFace));

    // A guardian's session also waits for the declaration before anything is captured.
    let mut m = SessionMachine::new(MachineConfig { require_consent: true, require_guardian_declaration: true, ..config() }, t0);
    let fx = m.on_consent(super::super::Language::Ru);
    assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::GuardianConsent })));
    assert!(!m.wants_frames());
    assert_eq!(m.on_guardian_declared(), vec![Effect::Event(EventKind::GuardianDeclaration)]);
    assert!(m.wants_frames());

    let mut m = SessionMachine::new(MachineConfig { require_consent: true, ..config() }, t0);
    let outcome = m.on_tick(t0 + Duration::from_secs(31));
    assert_eq!(decision(&outcome).unwrap().reasons, vec![Reason::SubjectTimeout, Reason::ConsentNotGiven, Reason::FaceNotCaptured]);
}

fn with_documents(kind: DocumentKind) -> MachineConfig {
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

#[test]
fn challenges_run_in_order_after_the_photo_and_a_failed_one_rejects() {
    use super::super::liveness::{Challenge, Observation};
    let t0 = Instant::now();
    let cfg = MachineConfig { challenges: vec![Challenge::TurnLeft, Challenge::LookUp], ..config() };
    let (mut m, mut t) = (SessionMachine::new(cfg.clone(), t0), t0);
    feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    m.on_captured(good().measures.unwrap(), t);
    let fx = m.on_continue(t);
    assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::Liveness })));
    assert!(prompts(&fx).contains(&(Prompt::TurnLeft, None)));
    let base = Observation { pitch: 0.55, fill: 0.7, eye_openness: 1.0, depth_shape: 0.45, centre: (320.0, 240.0), width: 150.0, ..Default::default() };
    let mut play = |m: &mut SessionMachine, o: Observation, n: usize| {
        let mut out = Vec::new();
        for _ in 0..n {
            t += Duration::from_millis(33);
            out.extend(m.on_liveness_frame(Some(&o), t));
        }
        out
    };
    play(&mut m, base, 6);
    let fx = play(&mut m, Observation { yaw: 0.3, ..base }, 3);
    assert!(prompts(&fx).contains(&(Prompt::LookUp, None)), "{fx:?}");
    play(&mut m, base, 6);
    let fx = play(&mut m, Observation { pitch: 0.4, ..base }, 3);
    let outcome = decision(&fx).expect("decided after the last challenge");
    assert_eq!(outcome.decision, Decision::Verified);
    assert!(outcome.checks.iter().any(|c| c.name == "challenge_turn_left" && c.passed));

    // A replayed clip does not follow the prompt: the challenge times out.
    let (mut m, mut t) = (SessionMachine::new(cfg, t0), t0);
    feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    m.on_captured(good().measures.unwrap(), t);
    m.on_continue(t);
    let mut out = Vec::new();
    for _ in 0..200 {
        t += Duration::from_millis(33);
        out.extend(m.on_liveness_frame(Some(&base), t));
    }
    let outcome = decision(&out).expect("timed out");
    assert_eq!((outcome.decision, outcome.reasons.clone()), (Decision::Rejected, vec![Reason::ChallengeNotCompleted]));
    assert!(outcome.checks.iter().any(|c| c.name == "challenge_turn_left (timeout)" && !c.passed));

    // The face keeps leaving the camera: after the allowed restarts, face_lost.
    let cfg = MachineConfig { challenges: vec![Challenge::Blink], ..config() };
    let (mut m, mut t) = (SessionMachine::new(cfg, t0), t0);
    feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    m.on_captured(good().measures.unwrap(), t);
    m.on_continue(t);
    let mut out = Vec::new();
    for _ in 0..4 {
        out.extend(play(&mut m, base, 6));
        for _ in 0..30 {
            t += Duration::from_millis(33);
            out.extend(m.on_liveness_frame(None, t));
        }
    }
    let outcome = decision(&out).expect("gave up on a lost face");
    assert_eq!(outcome.reasons, vec![Reason::FaceLost]);
}

#[test]
fn a_borderline_passive_score_asks_the_extra_challenge() {
    use super::super::liveness::Challenge;
    for (score, asked) in [(0.1, 1), (0.3, 2)] {
        let t0 = Instant::now();
        let cfg = MachineConfig { challenges: vec![Challenge::TurnLeft], borderline_challenge: Some(Challenge::Blink), ..config() };
        let (mut m, mut t) = (SessionMachine::new(cfg, t0), t0);
        feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
        m.on_passive(false, Check { name: "passive_liveness".into(), passed: true, score: Some(score), threshold: Some(0.5) });
        m.on_captured(good().measures.unwrap(), t);
        m.on_continue(t);
        assert_eq!(m.config.challenges.len(), asked, "passive score {score}");
    }
}

#[test]
fn the_flash_sequence_is_shown_step_by_step_and_an_unlit_face_is_rejected() {
    use super::super::flash::FlashColour::{Blue, Green, Red};
    let plan = vec![Red, Green, Blue, Red, Green, Blue];
    let t0 = Instant::now();
    let cfg = MachineConfig { flash_plan: plan.clone(), ..config() };
    let (mut m, mut t) = (SessionMachine::new(cfg, t0), t0);
    feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    m.on_captured(good().measures.unwrap(), t);
    let fx = m.on_continue(t);
    assert!(fx.contains(&Effect::Event(EventKind::Flash { color: Some("#FF0000".into()) })), "{fx:?}");
    let mut colours = Vec::new();
    let mut all = Vec::new();
    for _ in 0..100 {
        t += Duration::from_millis(33);
        // A face that does not change colour: a picture that cannot see the screen.
        m.on_flash_sample([110.0, 130.0, 170.0], None, t);
        let fx = m.on_tick(t);
        colours.extend(fx.iter().filter_map(|e| match e {
            Effect::Event(EventKind::Flash { color }) => Some(color.clone()),
            _ => None,
        }));
        all.extend(fx);
    }
    assert_eq!(colours, [Some("#00FF00"), Some("#0000FF"), Some("#FF0000"), Some("#00FF00"), Some("#0000FF"), None].map(|c| c.map(String::from)));
    let outcome = decision(&all).expect("decided after the sequence");
    assert_eq!((outcome.decision, outcome.reasons.clone()), (Decision::Rejected, vec![Reason::PresentationAttackSuspected]));
    assert!(outcome.checks.iter().any(|c| c.name.starts_with("screen_flash (followed 0/6") && !c.passed), "{:?}", outcome.checks);
}

#[test]
fn a_suspected_presentation_attack_rejects_whatever_else_passed() {
    let t0 = Instant::now();
    let (mut m, mut t) = (SessionMachine::new(config(), t0), t0);
    feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    m.on_passive(true, Check { name: "passive_liveness (print)".into(), passed: false, score: Some(0.9), threshold: Some(0.5) });
    m.on_captured(good().measures.unwrap(), t);
    let fx = m.on_continue(t);
    let outcome = decision(&fx).unwrap();
    assert_eq!((outcome.decision, outcome.reasons.clone()), (Decision::Rejected, vec![Reason::PresentationAttackSuspected]));
    assert!(outcome.checks.iter().any(|c| c.name.starts_with("passive_liveness") && !c.passed));
}

#[test]
fn replayed_source_is_never_verified() {
    let t0 = Instant::now();
    let mut m = SessionMachine::new(MachineConfig { replayed_source: true, ..config() }, t0);
    let mut t = t0;
    feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    m.on_captured(good().measures.unwrap(), t);
    let outcome = m.on_continue(t);
    let outcome = decision(&outcome).unwrap();
    assert_eq!(outcome.decision, Decision::NeedsReview);
    assert_eq!(outcome.reasons, vec![Reason::ReplayedSource]);
}
