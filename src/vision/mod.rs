//! Stage 2, vision (OpenCV). Enters: BGR `Mat`s (frames or still images).
//! Leaves: faces, landmarks, quality figures and liveness signals — plain data, never prompts or
//! decisions. Never calls the session, and never logs what it sees.

mod components;
pub mod document;
pub mod embedding;
pub mod face;
pub mod front;
pub mod front_search;
pub mod labels;
pub mod liveness;
pub mod models;
pub mod mrz_glyphs;
pub mod mrz_locate;
mod mrz_settle;
mod mrz_led;
mod number_readers;
pub mod ocr;
pub mod onnx_runtime;
mod portrait;
mod read_cache;
pub mod quality;
pub mod reader;
mod shrink;
mod signs;
mod skew;
mod tails;
pub mod tesseract;
pub mod tracker;
pub(crate) mod text;
mod value_text;

use std::path::Path;

use opencv::core::{Mat, Vector};
use opencv::imgcodecs;
use opencv::prelude::*;

pub use embedding::{Embedding, FaceEmbedder};
pub use face::{Face, FaceDetector};
pub use tracker::FaceTracker;
pub use liveness::{LivenessAnalyser, LivenessVerdict};
pub use quality::{Assessment, FaceMeasures, Gate, Oval, QualityThresholds};

/// File name of the YuNet model inside the models directory.
pub const YUNET_MODEL: &str = "face_detection_yunet_2023mar.onnx";
/// File name of the face-embedding model (FaceNet, int8, run by ONNX Runtime) inside the
/// models directory.
pub const FACENET_MODEL: &str = "facenet_int8.onnx";

#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    #[error("model {path}: {reason}")]
    Model { path: String, reason: String },
    #[error("unexpected model output: {0}")]
    BadModelOutput(String),
    #[error("unusable image: {0}")]
    BadImage(String),
    #[error("OCR: {0}")]
    Ocr(String),
    #[error("OpenCV: {0}")]
    OpenCv(#[from] opencv::Error),
}

/// OpenCV's worker threads for this process: one, i.e. every call runs on its caller's
/// thread. The appliance has two cores shared by capture, analysis, OCR and the API;
/// OpenCV's default pool (a worker per core) spins while it waits for work, and on two
/// cores that spinning cost more than the parallel work saved: the frame-budget bench
/// measured 94 -> 65 ms CPU per 640x480 frame with one thread. Call once at start,
/// before any OpenCV work (it is process-wide).
pub fn set_opencv_threads() -> Result<(), VisionError> {
    opencv::core::set_num_threads(1)?;
    Ok(())
}

/// Reads a still image as BGR; a clear error for missing or undecodable files.
pub fn read_image(path: &Path) -> Result<Mat, VisionError> {
    let name = path.to_str().ok_or_else(|| VisionError::BadImage(format!("{}: path is not UTF-8", path.display())))?;
    if !path.is_file() {
        return Err(VisionError::BadImage(format!("{name}: no such file")));
    }
    let image = imgcodecs::imread(name, imgcodecs::IMREAD_COLOR)?;
    if image.empty() {
        return Err(VisionError::BadImage(format!("{name}: not an image OpenCV can decode")));
    }
    Ok(image)
}

/// A model file's path as OpenCV takes it, with a clear error when it is missing.
/// (Also used for the ONNX Runtime library.)
fn model_path(model: &Path) -> Result<&str, VisionError> {
    let path = model
        .to_str()
        .ok_or_else(|| VisionError::Model { path: model.display().to_string(), reason: "path is not UTF-8".into() })?;
    if !model.exists() {
        return Err(VisionError::Model {
            path: path.into(),
            reason: "file missing; run scripts/setup to fetch the models".into(),
        });
    }
    Ok(path)
}

fn check_bgr(bgr: &Mat) -> Result<(), VisionError> {
    if bgr.empty() || bgr.channels() != 3 {
        return Err(VisionError::BadImage("expected a non-empty 3-channel BGR image".into()));
    }
    Ok(())
}

/// JPEG bytes of an image, for evidence kept on the device.
pub fn encode_jpeg(image: &Mat, quality: i32) -> Result<Vec<u8>, VisionError> {
    let mut buf: Vector<u8> = Vector::new();
    let params: Vector<i32> = Vector::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, quality]);
    imgcodecs::imencode(".jpg", image, &mut buf, &params)?;
    Ok(buf.to_vec())
}
