//! The machine on recorded input sequences, one file a stage: prompts, captures,
//! challenges, flash, documents and the decision, each without a camera or a model.

mod challenges;
pub(crate) mod document;
mod face;

use super::*;
use crate::session::{Decision, Reason};
use crate::vision::face::{BoxF, Face, Point};

/// A face-only session with no challenges, no flash and no consent screen (the
/// engine's tests start from it too).
pub(crate) fn config() -> MachineConfig {
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
