//! Capture and face-analysis throughput on a replayed clip, as fast as the
//! machine goes (the pipeline does not sync to the clock). Prints figures; asserts
//! nothing. Run: `cargo bench --bench capture_detect` (after scripts/setup).
//!
//! For each size: the pipeline alone (decode, scale, BGR, hand-off), then the
//! pipeline feeding YuNet detection and the quality gates, as the engine runs them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use idverifd::capture::devices::CameraPolicy;
use idverifd::capture::{CameraStatus, CaptureSupervisor, Mailbox, PipelineSettings};
use idverifd::config::FaceConfig;
use idverifd::telemetry::Telemetry;
use idverifd::vision::{self, FaceDetector, quality};

const FRAMES: usize = 300;

fn main() {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let clip = repo.join("models/media/carphone_pristine.mp4");
    assert!(clip.exists(), "run scripts/setup first: {} is missing", clip.display());
    let face = FaceConfig::default();
    let mut detector = FaceDetector::load(&repo.join("models").join(vision::YUNET_MODEL), face.detection_width, face.detection_score)
        .expect("YuNet model");

    println!("clip: carphone (176x144, real person), {FRAMES} frames per run, {} cores", std::thread::available_parallelism().map_or(1, |n| n.get()));
    println!("{:<10} {:>14} {:>16} {:>12} {:>12} {:>12} {:>8}", "size", "capture fps", "capture+det fps", "det ms mean", "det ms p50", "det ms p95", "faces");
    for (width, height) in [(640, 480), (1280, 720)] {
        let settings = PipelineSettings {
            source: format!("file:{}", clip.display()).parse().unwrap(),
            width,
            height,
            fps: 30,
            v4l2_format: String::new(),
            loop_replay: true,
            real_time: false,
            lockstep: false,
        };
        let capture_fps = run(&settings, FRAMES, |_| {});
        let mut per_frame = Vec::with_capacity(FRAMES);
        let mut with_face = 0usize;
        let analysed_fps = run(&settings, FRAMES, |frame| {
            let t = Instant::now();
            let faces = frame
                .with_mat(|m| {
                    let faces = detector.detect(m).expect("detect");
                    quality::assess(m, &faces, &face.oval, &face.gates).expect("assess");
                    faces
                })
                .expect("map frame");
            per_frame.push(t.elapsed().as_secs_f64() * 1000.0);
            with_face += usize::from(!faces.is_empty());
        });
        per_frame.sort_by(f64::total_cmp);
        let mean = per_frame.iter().sum::<f64>() / per_frame.len() as f64;
        let pct = |p: f64| per_frame[((per_frame.len() - 1) as f64 * p).round() as usize];
        println!(
            "{:<10} {:>14.1} {:>16.1} {:>12.2} {:>12.2} {:>12.2} {:>7.0}%",
            format!("{width}x{height}"),
            capture_fps,
            analysed_fps,
            mean,
            pct(0.5),
            pct(0.95),
            100.0 * with_face as f64 / per_frame.len() as f64
        );
    }
}

/// Takes `frames` frames through `work`; returns frames per second of wall time.
fn run(settings: &PipelineSettings, frames: usize, mut work: impl FnMut(&idverifd::capture::Frame)) -> f64 {
    let mailbox = Arc::new(Mailbox::default());
    let status = Arc::new(CameraStatus::new(settings));
    let supervisor = CaptureSupervisor::start(settings.clone(), CameraPolicy::default(), Arc::clone(&mailbox), status, Arc::new(Telemetry::default()))
        .expect("pipeline");
    // The first frame includes pipeline start-up; time from there.
    let first = mailbox.take_timeout(Duration::from_secs(20)).expect("first frame");
    work(&first);
    drop(first);
    let start = Instant::now();
    let mut done = 0;
    while done < frames {
        let frame = mailbox.take_timeout(Duration::from_secs(20)).expect("frame");
        work(&frame);
        done += 1;
    }
    let fps = done as f64 / start.elapsed().as_secs_f64();
    supervisor.stop();
    fps
}
