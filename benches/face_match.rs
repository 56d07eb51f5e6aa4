//! Cost of one face embedding (alignment + int8 FaceNet forward pass through ONNX
//! Runtime, one thread) on a 1280×720 frame, the appliance camera's default size, with
//! OpenCV on one thread as the daemon runs it (`vision::set_opencv_threads`). Prints
//! figures; asserts nothing. Run: `cargo bench --bench face_match` (after scripts/setup).
//!
//! The frame is obama.jpg scaled to the frame's height and centred on grey, so
//! the face is about as large as a subject's at the desk.

use std::path::PathBuf;
use std::time::Instant;

use idverifd::config::FaceConfig;
use idverifd::vision::{self, Face, FaceDetector, FaceEmbedder};
use opencv::core::{self, Mat, Rect, Scalar, Size};
use opencv::imgproc;
use opencv::prelude::*;

const RUNS: usize = 100;

fn main() {
    vision::onnx_runtime::disable_telemetry();
    vision::set_opencv_threads().expect("OpenCV threads");
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models");
    let photo = vision::read_image(&models.join("media/obama.jpg")).expect("run scripts/setup first");
    let frame = frame_1280x720(&photo);
    let face = FaceConfig::default();
    let mut detector =
        FaceDetector::load(&models.join(vision::YUNET_MODEL), face.detection_width, face.detection_score).expect("YuNet");
    let loading = Instant::now();
    let library = models.join(vision::onnx_runtime::LIBRARY);
    let mut embedder = FaceEmbedder::load(&models.join(vision::FACENET_MODEL), &library).expect("FaceNet");
    embedder.wait_built().expect("FaceNet");
    let load_ms = ms(loading);

    let faces = detector.detect(&frame).expect("detect");
    let subject = Face::most_prominent(&faces).expect("a face in the frame").clone();
    // The first passes allocate the network's buffers.
    for _ in 0..3 {
        embedder.embed(&frame, &subject).expect("embed");
    }
    let align = timed(|| {
        FaceEmbedder::align(&frame, &subject).expect("align");
    });
    let embed = timed(|| {
        embedder.embed(&frame, &subject).expect("embed");
    });
    let detect = timed(|| {
        detector.detect(&frame).expect("detect");
    });

    println!(
        "frame 1280x720, face {:.0}x{:.0} px, {RUNS} runs, {} cores, OpenCV and ONNX Runtime on 1 thread; FaceNet load {load_ms:.0} ms",
        subject.bbox.width,
        subject.bbox.height,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("{:<34} {:>9} {:>9} {:>9}", "ms per face", "mean", "p50", "p95");
    for (what, t) in [
        ("alignment (warp to 160x160)", &align),
        ("embedding (alignment + forward)", &embed),
        ("detection (YuNet, for scale)", &detect),
    ] {
        println!("{what:<34} {:>9.2} {:>9.2} {:>9.2}", t.mean, t.p50, t.p95);
    }
}

struct Timing {
    mean: f64,
    p50: f64,
    p95: f64,
}

fn timed(mut work: impl FnMut()) -> Timing {
    let mut samples: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            work();
            ms(t)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    Timing { mean: samples.iter().sum::<f64>() / samples.len() as f64, p50: at(0.5), p95: at(0.95) }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn frame_1280x720(photo: &Mat) -> Mat {
    let height = 720;
    let width = (photo.cols() as f64 * height as f64 / photo.rows() as f64).round() as i32;
    let mut scaled = Mat::default();
    imgproc::resize(photo, &mut scaled, Size::new(width, height), 0.0, 0.0, imgproc::INTER_AREA).unwrap();
    let mut frame = Mat::new_rows_cols_with_default(720, 1280, core::CV_8UC3, Scalar::all(128.0)).unwrap();
    let mut roi = Mat::roi_mut(&mut frame, Rect::new((1280 - width) / 2, 0, width, height)).unwrap();
    scaled.copy_to(&mut roi).unwrap();
    frame
}
