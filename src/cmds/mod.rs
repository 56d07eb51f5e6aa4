//! Subcommands, one module each with its arguments and `run`; `main.rs` dispatches.

pub mod audit;
pub mod cameras;
pub mod document;
pub mod face;
pub mod keys;
pub mod liveness;
pub mod purge;
pub mod state;
pub mod verify;
pub mod webhooks;

use std::path::{Path, PathBuf};

use idverifd::app::{self, AppError, RunOptions};
use idverifd::config::{Config, ModelsConfig};

/// A command's failure: the exit code and a message for stderr.
pub struct Failure(pub u8, pub String);

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure(e.exit_code(), e.to_string())
    }
}

/// Pretty JSON on stdout, one document per command.
pub fn print_json(value: &serde_json::Value) {
    use std::io::Write;
    // A reader that stops early (`| head`) is not an internal error: no panic on EPIPE.
    let _ = writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// The config named by `--config`, else the system one if it exists, else none
/// (the tools then use built-in defaults).
pub fn optional_config(config: Option<PathBuf>) -> Result<Option<Config>, Failure> {
    if config.is_none() && !Path::new(idverifd::config::DEFAULT_CONFIG_PATH).exists() {
        return Ok(None);
    }
    Ok(Some(app::load_config(&RunOptions { config, ..Default::default() })?.0))
}

/// `--models`, else the config's models directory, else the default one.
pub fn models_dir(models: Option<PathBuf>, config: Option<&Config>) -> PathBuf {
    models.unwrap_or_else(|| config.map_or_else(|| ModelsConfig::default().resolved_dir(), Config::models_dir))
}

/// The ONNX Runtime library: in `--models` when given, else where the config says
/// (`models.onnxruntime`, else its models directory), else in the default models directory.
pub fn onnxruntime_library(models: Option<&Path>, config: Option<&Config>) -> PathBuf {
    match (models, config) {
        (Some(dir), _) => dir.join(idverifd::vision::onnx_runtime::LIBRARY),
        (None, Some(config)) => config.models.onnxruntime_library(),
        (None, None) => ModelsConfig::default().onnxruntime_library(),
    }
}
