//! After the photo: the challenges, the borderline extra one, the screen flash, the
//! passive verdict and a replayed source.

use super::*;

#[test]
fn challenges_run_in_order_after_the_photo_and_a_failed_one_rejects() {
    use crate::session::liveness::{Challenge, Observation};
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
    let fx = play(&mut m, Observation { yaw: 0.3, ..base }, 8);
    assert!(prompts(&fx).contains(&(Prompt::LookUp, None)), "{fx:?}");
    play(&mut m, base, 6);
    let fx = play(&mut m, Observation { pitch: 0.4, ..base }, 8);
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
        // Its own clock: `play` keeps the first session's.
        for _ in 0..6 {
            t += Duration::from_millis(33);
            out.extend(m.on_liveness_frame(Some(&base), t));
        }
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
    use crate::session::liveness::Challenge;
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
    use crate::session::flash::FlashColour::{Blue, Green, Red};
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
