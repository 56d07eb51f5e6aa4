//! ONNX Runtime, which runs the face-embedding network. Enters: the path of the runtime
//! library and of a model. Leaves: a session that runs on its caller's thread. The library
//! (`libonnxruntime.so.1.31.1`, from PyPI onnxruntime 1.31.1, pinned by SHA-256 in the
//! models manifest) is loaded at run time, never linked or downloaded at build time; a
//! missing or foreign file is an error naming it, never a panic.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use super::VisionError;

/// File name of the ONNX Runtime library the `ort` crate was built for (its C API 31).
pub const LIBRARY: &str = "libonnxruntime.so.1.31.1";

/// The PyPI build of the library carries Microsoft's 1DS telemetry client: loaded without
/// this variable set to 1, it keeps an event store and a device id under the user's cache
/// directory (`Microsoft/DeveloperTools/.onnxruntime/`; seen with strace here) to send to
/// Microsoft's collector. The appliance sends nothing anywhere, so the library is loaded
/// only with it set ([`disable_telemetry`]).
const DISABLE_TELEMETRY: &str = "ORT_DISABLE_TELEMETRY";

/// Sets `ORT_DISABLE_TELEMETRY=1` for this process. Call it first thing in `main`, while
/// the process has one thread: changing the environment races with any other thread
/// reading it.
pub fn disable_telemetry() {
    // SAFETY: called at the start of main, before any other thread exists.
    unsafe { std::env::set_var(DISABLE_TELEMETRY, "1") };
}

/// The process's one environment and the library it came from: ONNX Runtime allows one
/// per process, and a loaded library stays loaded.
static RUNTIME: OnceLock<Result<(PathBuf, Environment), String>> = OnceLock::new();

/// Loads the library (once per process) and returns the environment to build sessions in.
fn environment(library: &Path) -> Result<&'static Environment, VisionError> {
    let error = |reason: String| VisionError::Model { path: library.display().to_string(), reason };
    if !library.is_file() {
        return Err(error("ONNX Runtime library missing; run scripts/setup to fetch it".into()));
    }
    if std::env::var(DISABLE_TELEMETRY).as_deref() != Ok("1") {
        return Err(error(format!(
            "not loaded: {DISABLE_TELEMETRY}=1 must be set first (vision::onnx_runtime::disable_telemetry)"
        )));
    }
    let loaded = RUNTIME.get_or_init(|| {
        let environment = ort::init_from(library)
            .map_err(|e| format!("not a usable ONNX Runtime library ({e}); run scripts/setup to fetch it again"))?
            .with_name("idverifd")
            .with_telemetry(false)
            .build()
            .map_err(|e| format!("ONNX Runtime did not start: {e}"))?;
        Ok((library.to_path_buf(), environment))
    });
    match loaded {
        Ok((first, environment)) if same_file(first, library) => Ok(environment),
        Ok((first, _)) => Err(error(format!("ONNX Runtime is already loaded from {} in this process", first.display()))),
        Err(reason) => Err(error(reason.clone())),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || std::fs::canonicalize(a).ok().zip(std::fs::canonicalize(b).ok()).is_some_and(|(a, b)| a == b)
}

/// A session for `model` that runs on the calling thread only: one intra-op and one
/// inter-op thread (no pool to spin on the appliance's two cores, which capture, OCR and
/// the API share), every graph optimisation.
pub fn session(library: &Path, model: &Path) -> Result<Session, VisionError> {
    let environment = environment(library)?;
    let model_error = |e: ort::Error<ort::session::builder::SessionBuilder>| VisionError::Model {
        path: model.display().to_string(),
        reason: e.to_string(),
    };
    Session::builder(environment)
        .map_err(|e| VisionError::Model { path: model.display().to_string(), reason: e.to_string() })?
        .with_intra_threads(1)
        .map_err(model_error)?
        .with_inter_threads(1)
        .map_err(model_error)?
        .with_parallel_execution(false)
        .map_err(model_error)?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(model_error)?
        .commit_from_file(model)
        .map_err(|e| VisionError::Model { path: model.display().to_string(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (The test harness runs tests on threads of its own, so it cannot set the
    /// environment safely; a foreign library found with telemetry off is covered by
    /// `tests/resilience.rs`, which checks the daemon refuses it at start.)
    #[test]
    fn a_missing_library_or_telemetry_left_on_is_an_error_naming_the_file() {
        let dir = std::env::temp_dir().join(format!("idverifd-ort-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let library = dir.join(LIBRARY);
        let err = session(&library, Path::new("model.onnx")).unwrap_err().to_string();
        assert!(err.contains(&library.display().to_string()) && err.contains("scripts/setup"), "{err}");
        if std::env::var(DISABLE_TELEMETRY).is_err() {
            std::fs::write(&library, b"not a shared library").unwrap();
            let err = session(&library, Path::new("model.onnx")).unwrap_err().to_string();
            assert!(err.contains(&library.display().to_string()) && err.contains("ORT_DISABLE_TELEMETRY=1"), "{err}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
