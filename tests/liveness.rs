//! Presentation-attack detection, judged as a user would see it:
//! - `idverifd liveness scan` over the generated attack set (tests/fixtures/gen_attacks.py):
//!   APCER per attack kind and BPCER (ISO/IEC 30107-3) on the TUNING split the
//!   thresholds were set on and on the HELD-OUT split (other seeds, the tablet
//!   instrument, the foliage background, another printed subject, mirrored bona fide
//!   clips), side by side. The real-person clip must not be flagged; screen replays on
//!   held-out must be caught.
//! - the screen flash on two session replays of the flash stage: a face that reflects
//!   the kiosk's colours passes, a screen replay with a glass reflection does not.
//! - the active challenges: how often a natural recording (carphone, looped, at random
//!   offsets) passes a drawn sequence by chance; a track that follows the drawn
//!   prompts passes and the same track against another draw fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use idverifd::session::flash::{self, FlashColour, Sample};
use idverifd::session::liveness::{Challenge, Judge, Observation, Progress, random_sequence};
use idverifd::vision::{Face, FaceDetector, quality};
use opencv::prelude::MatTraitConst;
use rand::{Rng, SeedableRng};
use serde_json::Value;

fn scan(clip: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_idverifd"))
        .args(["liveness", "scan", "--json", "--every-frame", clip.to_str().unwrap()])
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(matches!(code, Some(0 | 1)), "{}: exit {code:?}\n{}", clip.display(), String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert_eq!(code == Some(1), v["attack_suspected"] == true, "exit code follows the verdict");
    v
}

fn figure(v: &Value, signal: &str) -> String {
    v["signals"][signal]["value"].as_f64().map_or("-".into(), |x| format!("{x:.3}"))
}

/// Scans every clip, two at a time (the machine has two cores).
fn scan_all(clips: &[PathBuf]) -> Vec<Value> {
    let mut out = vec![Value::Null; clips.len()];
    std::thread::scope(|s| {
        let halves: Vec<_> = out.chunks_mut(clips.len().div_ceil(2)).zip(clips.chunks(clips.len().div_ceil(2))).collect();
        for (results, paths) in halves {
            s.spawn(move || {
                for (r, p) in results.iter_mut().zip(paths) {
                    *r = scan(p);
                }
            });
        }
    });
    out
}

#[derive(Default)]
struct Rates {
    /// (kind, presented, missed)
    attacks: Vec<(String, usize, usize)>,
    bona_fide: usize,
    bona_fide_flagged: usize,
}

impl Rates {
    fn apcer(&self, kind: &str) -> String {
        self.attacks.iter().find(|a| a.0 == kind).map_or("-".into(), |(_, n, m)| format!("{m}/{n} = {:.2}", *m as f64 / *n as f64))
    }
    fn missed(&self, kind: &str) -> (usize, usize) {
        self.attacks.iter().find(|a| a.0 == kind).map_or((0, 0), |a| (a.2, a.1))
    }
}

#[test]
fn generated_attacks_are_caught_on_both_splits_and_the_real_person_is_not_flagged() {
    let dir = common::temp_dir("liveness");
    let status = Command::new("python3")
        .arg(common::repo().join("tests/fixtures/gen_attacks.py"))
        .arg(common::repo().join("models/media"))
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "attack generator failed");
    let manifest: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let carphone = common::media("carphone_pristine.mp4");
    let mut clips: Vec<PathBuf> = manifest.iter().map(|m| dir.join(m["file"].as_str().unwrap())).collect();
    clips.push(carphone.clone());
    let verdicts = scan_all(&clips);

    let signals = [
        ("planarity", "plan"),
        ("landmark_deformation", "deform"),
        ("moire_peak", "moire"),
        ("moire_beside", "beside"),
        ("display_frame", "frame"),
        ("frame_follows_face", "follows"),
        ("refresh_banding", "band"),
        ("black_level", "black"),
        ("white_point_shift", "white"),
        ("glare", "glare"),
        ("glare_drift", "drift"),
    ];
    eprintln!(
        "{:<18} {:<9} {:<13} {:>5} {} {:>5} {:>6} {:>6} kind",
        "clip",
        "split",
        "instrument",
        "faces",
        signals.iter().map(|s| format!("{:>7}", s.1)).collect::<Vec<_>>().join(" "),
        "print",
        "screen",
        "score"
    );
    let (mut tuning, mut held_out) = (Rates::default(), Rates::default());
    let mut fta = std::collections::BTreeMap::<String, usize>::new();
    let mut failures = Vec::new();
    for (i, v) in verdicts.iter().enumerate() {
        let (name, split, kind, instrument) = match manifest.get(i) {
            Some(m) => (
                Path::new(m["file"].as_str().unwrap()).file_stem().unwrap().to_string_lossy().to_string(),
                m["split"].as_str().unwrap().to_string(),
                m["kind"].as_str().unwrap().to_string(),
                m["instrument"].as_str().unwrap().to_string(),
            ),
            None => ("carphone".into(), "original".into(), "bona_fide".into(), "live".into()),
        };
        eprintln!(
            "{:<18} {:<9} {:<13} {:>5} {} {:>5.2} {:>6.2} {:>6.2} {}",
            name,
            split,
            instrument,
            v["faces_tracked"],
            signals.iter().map(|s| format!("{:>7}", figure(v, s.0))).collect::<Vec<_>>().join(" "),
            v["print_score"].as_f64().unwrap_or(f64::NAN),
            v["screen_score"].as_f64().unwrap_or(f64::NAN),
            v["score"].as_f64().unwrap_or(f64::NAN),
            v["attack_kind"],
        );
        let flagged = v["attack_suspected"] == true;
        // ISO/IEC 30107-3 counts a presentation where no face was found as a failure to
        // acquire: no session gets past the face stage with it. Not in APCER.
        if v["faces_tracked"].as_u64().unwrap_or(0) < 20 {
            if kind == "bona_fide" {
                failures.push(format!("{name}: the real person's face must be tracked: {}", v["faces_tracked"]));
            }
            eprintln!("  {name}: face found in {} frames only: failure to acquire, not scored", v["faces_tracked"]);
            *fta.entry(split.clone()).or_default() += 1;
            continue;
        }
        let rates = match split.as_str() {
            "tuning" => &mut tuning,
            "held_out" => &mut held_out,
            _ => {
                if flagged {
                    failures.push(format!("the real-person clip is flagged: {v}"));
                }
                continue;
            }
        };
        if kind == "bona_fide" {
            rates.bona_fide += 1;
            rates.bona_fide_flagged += usize::from(flagged);
            continue;
        }
        // An attack counts as caught when flagged; a flagged attack of the wrong kind
        // is caught but its reason would mislead a reviewer.
        let missed = usize::from(!flagged);
        match rates.attacks.iter_mut().find(|a| a.0 == kind) {
            Some(a) => (a.1, a.2) = (a.1 + 1, a.2 + missed),
            None => rates.attacks.push((kind.clone(), 1, missed)),
        }
        if flagged && v["attack_kind"] != kind.as_str() {
            eprintln!("  {name}: caught as {} (a {kind} attack)", v["attack_kind"]);
        }
    }
    eprintln!("{:<22} {:>16} {:>16}", "ISO/IEC 30107-3", "TUNING", "HELD-OUT");
    for kind in ["print", "screen"] {
        eprintln!("{:<22} {:>16} {:>16}", format!("APCER {kind}"), tuning.apcer(kind), held_out.apcer(kind));
    }
    let bpcer = |r: &Rates| format!("{}/{} = {:.2}", r.bona_fide_flagged, r.bona_fide, r.bona_fide_flagged as f64 / r.bona_fide.max(1) as f64);
    eprintln!("{:<22} {:>16} {:>16}", "BPCER", bpcer(&tuning), bpcer(&held_out));
    eprintln!("{:<22} {:>16} {:>16}", "failure to acquire", fta.get("tuning").copied().unwrap_or(0), fta.get("held_out").copied().unwrap_or(0));
    eprintln!("(synthetic attacks; one real person, carphone, in every bona fide clip; no masks)");

    // What a user would notice: screen replays pass as live. Held-out has 8 screens
    // (some not acquired); allow one miss (the set is small and the tablet never tuned on).
    let (missed, presented) = held_out.missed("screen");
    if presented < 4 || missed > 1 {
        failures.push(format!("held-out screen replays missed: {missed} of {presented}"));
    }
    let (missed, presented) = held_out.missed("print");
    if missed > 1 {
        failures.push(format!("held-out prints missed: {missed} of {presented}"));
    }
    // And real people refused: at most one of the four held-out bona fide variants.
    if held_out.bona_fide_flagged > 1 {
        failures.push(format!("held-out bona fide flagged: {} of {}", held_out.bona_fide_flagged, held_out.bona_fide));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_or_undecodable_clip_is_a_usage_error() {
    let dir = common::temp_dir("liveness-bad");
    let junk = dir.join("junk.webm");
    std::fs::write(&junk, b"not a video").unwrap();
    for clip in [dir.join("missing.webm"), junk] {
        for every_frame in [false, true] {
            let mut args = vec!["liveness", "scan", "--json"];
            if every_frame {
                args.push("--every-frame");
            }
            let out = Command::new(env!("CARGO_BIN_EXE_idverifd")).args(&args).arg(&clip).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
            assert!(String::from_utf8_lossy(&out.stderr).contains(clip.file_name().unwrap().to_str().unwrap()));
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn detector() -> FaceDetector {
    let defaults = idverifd::config::FaceConfig::default();
    FaceDetector::load(&common::repo().join("models").join(idverifd::vision::YUNET_MODEL), defaults.detection_width, defaults.detection_score).unwrap()
}

/// Every frame of a clip at 640×480: the most prominent face and what `f` makes of it.
fn per_frame<T>(clip: &Path, mut f: impl FnMut(&opencv::core::Mat, Option<&Face>) -> T) -> Vec<T> {
    let mut detector = detector();
    let mut out = Vec::new();
    idverifd::capture::clip::decode_every_frame(clip, 640, 480, |frame| {
        let t = frame
            .analyse(|m| -> Result<T, idverifd::vision::VisionError> {
                let faces = detector.detect(m)?;
                Ok(f(m, Face::most_prominent(&faces)))
            })
            .unwrap();
        out.push(t);
    })
    .unwrap();
    out
}

#[test]
fn the_flash_is_reflected_by_a_live_like_face_and_not_by_a_screen_replay() {
    let dir = common::temp_dir("liveness-flash");
    let plan = [FlashColour::Red, FlashColour::Blue, FlashColour::Green, FlashColour::Red, FlashColour::Green, FlashColour::Blue];
    let letters: String = plan.iter().map(|c| match c {
        FlashColour::Red => 'R',
        FlashColour::Green => 'G',
        FlashColour::Blue => 'B',
    }).collect();
    let (step_ms, lead_ms) = (500u64, 600u64);
    let status = Command::new("python3")
        .arg(common::repo().join("tests/fixtures/gen_attacks.py"))
        .args([common::repo().join("models/media"), dir.clone()])
        .args(["--flash", &letters, "--step-ms", &step_ms.to_string(), "--lead-ms", &lead_ms.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "flash replay generator failed");
    let mut verdicts = Vec::new();
    for name in ["flash_live.webm", "flash_screen.webm"] {
        let colours = per_frame(&dir.join(name), |m, face| {
            face.map(|f| (quality::face_colour(m, f).unwrap(), idverifd::vision::liveness::screen::surround_colour(m, f).unwrap()))
        });
        // The clip runs at 15 fps; the sequence starts lead_ms in.
        let samples: Vec<Sample> = colours
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let at = Duration::from_micros(i as u64 * 1_000_000 / 15).checked_sub(Duration::from_millis(lead_ms))?;
                c.map(|(bgr, surround)| Sample { offset: at, bgr, surround })
            })
            .collect();
        let v = flash::judge(&plan, Duration::from_millis(step_ms), &samples);
        eprintln!(
            "{name:<18} followed {}/{} face_shift {:.3} (min {}) face_over_surround {:?} (min {}) passed {}",
            v.followed,
            v.steps,
            v.face_shift,
            flash::MIN_SHIFT,
            v.face_over_surround,
            flash::FACE_OVER_SURROUND,
            v.passed()
        );
        verdicts.push(v);
    }
    assert!(verdicts[0].passed(), "the face that reflects the kiosk's colours passes: {:?}", verdicts[0]);
    assert!(!verdicts[1].passed(), "the screen replay with a glass reflection fails: {:?}", verdicts[1]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// What a challenge judge sees of each frame of the carphone clip (the engine's
/// observation: pose from the landmarks, fill as face width over the frame's, eye
/// texture, perspective shape).
fn carphone_track() -> Vec<Option<Observation>> {
    per_frame(&common::media("carphone_pristine.mp4"), |m, face| {
        face.map(|f| {
            let (yaw, _, pitch) = quality::pose(f);
            let c = f.bbox.centre();
            Observation {
                yaw,
                pitch,
                fill: f.bbox.width / m.cols() as f32,
                eye_openness: quality::eye_openness(m, f).unwrap(),
                depth_shape: quality::depth_shape(f),
                centre: (c.x, c.y),
                width: f.bbox.width,
            }
        })
    })
}

/// Plays `track` (looped from `offset`, at `fps`) through the judges of `sequence`, one
/// after another as the session does; the first failure, or `None` if all passed.
fn play_sequence(sequence: &[Challenge], track: &[Option<Observation>], offset: usize, fps: f64) -> Option<(Challenge, &'static str)> {
    let t0 = Instant::now();
    let mut frame = offset;
    let at = |i: usize| t0 + Duration::from_secs_f64((i - offset) as f64 / fps);
    let mut neutral = None;
    for &challenge in sequence {
        // As the session machine does: each judge after the first waits for the head
        // to come back to the previous one's still pose.
        let mut judge = Judge::after(challenge, Duration::from_secs(6), at(frame), neutral);
        loop {
            let p = judge.observe(track[frame % track.len()].as_ref(), at(frame));
            frame += 1;
            match p {
                Progress::Pending => {}
                Progress::Passed => {
                    neutral = judge.neutral();
                    break;
                }
                Progress::Failed(why) | Progress::Restart(why) => return Some((challenge, why)),
            }
        }
    }
    None
}

#[test]
fn a_natural_recording_passes_drawn_challenges_by_chance_at_most_one_time_in_a_hundred() {
    let track = carphone_track();
    let fps = 30_000.0 / 1001.0;
    assert!(track.iter().filter(|o| o.is_some()).count() > track.len() * 9 / 10, "the face is seen in the clip");
    // Seeded, so the printed figure is repeatable; the engine draws from the OS.
    let mut draws = rand::rngs::StdRng::seed_from_u64(20_261_202);
    const DRAWS: usize = 400;
    for count in [2usize, 3] {
        let (mut passed, mut reasons) = (0, std::collections::BTreeMap::<String, usize>::new());
        for _ in 0..DRAWS {
            let sequence = random_sequence(count, &mut draws);
            let offset = draws.gen_range(0..track.len());
            match play_sequence(&sequence, &track, offset, fps) {
                None => passed += 1,
                Some((c, why)) => *reasons.entry(format!("{}: {why}", c.name())).or_default() += 1,
            }
        }
        let rate = passed as f64 / DRAWS as f64;
        eprintln!("natural recording vs {count} drawn challenges: passed {passed}/{DRAWS} = {:.2} % ; failures {reasons:?}", 100.0 * rate);
        assert!(rate <= 0.01, "chance pass rate {rate} over {DRAWS} draws");
    }
}

/// A subject who does what each prompt asks, about half a second after it: the
/// carphone clip's first frames as the still face, then the action.
fn following_track(sequence: &[Challenge], base: Observation) -> Vec<Option<Observation>> {
    let mut track = Vec::new();
    for &c in sequence {
        track.extend(std::iter::repeat_n(Some(base), 15));
        let target = match c {
            Challenge::TurnLeft => Observation { yaw: base.yaw + 0.35, ..base },
            Challenge::TurnRight => Observation { yaw: base.yaw - 0.35, ..base },
            Challenge::LookUp => Observation { pitch: base.pitch - 0.15, ..base },
            Challenge::MoveCloser => Observation { fill: base.fill * 1.4, depth_shape: base.depth_shape + 0.06, width: base.width * 1.4, ..base },
            Challenge::Blink => {
                let closed = Observation { eye_openness: base.eye_openness * 0.4, ..base };
                for _ in 0..2 {
                    track.extend(std::iter::repeat_n(Some(closed), 4));
                    track.extend(std::iter::repeat_n(Some(base), 8));
                }
                continue;
            }
        };
        for k in 1..=10 {
            let f = k as f32 / 10.0;
            let mix = |a: f32, b: f32| a + (b - a) * f;
            track.push(Some(Observation {
                yaw: mix(base.yaw, target.yaw),
                pitch: mix(base.pitch, target.pitch),
                fill: mix(base.fill, target.fill),
                depth_shape: mix(base.depth_shape, target.depth_shape),
                width: mix(base.width, target.width),
                ..base
            }));
        }
        track.extend(std::iter::repeat_n(Some(target), 6));
        // Back to the still face before the next prompt.
        track.extend(std::iter::repeat_n(Some(base), 10));
    }
    track
}

#[test]
fn a_track_that_follows_the_seeded_prompts_passes_and_fails_against_another_draw() {
    let base = carphone_track().into_iter().flatten().next().expect("a face in the clip");
    let drawn = |seed: u64| random_sequence(3, &mut rand::rngs::StdRng::seed_from_u64(seed));
    let asked = drawn(7);
    assert_eq!(asked, drawn(7), "the same seed asks the same challenges");
    let track = following_track(&asked, base);
    assert_eq!(play_sequence(&asked, &track, 0, 30.0), None, "a subject following {asked:?} passes");
    // The same recording against another draw: it answers the wrong prompts.
    let other = (8..100).map(drawn).find(|s| s[0] != asked[0]).unwrap();
    let failed = play_sequence(&other, &track, 0, 30.0);
    eprintln!("recorded answers to {asked:?} played against {other:?}: {failed:?}");
    assert!(failed.is_some(), "a replay of answers to other prompts fails");
}
