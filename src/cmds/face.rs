//! `idverifd face detect|compare`: face analysis of still images.

use std::path::{Path, PathBuf};

use idverifd::config::FaceConfig;
use idverifd::vision::{self, Embedding, Face, FaceDetector, FaceEmbedder, quality};
use opencv::prelude::MatTraitConst;
use serde_json::json;

use super::{Failure, models_dir, onnxruntime_library, optional_config, print_json};

#[derive(clap::Subcommand, Debug)]
pub enum FaceCommand {
    /// Faces with box, five landmarks, score and quality figures.
    Detect {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        models: Option<PathBuf>,
        image: PathBuf,
    },
    /// Whether the most prominent face in each image is the same person. Exit 0
    /// when it is, 1 when it is not, 2 when an image is unreadable or has no face.
    Compare {
        #[arg(long)]
        json: bool,
        /// Config whose face.match_threshold, face detection settings and models.dir
        /// apply (default: /etc/idverifd/idverifd.toml when it exists, else built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        models: Option<PathBuf>,
        /// Largest embedding distance that counts as the same person (overrides
        /// face.match_threshold).
        #[arg(long)]
        threshold: Option<f32>,
        image_a: PathBuf,
        image_b: PathBuf,
    },
}

pub fn run(command: FaceCommand) -> Result<u8, Failure> {
    match command {
        FaceCommand::Detect { json, models, image } => face_detect(json, models, &image),
        FaceCommand::Compare { json, config, models, threshold, image_a, image_b } => {
            face_compare(json, config, models, threshold, [&image_a, &image_b])
        }
    }
}

pub(super) fn load_detector(models: &Path, face: &FaceConfig) -> Result<FaceDetector, Failure> {
    FaceDetector::load(&models.join(vision::YUNET_MODEL), face.detection_width, face.detection_score)
        .map_err(|e| Failure(2, e.to_string()))
}

fn face_detect(json: bool, models: Option<PathBuf>, image: &Path) -> Result<u8, Failure> {
    let models = models_dir(models, None);
    let defaults = FaceConfig::default();
    let mut detector = load_detector(&models, &defaults)?;
    let image_mat = vision::read_image(image).map_err(|e| Failure(2, e.to_string()))?;
    let faces = detector.detect(&image_mat).map_err(|e| Failure(3, e.to_string()))?;
    let mut out = Vec::new();
    for face in &faces {
        let a = quality::assess(&image_mat, std::slice::from_ref(face), &defaults.oval, &defaults.gates)
            .map_err(|e| Failure(3, e.to_string()))?;
        out.push(json!({"box": face.bbox, "landmarks": face.landmarks, "score": face.score, "quality": a.measures}));
    }
    let value = json!({"image": {"width": image_mat.cols(), "height": image_mat.rows()}, "faces": out});
    if json {
        print_json(&value);
    } else {
        eprintln!("{} face(s)", faces.len());
    }
    Ok(0)
}

fn face_compare(
    json: bool,
    config: Option<PathBuf>,
    models: Option<PathBuf>,
    threshold: Option<f32>,
    images: [&PathBuf; 2],
) -> Result<u8, Failure> {
    let config = optional_config(config)?;
    let face = config.as_ref().map_or_else(FaceConfig::default, |c| c.face.clone());
    let threshold = threshold.unwrap_or(face.match_threshold);
    if let Some(why) = vision::embedding::match_threshold_problem(threshold) {
        return Err(Failure(2, format!("--threshold: {why}")));
    }
    let library = onnxruntime_library(models.as_deref(), config.as_ref());
    let models = models_dir(models, config.as_ref());
    let mut detector = load_detector(&models, &face)?;
    let mut embedder =
        FaceEmbedder::load(&models.join(vision::FACENET_MODEL), &library).map_err(|e| Failure(2, e.to_string()))?;
    embedder.wait_built().map_err(|e| Failure(2, e.to_string()))?;
    let mut subject = |path: &PathBuf| -> Result<(serde_json::Value, Embedding), Failure> {
        let image = vision::read_image(path).map_err(|e| Failure(2, e.to_string()))?;
        let faces = detector.detect(&image).map_err(|e| Failure(3, format!("{}: {e}", path.display())))?;
        let face = Face::most_prominent(&faces)
            .ok_or_else(|| Failure(2, format!("{}: no face found; use a photo showing the face", path.display())))?;
        let embedding = embedder.embed(&image, face).map_err(|e| Failure(3, format!("{}: {e}", path.display())))?;
        let summary = json!({
            "path": path,
            "width": image.cols(),
            "height": image.rows(),
            "faces": faces.len(),
            "face": {"box": face.bbox, "landmarks": face.landmarks, "score": face.score},
        });
        Ok((summary, embedding))
    };
    let (a, embedding_a) = subject(images[0])?;
    let (b, embedding_b) = subject(images[1])?;
    let distance = embedding_a.distance(&embedding_b);
    let same_person = distance <= threshold;
    if json {
        print_json(&json!({
            "image_a": a,
            "image_b": b,
            "distance": distance,
            "similarity": embedding_a.similarity(&embedding_b),
            "threshold": threshold,
            "same_person": same_person,
        }));
    } else {
        let (verdict, relation) = if same_person { ("same person", "<=") } else { ("not the same person", ">") };
        eprintln!("{verdict}: distance {distance:.3} {relation} threshold {threshold:.3}");
    }
    Ok(if same_person { 0 } else { 1 })
}
