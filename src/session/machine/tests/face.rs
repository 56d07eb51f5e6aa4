//! The face stage: framing prompts, countdown, capture, retake, timeouts and consent.

use super::*;

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
    let fx = m.on_consent(crate::session::Language::Kk);
    assert_eq!(fx, vec![Effect::Event(EventKind::Consent { language: crate::session::Language::Kk })]);
    assert!(m.wants_frames());
    let fx = feed(&mut m, &mut t, &good(), Duration::from_millis(3700));
    assert!(fx.contains(&Effect::CaptureFace));

    // A guardian's session also waits for the declaration before anything is captured.
    let mut m = SessionMachine::new(MachineConfig { require_consent: true, require_guardian_declaration: true, ..config() }, t0);
    let fx = m.on_consent(crate::session::Language::Ru);
    assert!(fx.contains(&Effect::Event(EventKind::Stage { stage: Stage::GuardianConsent })));
    assert!(!m.wants_frames());
    assert_eq!(m.on_guardian_declared(), vec![Effect::Event(EventKind::GuardianDeclaration)]);
    assert!(m.wants_frames());

    let mut m = SessionMachine::new(MachineConfig { require_consent: true, ..config() }, t0);
    let outcome = m.on_tick(t0 + Duration::from_secs(31));
    assert_eq!(decision(&outcome).unwrap().reasons, vec![Reason::SubjectTimeout, Reason::ConsentNotGiven, Reason::FaceNotCaptured]);
}
