//! The engine loop from consent to a decision, with fakes that load no model. Every
//! synthetic frame is painted one colour that says what the camera sees (who, posed
//! how, a person or a photo held up), and the fake analysers read it back. Everything
//! else is real: the controller and its queues, the mailbox, the session machine, the
//! lockstep clock, the sled store, the evidence and the signed result.

use std::path::PathBuf;

use opencv::core::Vec3b;
use sha2::Digest;
use tokio::sync::broadcast;

use super::*;
use crate::capture::{PipelineSettings, SourceSpec};
use crate::identity::Date;
use crate::session::liveness::{Challenge, random_sequence};
use crate::session::machine::Side;
use crate::session::machine::tests as machine_tests;
use crate::session::{DocumentKind, Language, Prompt, Reason, SessionEvent, StartRequest};
use crate::store::Kek;
use crate::vision::document::{DocumentShape, Located, Outline, Readability};
use crate::vision::embedding::EMBEDDING_SIZE;
use crate::vision::face::{BoxF, Point};
use crate::vision::liveness::AttackKind;
use crate::vision::quality::{Gate, QualityThresholds};
use crate::vision::{LivenessAnalyser, LivenessVerdict, VisionError};

const WIDTH: u32 = 64;
const HEIGHT: u32 = 48;
const FPS: u32 = 15;

/// How the subject holds their head.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pose {
    Nobody,
    Frontal,
    Left,
    Right,
    Up,
}

/// What the camera sees, painted into every pixel: blue the pose and the side of the
/// card held up, green who it is, red whether it is a printed photo and whose portrait
/// is on the card.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scene {
    pose: Pose,
    person: u8,
    photo: bool,
    /// The side of an ID card held up beside the face, with the person on its portrait.
    card: Option<Side>,
    portrait: u8,
}

const POSES: [Pose; 5] = [Pose::Nobody, Pose::Frontal, Pose::Left, Pose::Right, Pose::Up];
const CARD_SIDES: [Option<Side>; 3] = [None, Some(Side::Front), Some(Side::Back)];

impl Scene {
    fn face(pose: Pose, person: u8) -> Scene {
        Scene { pose, person, photo: false, card: None, portrait: 0 }
    }

    fn of(image: &Mat) -> Scene {
        let [b, g, r] = image.at_2d::<Vec3b>(0, 0).expect("a BGR frame").0;
        Scene {
            pose: POSES.get(usize::from(b % 8)).copied().unwrap_or(Pose::Nobody),
            person: g,
            photo: r % 2 == 1,
            card: CARD_SIDES.get(usize::from(b / 8)).copied().flatten(),
            portrait: r / 2,
        }
    }

    fn colour(self) -> [u8; 3] {
        let pose = POSES.iter().position(|p| *p == self.pose).expect("a pose") as u8;
        let card = CARD_SIDES.iter().position(|c| *c == self.card).expect("a side of an ID card") as u8;
        [pose + 8 * card, self.person, u8::from(self.photo) + 2 * self.portrait]
    }

    fn pixels(self) -> Vec<u8> {
        self.colour().repeat((WIDTH * HEIGHT) as usize)
    }

    /// A small image of this scene (a flattened card, its portrait).
    fn image(self) -> Mat {
        let [b, g, r] = self.colour();
        let colour = opencv::core::Scalar::new(f64::from(b), f64::from(g), f64::from(r), 0.0);
        Mat::new_rows_cols_with_default(24, 36, opencv::core::CV_8UC3, colour).expect("an image")
    }
}

/// One face in the middle of the frame whenever someone is there.
struct FakeFaces;

impl FaceFinder for FakeFaces {
    fn detect(&mut self, image: &Mat) -> Result<Vec<Face>, VisionError> {
        if Scene::of(image).pose == Pose::Nobody {
            return Ok(Vec::new());
        }
        let bbox = BoxF { x: 16.0, y: 6.0, width: 32.0, height: 36.0 };
        Ok(vec![Face { bbox, landmarks: [Point::default(); 5], score: 0.9 }])
    }

    fn track(&mut self, image: &Mat) -> Result<Vec<Face>, VisionError> {
        self.detect(image)
    }

    fn reset(&mut self) {}
}

/// A well-lit, sharp face in the oval, posed as the scene says.
struct FakeMeasures;

impl FaceMeasurer for FakeMeasures {
    fn assess(&self, image: &Mat, faces: &[Face], _: &Oval, _: &QualityThresholds) -> Result<Assessment, VisionError> {
        let Some(face) = faces.first() else {
            return Ok(Assessment { faces: 0, primary: None, measures: None, failing: vec![Gate::NoFace] });
        };
        let (yaw, pitch) = match Scene::of(image).pose {
            Pose::Left => (0.3, 0.55),
            Pose::Right => (-0.3, 0.55),
            Pose::Up => (0.0, 0.42),
            Pose::Frontal | Pose::Nobody => (0.0, 0.55),
        };
        let measures = FaceMeasures { score: 0.9, fill: 0.8, yaw, pitch, sharpness: 120.0, brightness: 120.0, ..Default::default() };
        let failing = if yaw == 0.0 { Vec::new() } else { vec![Gate::NotFrontal] };
        Ok(Assessment { faces: faces.len(), primary: Some(face.clone()), measures: Some(measures), failing })
    }

    fn observe(&self, _: &Mat, face: &Face, m: &FaceMeasures) -> Result<Observation, VisionError> {
        // Eyes open, and a head's perspective that never changes (no challenge here asks).
        Ok(analysers::observation(face, m, 1.0, 0.45))
    }

    fn flash_colours(&self, _: &Mat, _: &Face) -> Result<([f32; 3], Option<[f32; 3]>), VisionError> {
        Ok(([128.0; 3], None))
    }
}

/// Each person a direction of their own: the same person at distance 0, anyone else at √2.
struct FakeEmbedder;

impl FaceEmbedding for FakeEmbedder {
    fn embed(&mut self, image: &Mat, _: &Face) -> Result<Embedding, VisionError> {
        let mut values = vec![0.0; EMBEDDING_SIZE];
        values[usize::from(Scene::of(image).person)] = 1.0;
        Ok(Embedding::from_values(&values).expect("a unit vector"))
    }
}

/// Suspects a print once most of at least ten face frames showed a photo.
#[derive(Default)]
struct FakePassive {
    faces: usize,
    photos: usize,
}

impl PassiveLiveness for FakePassive {
    fn push(&mut self, image: &Mat, face: Option<&Face>) -> Result<(), VisionError> {
        if face.is_some() {
            self.faces += 1;
            self.photos += usize::from(Scene::of(image).photo);
        }
        Ok(())
    }

    fn verdict(&self) -> LivenessVerdict {
        let attack = self.faces >= 10 && self.photos * 2 > self.faces;
        LivenessVerdict {
            attack_suspected: attack,
            attack_kind: attack.then_some(AttackKind::Print),
            score: if attack { 0.9 } else { 0.0 },
            ..LivenessAnalyser::new().verdict()
        }
    }
}

/// A fictitious Kazakh ID card whose check digits all hold (identity/document.rs's):
/// IIN 050624533556, born 2005-06-24, expiring 2031-10-17.
const CARD_MRZ: [&str; 3] = ["IDKAZ0723437422050624533556<<<", "0506247M3110175KAZ<<<<<<<<<<<0", "KASYMOV<<MURAT<<<<<<<<<<<<<<<<"];
const CARD_IIN: &str = "050624533556";

/// Finds the card held up on the right of the frame, sharp and glare-free, and reads
/// the card's front or back as the fixture above.
struct FakeDocuments;

impl DocumentAnalysis for FakeDocuments {
    fn locate(&mut self, image: &Mat) -> Result<Option<Located>, VisionError> {
        let scene = Scene::of(image);
        if scene.card.is_none() {
            return Ok(None);
        }
        let corners = [Point2f::new(50.0, 12.0), Point2f::new(63.0, 12.0), Point2f::new(63.0, 36.0), Point2f::new(50.0, 36.0)];
        let rectified = Scene { pose: Pose::Nobody, person: 0, ..scene }.image();
        Ok(Some(Located { outline: Outline { corners, shape: DocumentShape::Id1, area_share: 0.5 }, rectified }))
    }

    fn readability(&mut self, _: &Mat) -> Result<Readability, VisionError> {
        Ok(Readability { sharpness: 80.0, glare: 0.0 })
    }

    fn read(&mut self, rectified: &Mat, shape: DocumentShape, on: Date) -> Result<SideRead, VisionError> {
        let card = Scene::of(rectified);
        let mut read = SideRead {
            shape: Some(shape),
            mrz: None,
            front: None,
            readability: None,
            rectified: Some(rectified.try_clone()?),
            portrait: None,
            front_lines: None,
        };
        match card.card {
            Some(Side::Front) => {
                read.front = Some(FrontFields {
                    surname: Some("ҚАСЫМОВ".into()),
                    given_names: Some("МҰРАТ".into()),
                    patronymic: Some("БОЛАТОВИЧ".into()),
                    birth_date: Date::new(2005, 6, 24),
                    iin: Some(CARD_IIN.into()),
                    confirmed: identity::Confirmed { surname: true, given_names: true, patronymic: true, birth_date: true, iin: true },
                    patronymic_unknown: false,
                });
                read.portrait = Some(Scene::face(Pose::Frontal, card.portrait).image());
            }
            Some(_) => read.mrz = Some(Mrz::parse_on(&CARD_MRZ, on).expect("the fixture's MRZ")),
            None => {}
        }
        Ok(read)
    }

    fn reconcile(&mut self, _: &mut FrontFields, _: &FrontLines, _: &Mrz) -> Result<(), VisionError> {
        Ok(())
    }
}

fn fakes() -> Analysers {
    Analysers {
        faces: Box::new(FakeFaces),
        measures: Box::new(FakeMeasures),
        embedder: Box::new(FakeEmbedder),
        documents: Box::new(FakeDocuments),
        passive: Box::new(|| Box::new(FakePassive::default())),
    }
}

/// A seed whose first challenge is one a head can answer by turning or tilting (the
/// subject below does not blink or come closer), and the challenge it draws.
fn posed_challenge_seed() -> (u64, Challenge) {
    (0..100)
        .find_map(|seed| {
            let first = random_sequence(2, &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed))[0];
            matches!(first, Challenge::TurnLeft | Challenge::TurnRight | Challenge::LookUp).then_some((seed, first))
        })
        .expect("a seed among a hundred")
}

/// A kiosk with its engine, driven one frame at a time.
struct Rig {
    engine: Engine,
    inbox: Inbox,
    state: Loop,
    events: broadcast::Receiver<(String, SessionEvent)>,
    dir: PathBuf,
    frames: u64,
}

impl Rig {
    fn new(name: &str, subject_timeout: Duration, with_documents: bool) -> Rig {
        let dir = std::env::temp_dir().join(format!("idverifd-engine-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Arc::new(Store::open(&dir.join("db"), Kek::for_tests()).expect("a store"));
        let keys = Arc::new(DeviceKeys::load_or_create(&dir.join("keys")).expect("device keys"));
        let (controller, inbox) = Controller::new(Arc::clone(&store));
        let controller = Arc::new(controller);
        let settings = PipelineSettings {
            source: SourceSpec::Test("synthetic".into()),
            width: WIDTH,
            height: HEIGHT,
            fps: FPS,
            v4l2_format: String::new(),
            loop_replay: false,
            real_time: false,
            lockstep: true,
        };
        let camera = Arc::new(CameraStatus::new(&settings));
        let (seed, _) = posed_challenge_seed();
        // The machine's own tests' settings, with the consent screen.
        let stages = if with_documents { machine_tests::document::with_documents(DocumentKind::IdCard) } else { machine_tests::config() };
        let engine = Engine {
            controller: Arc::clone(&controller),
            store,
            keys,
            telemetry: Arc::new(Telemetry::default()),
            device: DeviceInfo { id: "kiosk-test".into(), camera: camera.identity(), software: "test".into(), models: Vec::new() },
            camera,
            mailbox: Arc::new(Mailbox::default()),
            preview: Arc::new(crate::capture::Preview::new(5)),
            analysers: fakes(),
            liveness_challenges: 1,
            screen_flash: false,
            draws: Box::new(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed)),
            oval: Oval::default(),
            machine_config: MachineConfig { subject_timeout, require_consent: true, ..stages },
            frame_timeout: Duration::from_secs(5),
            clock: SessionClock::frames(FPS),
            calendar: identity::Calendar::Fixed(Date::new(2026, 6, 1).expect("a date")),
            webhooks: None,
        };
        let events = controller.subscribe();
        Rig { engine, inbox, state: Loop::new(), events, dir, frames: 0 }
    }

    /// A registration server starts a session and the subject consents on the kiosk.
    fn start_with_consent(&mut self) -> String {
        let request = StartRequest {
            reference: "applicant-1".into(),
            nonce: "a-fresh-nonce".into(),
            language: Language::En,
            expected_iin: None,
            guardian_for: None,
            document: None,
        };
        let record = self.engine.controller.start(request, "client", &Actor::Client("client".into())).expect("started");
        self.show(Scene::face(Pose::Nobody, 0));
        assert!(self.engine.controller.subject_action(Command::Consent { id: record.id.clone(), language: Language::En }));
        record.id
    }

    /// One frame through the mailbox and one turn of the loop; the events it published.
    fn show(&mut self, scene: Scene) -> Vec<EventKind> {
        let pts = Duration::from_secs(1) / FPS * self.frames as u32;
        self.engine.mailbox.put(Frame::from_bgr(self.frames, pts, WIDTH, HEIGHT, scene.pixels()));
        self.frames += 1;
        self.engine.turn(&self.inbox, &mut self.state);
        std::iter::from_fn(|| self.events.try_recv().ok()).map(|(_, event)| event.kind).collect()
    }

    /// A subject who does as the kiosk asks until the session is decided; the prompts
    /// shown on the way.
    fn follow_prompts(&mut self, subject: Subject) -> Vec<Prompt> {
        let mut prompts = Vec::new();
        let mut since_prompt = 0;
        let mut card = None;
        for _ in 0..FPS * 60 {
            // Still for the judge's baseline, then the head moves as asked and comes back.
            let pose = match prompts.last() {
                Some(Prompt::TurnLeft) if (8..14).contains(&since_prompt) => Pose::Left,
                Some(Prompt::TurnRight) if (8..14).contains(&since_prompt) => Pose::Right,
                Some(Prompt::LookUp) if (8..14).contains(&since_prompt) => Pose::Up,
                _ => Pose::Frontal,
            };
            since_prompt += 1;
            let person = if challenge_prompt(&prompts).is_some() { subject.in_challenges } else { subject.photographed };
            let scene = Scene { pose, person, photo: subject.photo, card, portrait: subject.portrait };
            for event in self.show(scene) {
                match event {
                    // The card is held up as asked, beside the face, and kept there.
                    EventKind::Prompt { prompt: Prompt::ShowFront, .. } => card = Some(Side::Front),
                    EventKind::Prompt { prompt: Prompt::ShowBack, .. } => card = Some(Side::Back),
                    _ => {}
                }
                match event {
                    EventKind::Prompt { prompt, .. } => {
                        prompts.push(prompt);
                        since_prompt = 0;
                    }
                    EventKind::Decision { .. } => return prompts,
                    _ => {}
                }
            }
        }
        panic!("no decision after a minute of frames; prompts: {prompts:?}");
    }

    /// What the registration server reads back: the decision and reasons of the
    /// stored record, checked against the signed result.
    fn decided(&self, id: &str) -> (Decision, Vec<Reason>, SessionRecord) {
        assert!(self.state.active.is_none(), "the engine let the session go");
        assert_eq!(self.engine.controller.active(), None, "the camera is free for the next session");
        let record = self.engine.store.get_session(id).expect("store readable").expect("the session is stored");
        let outcome = record.outcome.clone().expect("a decision on the record");
        let jws = self.engine.store.get_result(id).expect("store readable").expect("a signed result");
        let signed = crate::signing::verify_compact(&jws, &self.engine.keys.jwks()).expect("signed by the device key");
        assert_eq!(signed.payload["decision"], serde_json::to_value(outcome.decision).unwrap());
        assert_eq!(signed.payload["reasons"], serde_json::to_value(&outcome.reasons).unwrap());
        for kept in &record.evidence {
            let image = self.engine.store.get_evidence(id, &kept.kind).expect("store readable").expect("listed evidence is stored");
            assert_eq!(hex::encode(sha2::Sha256::digest(&image)), kept.sha256, "{} as listed", kept.kind);
        }
        (outcome.decision, outcome.reasons, record)
    }
}

/// Who stands before the camera: the person photographed, the one who answers the
/// challenges, whether it is a printed photo of them, and whose portrait is on the
/// ID card they hold up when asked.
#[derive(Clone, Copy)]
struct Subject {
    photographed: u8,
    in_challenges: u8,
    photo: bool,
    portrait: u8,
}

const HONEST: Subject = Subject { photographed: 1, in_challenges: 1, photo: false, portrait: 1 };

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn challenge_prompt(prompts: &[Prompt]) -> Option<Prompt> {
    prompts.iter().copied().find(|p| matches!(p, Prompt::TurnLeft | Prompt::TurnRight | Prompt::LookUp | Prompt::Blink))
}

/// What a registration server learns of a session walked through by `subject`, and
/// the prompts the kiosk showed on the way.
struct Walked {
    prompts: Vec<Prompt>,
    decision: Decision,
    reasons: Vec<Reason>,
    record: SessionRecord,
}

fn walk(name: &str, with_documents: bool, subject: Subject) -> Walked {
    let mut rig = Rig::new(name, Duration::from_secs(60), with_documents);
    let id = rig.start_with_consent();
    let prompts = rig.follow_prompts(subject);
    let (decision, reasons, record) = rig.decided(&id);
    Walked { prompts, decision, reasons, record }
}

fn checks(walked: &Walked) -> &[Check] {
    &walked.record.outcome.as_ref().expect("decided").checks
}

#[test]
fn a_person_who_does_as_asked_is_verified_with_their_photo_kept() {
    let walked = walk("verified", false, HONEST);
    let prompts = &walked.prompts;
    assert!(prompts.contains(&Prompt::Countdown) && prompts.contains(&Prompt::Captured), "{prompts:?}");
    assert_eq!(challenge_prompt(prompts), Some(posed_challenge_seed().1.prompt()), "the drawn challenge was asked");
    assert_eq!((walked.decision, &walked.reasons[..]), (Decision::Verified, &[][..]));
    assert!(walked.record.evidence.iter().any(|e| e.kind == "face"), "the evidence photo is kept");
    assert!(checks(&walked).iter().any(|c| c.name == "same_person_in_challenges" && c.passed), "{:?}", checks(&walked));
}

#[test]
fn someone_else_doing_the_challenges_is_rejected_as_a_face_mismatch() {
    // The subject is photographed; once the challenge is asked, another person answers it.
    let walked = walk("swapped", false, Subject { in_challenges: 2, ..HONEST });
    assert!(challenge_prompt(&walked.prompts).is_some(), "{:?}", walked.prompts);
    assert_eq!((walked.decision, walked.reasons), (Decision::Rejected, vec![Reason::FaceMismatch]));
}

#[test]
fn a_printed_photo_is_rejected_as_a_suspected_attack() {
    let walked = walk("photo", false, Subject { photo: true, ..HONEST });
    assert_eq!((walked.decision, &walked.reasons[..]), (Decision::Rejected, &[Reason::PresentationAttackSuspected][..]));
    assert!(checks(&walked).iter().any(|c| c.name.starts_with("passive_liveness (print") && !c.passed), "{:?}", checks(&walked));
}

#[test]
fn nobody_coming_to_the_camera_times_out_without_a_photo() {
    let timeout = Duration::from_secs(10);
    let mut rig = Rig::new("timeout", timeout, false);
    let id = rig.start_with_consent();
    let mut decided = None;
    for _ in 0..FPS * 20 {
        decided = rig.show(Scene::face(Pose::Nobody, 0)).into_iter().find_map(|e| match e {
            EventKind::Decision { decision, reasons } => Some((decision, reasons)),
            _ => None,
        });
        if decided.is_some() {
            break;
        }
    }
    let seconds = rig.frames as f64 / f64::from(FPS);
    assert!(seconds >= timeout.as_secs_f64(), "decided only once the time was up ({seconds} s of frames)");
    let (decision, reasons, record) = rig.decided(&id);
    assert_eq!(decided, Some((decision, reasons.clone())), "the kiosk heard the stored decision");
    assert_eq!((decision, reasons), (Decision::Rejected, vec![Reason::SubjectTimeout, Reason::NoFaceDetected, Reason::FaceNotCaptured]));
    assert!(record.evidence.is_empty(), "nothing kept of a session nobody came to");
}

#[test]
fn a_card_with_the_subjects_portrait_is_verified_with_both_sides_kept() {
    let walked = walk("card", true, HONEST);
    let prompts = &walked.prompts;
    assert!(prompts.contains(&Prompt::ShowFront) && prompts.contains(&Prompt::ShowBack), "{prompts:?}");
    assert_eq!((walked.decision, &walked.reasons[..]), (Decision::Verified, &[][..]));
    let kept: Vec<&str> = walked.record.evidence.iter().map(|e| e.kind.as_str()).collect();
    for kind in ["face", "document_front", "document_back", "document_portrait"] {
        assert!(kept.contains(&kind), "{kind} kept: {kept:?}");
    }
    let document = walked.record.document.as_ref().expect("the document on the record");
    assert_eq!((document["iin"].as_str(), document["iin_valid"].as_bool()), (Some(CARD_IIN), Some(true)));
    for name in ["face_matches_document", "same_person_holding_document"] {
        assert!(checks(&walked).iter().any(|c| c.name == name && c.passed), "{name}: {:?}", checks(&walked));
    }
}

#[test]
fn a_card_with_someone_elses_portrait_is_rejected_as_a_face_mismatch() {
    let walked = walk("borrowed-card", true, Subject { portrait: 2, ..HONEST });
    assert_eq!((walked.decision, walked.reasons), (Decision::Rejected, vec![Reason::FaceMismatch]));
}
