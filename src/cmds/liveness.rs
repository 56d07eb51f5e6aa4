//! `idverifd liveness scan`: passive presentation-attack analysis of a recorded clip.

use std::path::{Path, PathBuf};

use idverifd::config::FaceConfig;
use idverifd::vision::{self, Face};
use serde_json::json;

use super::{Failure, models_dir, print_json};

#[derive(clap::Subcommand, Debug)]
pub enum LivenessCommand {
    /// Scan a recorded clip: signals, score, attack_suspected and attack_kind. Exit 0
    /// when no attack is suspected, 1 when one is, 2 when the clip is unreadable.
    Scan {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        models: Option<PathBuf>,
        /// Frame size the pipeline scales the clip to.
        #[arg(long, default_value_t = 640)]
        width: u32,
        #[arg(long, default_value_t = 480)]
        height: u32,
        /// Print milliseconds per frame of detection and of the liveness signals to stderr.
        #[arg(long)]
        timing: bool,
        /// Analyse every decoded frame, as fast as analysis goes, instead of playing the
        /// clip at its own pace (where a slow machine drops frames): repeatable figures.
        #[arg(long)]
        every_frame: bool,
        video: PathBuf,
    },
}

pub fn run(command: LivenessCommand) -> Result<u8, Failure> {
    match command {
        LivenessCommand::Scan { json, models, width, height, timing, every_frame, video } => {
            liveness_scan(json, models, (width, height), timing, every_frame, &video)
        }
    }
}

fn liveness_scan(json: bool, models: Option<PathBuf>, size: (u32, u32), timing: bool, every_frame: bool, video: &Path) -> Result<u8, Failure> {
    use idverifd::capture::clip;
    use std::time::Instant;
    if !video.is_file() {
        return Err(Failure(2, format!("{}: no such file", video.display())));
    }
    // As the daemon: OpenCV on the caller's thread, the face followed between detections.
    vision::set_opencv_threads().map_err(|e| Failure(3, e.to_string()))?;
    let models = models_dir(models, None);
    let mut detector = vision::FaceTracker::load(&models.join(vision::YUNET_MODEL), FaceConfig::default().detection_score)
        .map_err(|e| Failure(2, e.to_string()))?;
    let mut analyser = vision::LivenessAnalyser::new();
    let (mut detect_ms, mut liveness_ms) = (0.0f64, 0.0f64);
    let mut failure: Option<vision::VisionError> = None;
    // The clip is opened (plugins loaded, decoder set up) before the clock starts, as
    // the reference script opens its capture before its own clock.
    let opened = if every_frame { Some(clip::OpenClip::open(video, size.0, size.1).map_err(|e| Failure(2, e.to_string()))?) } else { None };
    let cpu_before = process_cpu_seconds();
    let mut each = |frame: &idverifd::capture::Frame| {
        if failure.is_some() {
            return;
        }
        let step = frame.analyse(|m| {
            let t = Instant::now();
            let faces = detector.faces(m)?;
            let t2 = Instant::now();
            analyser.push(m, Face::most_prominent(&faces))?;
            detect_ms += (t2 - t).as_secs_f64() * 1000.0;
            liveness_ms += t2.elapsed().as_secs_f64() * 1000.0;
            Ok::<_, vision::VisionError>(())
        });
        failure = step.err();
    };
    let counts = match opened {
        Some(opened) => opened.decode_every_frame(&mut each),
        None => clip::play_once(video, size.0, size.1, &mut each),
    }
    .map_err(|e| Failure(2, e.to_string()))?;
    if let Some(e) = failure {
        return Err(Failure(3, e.to_string()));
    }
    let cpu_ms = (process_cpu_seconds() - cpu_before) * 1000.0;
    let verdict = analyser.verdict();
    if timing {
        let n = counts.analysed.max(1) as f64;
        eprintln!(
            "timing {}x{}: detection {:.2} ms/frame, liveness signals {:.2} ms/frame over {} frames ({} detected, {} tracked)",
            size.0, size.1, detect_ms / n, liveness_ms / n, counts.analysed, detector.detections, detector.tracked
        );
    }
    if json {
        let mut value = serde_json::to_value(&verdict).unwrap_or_default();
        value["evidence"] = json!(verdict.evidence_summary());
        value["frames_decoded"] = json!(counts.decoded);
        value["frames_dropped"] = json!(counts.dropped);
        value["frames_analysed"] = json!(counts.analysed);
        // Every thread of the process (decoding included) over the frames analysed,
        // so the figure compares with any other tool's on the same clip.
        value["cpu_ms_per_frame"] = json!((cpu_ms / counts.analysed.max(1) as f64 * 100.0).round() / 100.0);
        print_json(&value);
    } else {
        eprintln!(
            "{}{}: score {:.2} (threshold {:.2}; {}), {} of {} frames with a face",
            if verdict.attack_suspected { "attack suspected" } else { "no attack suspected" },
            verdict.attack_kind.map(|k| format!(" ({})", k.name())).unwrap_or_default(),
            verdict.score,
            verdict.threshold,
            verdict.evidence_summary(),
            verdict.faces_tracked,
            counts.analysed
        );
    }
    Ok(if verdict.attack_suspected { 1 } else { 0 })
}

/// CPU time of the whole process so far (all threads), in seconds.
fn process_cpu_seconds() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec it is given.
    if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) } != 0 {
        return 0.0;
    }
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}
