//! The face stages in the analysis thread: quality gates and the candidates for the
//! evidence photo, the photo kept and embedded, the challenges with the check that the
//! face doing them is the one photographed, the flash samples, and the passive
//! presentation-attack analysis of every face frame. The machine decides; this feeds it.

use super::*;

/// The evidence photo is the best frame of this last stretch of the countdown.
pub(super) const CANDIDATE_WINDOW: Duration = Duration::from_secs(1);
/// During the challenges, every this many frames a face is kept to check it is
/// still the one photographed: the next frame whose face is posed as the photo's was
/// (the frontal gate, and the pitch within [`CONTINUITY_PITCH`]). A face turned or
/// tilted back for a challenge is farther from any frontal photo of the same person
/// (1.003 against the threshold 1.0 on tests/verified.rs's subject looking up), so
/// comparing it would refuse people who did as asked.
pub(super) const CONTINUITY_EVERY: u32 = 15;
/// Half the tilt the look_up challenge asks for (its 0.08 in session::liveness).
const CONTINUITY_PITCH: f32 = 0.04;

pub(super) struct Candidate {
    image: Mat,
    face: Face,
    measures: FaceMeasures,
}

impl Engine {
    /// A frame during the screen flash: the colour of the face and of its surroundings.
    pub(super) fn analyse_flash(&mut self, frame: &Frame, session: &mut Active, now: Instant) -> Vec<Effect> {
        type Colours = Option<([f32; 3], Option<[f32; 3]>)>;
        let colour = frame.analyse(|image| -> Result<Colours, crate::vision::VisionError> {
            let faces = self.analysers.faces.detect(image)?;
            let Some(f) = Face::most_prominent(&faces) else { return Ok(None) };
            self.analysers.measures.flash_colours(image, f).map(Some)
        });
        if let Ok(Some((bgr, surround))) = colour {
            session.machine.on_flash_sample(bgr, surround, now);
        }
        session.machine.on_tick(now)
    }

    /// A frame of the face stages: the quality gates and candidates for the evidence
    /// photo, then the challenges and the continuity of the face doing them; the passive
    /// analysis throughout.
    pub(super) fn analyse_face(&mut self, frame: &Frame, session: &mut Active, now: Instant) -> Vec<Effect> {
        let started = Instant::now();
        let collecting = session.collecting;
        let in_liveness = session.machine.in_liveness();
        type Analysed = (Assessment, Option<Mat>, Option<Option<Observation>>);
        session.continuity_due |= in_liveness && session.passive_frames % CONTINUITY_EVERY == 0;
        let keep_challenge_face = in_liveness && session.continuity_due;
        let photo_pitch = session.photo_pitch;
        let mut challenge_face = None;
        let analysed = frame.analyse(|image| -> Result<Analysed, crate::vision::VisionError> {
            let faces = self.analysers.faces.track(image)?;
            let assessment = self.analysers.measures.assess(image, &faces, &self.oval, &self.machine_config.gates)?;
            // The same passive analysis as `liveness scan`, on every face frame of the session.
            session.passive.push(image, assessment.primary.as_ref())?;
            if in_liveness {
                let frontal = !assessment.failing.contains(&quality::Gate::NotFrontal)
                    && assessment.measures.zip(photo_pitch).is_some_and(|(m, p)| (m.pitch - p).abs() <= CONTINUITY_PITCH);
                if let (true, true, Some(face)) = (keep_challenge_face, frontal, &assessment.primary) {
                    challenge_face = Some((image.try_clone()?, face.clone()));
                }
                let observation = match (&assessment.primary, assessment.measures) {
                    (Some(face), Some(m)) => Some(self.analysers.measures.observe(image, face, &m)?),
                    _ => None,
                };
                return Ok((assessment, None, Some(observation)));
            }
            // Only frames that pass every gate may become the evidence photo.
            let keep = if collecting && assessment.passed() { Some(image.try_clone()?) } else { None };
            Ok((assessment, keep, None))
        });
        self.telemetry.analysed(started.elapsed());
        if let Some((image, face)) = challenge_face {
            session.continuity_due = false;
            // Before the machine can decide: the comparison must already be in.
            self.check_continuity(session, &image, &face);
        }
        session.passive_frames += 1;
        // Every frame: a verdict over a few hundred figures is cheap, and a session
        // that decides between two hand-overs would otherwise sign a result with
        // no passive check in it (seen under load).
        {
            let v = session.passive.verdict();
            // The kind and the figures behind it, for whoever reviews the result.
            let kind = v.attack_kind.map(|k| format!(" ({}: {})", k.name(), v.evidence_summary())).unwrap_or_default();
            session.machine.on_passive(
                v.attack_suspected,
                Check {
                    name: format!("passive_liveness{kind}"),
                    passed: !v.attack_suspected,
                    score: Some((f64::from(v.score) * 1000.0).round() / 1000.0),
                    threshold: Some(f64::from(v.threshold)),
                },
            );
        }
        match analysed {
            Ok((_, _, Some(observation))) => session.machine.on_liveness_frame(observation.as_ref(), now),
            Ok((assessment, keep, None)) => {
                if let (Some(image), Some(measures), Some(face)) = (keep, assessment.measures, assessment.primary.clone()) {
                    session.candidates.push(now, measures.sharpness, Candidate { image, face, measures });
                }
                session.machine.on_frame(&assessment, now)
            }
            Err(e) => {
                tracing::warn!(session = %session.record.id, error = %e, "frame analysis failed");
                self.telemetry.record_error("analysis", e.to_string());
                session.machine.on_tick(now)
            }
        }
    }

    /// Is the face doing the challenges the one in the evidence photo?
    pub(super) fn check_continuity(&mut self, session: &mut Active, image: &Mat, face: &Face) {
        let Some(live) = &session.live_face else { return };
        let Ok(during) = self.analysers.embedder.embed(image, face) else { return };
        let distance = live.distance(&during);
        let threshold = self.machine_config.match_threshold;
        let same = distance <= threshold;
        session.machine.on_continuity(
            same,
            Check {
                name: "same_person_in_challenges".into(),
                passed: same,
                score: Some((f64::from(distance) * 1000.0).round() / 1000.0),
                threshold: Some(f64::from(threshold)),
            },
        );
    }

    /// Encodes and stores the sharpest candidate of the last second.
    pub(super) fn keep_best_candidate(&mut self, session: &mut Active) -> Option<FaceMeasures> {
        let best = session.candidates.sharpest()?;
        if !evidence::keep(&self.store, &mut session.record, "face", &best.image) {
            return None;
        }
        // The photo's head pitch: the continuity face during the challenges is one near it.
        session.photo_pitch = Some(best.measures.pitch);
        let id = &session.record.id;
        // Kept for the comparison with the document's portrait (never stored or logged).
        session.live_face = self
            .analysers
            .embedder
            .embed(&best.image, &best.face)
            .inspect_err(|e| tracing::warn!(session = %id, error = %e, "live face could not be embedded"))
            .ok();
        Some(best.measures)
    }
}
