//! Per-frame face analysis CPU, idverifd against the script a user would write
//! with Debian's OpenCV (benches/reference/face_frames.py: YuNet at 640 wide plus
//! face sharpness and brightness), on the same clip in the same run, at 640×480
//! and 1280×720. Both figures are process CPU time (every thread, decoding
//! included) over the frames analysed; idverifd's covers its whole passive
//! analysis (detection, quality, liveness signals). Prints; asserts nothing.
//!
//! Run: `cargo bench --bench frame_budget` (needs Debian's `python3-opencv`, which
//! scripts/setup installs). `FRAME_BUDGET_RUNS=N` runs each side N times
//! (default 5), taking turns, and prints the medians.
//!
//! Then detection recall, before and after the face stage followed the face between
//! detections: faces found on the project's photos (models/media) and frames with a
//! face in the carphone clip at both sizes, with YuNet at 640 wide on every frame (as
//! before; stills and documents still use it) and with `FaceTracker` (320-wide
//! detection every few frames, the face followed in between).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const SIZES: [(u32, u32); 2] = [(640, 480), (1280, 720)];

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let models = repo.join("models");
    let clip = models.join("media/carphone_pristine.mp4");
    assert!(clip.exists(), "run scripts/setup first: {} is missing", clip.display());
    let runs: usize = std::env::var("FRAME_BUDGET_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    println!(
        "clip: carphone (real person, upscaled), {runs} run(s) of each tool per size, alternated, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("{:<10} {:>22} {:>22} {:>8} {:>14}", "size", "idverifd CPU ms/frame", "reference ms/frame", "ratio", "faces (i / r)");
    for (width, height) in SIZES {
        // The tools take turns, and each ratio is of a run and the one beside it: the
        // host's speed drifts over minutes (2x within a day here), which a block of
        // one tool's runs and then the other's would count as the tools' difference.
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            ours.push(idverifd_scan(&models, &clip, width, height));
            theirs.push(reference(&models, &clip, width, height));
        }
        let ratios: Vec<f64> = ours.iter().zip(&theirs).map(|(a, b)| cpu_ms(a) / cpu_ms(b)).collect();
        println!(
            "{:<10} {:>22.1} {:>22.1} {:>8.2} {:>14}",
            format!("{width}x{height}"),
            median_of(ours.iter().map(cpu_ms).collect()),
            median_of(theirs.iter().map(cpu_ms).collect()),
            median_of(ratios),
            format!("{} / {}", ours[0]["faces_tracked"], theirs[0]["faces"])
        );
    }
    println!("ms/frame: medians; ratio: median of each idverifd run over the reference run after it. Goal (issue 16): ratio ≤ 0.5.");
    recall(&models, &clip);
}

fn recall(models: &Path, clip: &Path) {
    use idverifd::vision::{self, FaceDetector, FaceTracker};
    vision::set_opencv_threads().expect("OpenCV threads");
    let yunet = models.join(vision::YUNET_MODEL);
    let score = idverifd::config::FaceConfig::default().detection_score;
    let mut every_frame = FaceDetector::load(&yunet, 640, score).expect("YuNet");
    let mut tracker = FaceTracker::load(&yunet, score).expect("YuNet");
    println!("detection recall: YuNet 640 wide on every frame (before) / FaceTracker (after)");
    let mut photos: Vec<PathBuf> = std::fs::read_dir(models.join("media"))
        .expect("models/media")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jpg" || x == "png"))
        .collect();
    photos.sort();
    let (mut before, mut after) = (0, 0);
    for photo in &photos {
        let image = vision::read_image(photo).expect("photo");
        tracker.reset();
        let (a, b) = (every_frame.detect(&image).expect("detect").len(), tracker.faces(&image).expect("track").len());
        println!("  {:<28} {a} / {b} faces", photo.file_name().unwrap().to_string_lossy());
        before += usize::from(a > 0);
        after += usize::from(b > 0);
    }
    println!("  photos with a face: {before} / {after} of {}", photos.len());
    for (width, height) in SIZES {
        tracker.reset();
        let (mut frames, mut before, mut after) = (0, 0, 0);
        idverifd::capture::clip::decode_every_frame(clip, width, height, |frame| {
            let found = frame.analyse(|m| {
                Ok::<_, vision::VisionError>((!every_frame.detect(m)?.is_empty(), !tracker.faces(m)?.is_empty()))
            });
            let (a, b) = found.expect("analysis");
            frames += 1;
            before += usize::from(a);
            after += usize::from(b);
        })
        .expect("clip");
        println!("  carphone {width}x{height}: frames with a face {before} / {after} of {frames}");
    }
}

fn idverifd_scan(models: &Path, clip: &Path, width: u32, height: u32) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_idverifd"))
        .args(["liveness", "scan", "--json", "--every-frame", "--width", &width.to_string(), "--height", &height.to_string()])
        .arg("--models")
        .arg(models)
        .arg(clip)
        .output()
        .expect("idverifd");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("idverifd: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn reference(models: &Path, clip: &Path, width: u32, height: u32) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/reference/face_frames.py");
    // Debian's interpreter: python3-opencv lives there, not in a pyenv or venv.
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(models.join("face_detection_yunet_2023mar.onnx"))
        .arg(clip)
        .args([width.to_string(), height.to_string()])
        .output()
        .expect("/usr/bin/python3");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("reference: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn cpu_ms(run: &Value) -> f64 {
    run["cpu_ms_per_frame"].as_f64().unwrap_or(f64::NAN)
}

fn median_of(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
