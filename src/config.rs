//! The configuration file. Enters: a TOML file (or the embedded demo default).
//! Leaves: a typed, validated [`Config`] — or the complete list of problems, each
//! naming the file and the field, so an operator fixes everything in one pass.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::capture::SourceSpec;
pub use crate::capture::devices::{CameraPolicyConfig, CameraRule};
use crate::vision::quality::{Oval, QualityThresholds};

mod load;
mod validate;
pub mod webhooks;
pub use load::{ConfigError, ConfigOrigin, ConfigProblem, load, load_file, parse};
pub use webhooks::WebhooksConfig;

/// The embedded default: replayed demo video, self-signed TLS on loopback, local state.
pub const DEMO_CONFIG: &str = include_str!("../config/demo.toml");
/// Where the appliance's own config lives; used when `--config` is not given.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/idverifd/idverifd.toml";
/// Shown as the "file" of problems found in the embedded default.
pub const DEMO_CONFIG_NAME: &str = "<embedded config/demo.toml>";
/// The test camera (`camera.source = "test:…"`) is accepted only when the daemon (or
/// `idverifd validate`) runs with this variable set to `1`, as the test suite starts it.
/// Its results can be `verified` from injected video, so no config can enable it on its
/// own: the unit and the package never set this.
pub const TEST_CAMERA_ENV: &str = "IDVERIFD_TEST_CAMERA";

/// Whether this process was started by the test suite with the test camera allowed.
pub fn test_camera_allowed() -> bool {
    std::env::var(TEST_CAMERA_ENV).is_ok_and(|v| v == "1")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub device: DeviceConfig,
    pub camera: CameraConfig,
    pub api: ApiConfig,
    #[serde(default)]
    pub face: FaceConfig,
    #[serde(default)]
    pub session: SessionConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub models: ModelsConfig,
    #[serde(default)]
    pub kiosk: KioskConfig,
    #[serde(default)]
    pub status: StatusConfig,
    #[serde(default)]
    pub signing: SigningConfig,
    /// Absent: no webhooks (the server polls or follows the event stream).
    #[serde(default)]
    pub webhooks: Option<WebhooksConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SigningConfig {
    /// The JOSE `alg` name of the Ed25519 signatures: "EdDSA" (default, what PyJWT
    /// accepts) or "Ed25519" (RFC 9864's fully specified name).
    #[serde(default)]
    pub alg: crate::signing::JoseAlg,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KioskConfig {
    /// The candidate's screen. Loopback only: it shows the subject's face.
    #[serde(default = "default_kiosk_listen")]
    pub listen: String,
    /// The subject consents on the kiosk before anything is captured. Only
    /// unattended tests with a replayed source may turn this off.
    #[serde(default = "default_true")]
    pub require_consent: bool,
    /// Frames per second of the live preview sent to the kiosk and status page.
    #[serde(default = "default_preview_fps")]
    pub preview_fps: u32,
    /// The exam centre's own wording on the idle and consent screens; the Unified
    /// National Testing's when unset (`config/centre-ncie.toml` is an example).
    #[serde(default)]
    pub centre: CentreWording,
}

impl Default for KioskConfig {
    fn default() -> Self {
        Self {
            listen: default_kiosk_listen(),
            require_consent: true,
            preview_fps: default_preview_fps(),
            centre: CentreWording::default(),
        }
    }
}

/// Texts of the kiosk that name the exam centre and its registration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CentreWording {
    /// The idle screen's heading, e.g. "Registration for the Unified National Testing".
    pub idle_title: Option<Localised>,
    /// The idle screen's line under it.
    pub idle_text: Option<Localised>,
    /// The consent screen's first sentence, naming the purpose.
    pub consent_intro: Option<Localised>,
}

impl CentreWording {
    /// (kiosk text key, texts) for every text the config sets.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, &Localised)> {
        [("idle_title", &self.idle_title), ("idle_text", &self.idle_text), ("consent_intro", &self.consent_intro)]
            .into_iter()
            .filter_map(|(key, texts)| texts.as_ref().map(|t| (key, t)))
    }
}

/// One text in each of the kiosk's languages; all three are required, so no
/// candidate ever sees an empty line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Localised {
    pub kk: String,
    pub ru: String,
    pub en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusConfig {
    /// The technicians' page (HTTPS, same certificate as the API).
    #[serde(default = "default_status_listen")]
    pub listen: String,
    /// Argon2 PHC string of the technician password (`idverifd hash-password`).
    /// Demo mode makes one on first start.
    #[serde(default)]
    pub password_hash: Option<String>,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self { listen: default_status_listen(), password_hash: None }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceConfig {
    /// Identifies the appliance in signed results (e.g. the centre and desk).
    pub id: String,
    /// Keys, TLS material and the database live here. Relative paths are taken
    /// from the working directory.
    pub state_dir: PathBuf,
    /// Demo mode creates a client token and a technician password on first start.
    #[serde(default)]
    pub demo: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CameraConfig {
    /// `v4l2:/dev/videoN`, `file:PATH` or `gst:DESCRIPTION`.
    pub source: SourceSpec,
    #[serde(default = "default_width")]
    pub width: u32,
    #[serde(default = "default_height")]
    pub height: u32,
    /// Requested frame rate for a V4L2 camera (replayed files keep their own).
    #[serde(default = "default_fps")]
    pub fps: u32,
    /// What a V4L2 camera is asked to send, one of `image/jpeg` (MJPEG webcams),
    /// `video/x-raw,format=YUY2` or `video/x-raw,format=NV12`.
    #[serde(default = "default_v4l2_format")]
    pub v4l2_format: String,
    /// A file source starts again at its end (demo mode) instead of counting as lost.
    #[serde(default)]
    pub loop_replay: bool,
    /// Replayed sources (`file:`, `gst:`) inject video by definition: only demos and
    /// tests may use them, and results say so.
    #[serde(default)]
    pub allow_replay: bool,
    /// Frames are taken one by one and the session runs on their own timestamps (no
    /// frame dropped, no wall clock while frames come), so a replay is judged the same
    /// however slowly the machine analyses it. The test camera (`test:`) always runs so;
    /// a `file:`/`gst:` replay only with this set, and only under [`TEST_CAMERA_ENV`].
    #[serde(default)]
    pub lockstep: bool,
    /// No frame for this long during a session counts as a camera loss.
    #[serde(default = "default_frame_timeout", with = "humantime_serde_compat")]
    pub frame_timeout: Duration,
    #[serde(default)]
    pub policy: CameraPolicyConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiConfig {
    pub listen: String,
    /// PEM certificate chain and key; both absent → a self-signed pair in `state_dir/tls`.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// SHA-256 fingerprints (hex) of client certificates allowed in (mTLS pinning).
    #[serde(default)]
    pub client_cert_sha256: Vec<String>,
    /// SHA-256 (hex) of bearer tokens allowed in; the tokens themselves are never stored.
    #[serde(default)]
    pub client_token_sha256: Vec<String>,
    /// SHA-256 (hex) of a bearer token that may read `/metrics` only (a Prometheus
    /// scraper that holds no client credential). Client credentials also work.
    #[serde(default)]
    pub metrics_token_sha256: Option<String>,
    /// Open connections accepted at once on each listener (API, status, kiosk);
    /// more are closed on accept. Keep well under the unit's `LimitNOFILE`.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Open connections from one client address at once.
    #[serde(default = "default_max_connections_per_client")]
    pub max_connections_per_client: usize,
    /// A connection that sends and receives nothing for this long is closed.
    #[serde(default = "default_idle_timeout", with = "humantime_serde_compat")]
    pub idle_timeout: Duration,
    /// Event streams (SSE) and previews open at once, per listener.
    #[serde(default = "default_max_streams")]
    pub max_streams: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FaceConfig {
    #[serde(default)]
    pub oval: Oval,
    #[serde(default)]
    pub gates: QualityThresholds,
    /// Detections below this score are not faces.
    #[serde(default = "default_detection_score")]
    pub detection_score: f32,
    /// Frames are scaled to this width for detection (boxes are mapped back).
    #[serde(default = "default_detection_width")]
    pub detection_width: u32,
    /// Two faces are the same person when the distance between their FaceNet
    /// embeddings is at most this (see `vision::embedding::DEFAULT_MATCH_THRESHOLD`).
    #[serde(default = "default_match_threshold")]
    pub match_threshold: f32,
}

impl Default for FaceConfig {
    fn default() -> Self {
        Self {
            oval: Oval::default(),
            gates: QualityThresholds::default(),
            detection_score: default_detection_score(),
            detection_width: default_detection_width(),
            match_threshold: default_match_threshold(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionConfig {
    /// A subject who does not complete the stages within this time is turned away.
    #[serde(default = "default_subject_timeout", with = "humantime_serde_compat")]
    pub subject_timeout: Duration,
    /// Every gate must hold this long before the countdown starts.
    #[serde(default = "default_settle", with = "humantime_serde_compat")]
    pub settle: Duration,
    #[serde(default = "default_countdown_seconds")]
    pub countdown_seconds: u32,
    /// A gate may fail this long during the countdown (a blink, a detector miss)
    /// before the countdown is abandoned.
    #[serde(default = "default_countdown_tolerance", with = "humantime_serde_compat")]
    pub countdown_tolerance: Duration,
    /// After capture the photo is shown this long with Retake / Continue.
    #[serde(default = "default_review", with = "humantime_serde_compat")]
    pub review: Duration,
    /// How long a lost camera may take to come back before the session ends.
    #[serde(default = "default_camera_grace", with = "humantime_serde_compat")]
    pub camera_grace: Duration,
    /// Active liveness: how many random challenges follow the face photo (0–3).
    #[serde(default = "default_liveness_challenges")]
    pub liveness_challenges: usize,
    /// Time the subject has for each challenge.
    #[serde(default = "default_challenge_timeout", with = "humantime_serde_compat")]
    pub challenge_timeout: Duration,
    /// The kiosk screen flashes a random colour sequence the face must reflect.
    /// Needs the kiosk screen facing the subject.
    #[serde(default = "default_true")]
    pub screen_flash: bool,
    /// Tests only: a fixed seed for the challenge sequences and flash plans, so a test
    /// knows what will be asked. Refused unless camera.allow_replay (in production
    /// the draws come from the OS and nobody can predict them).
    #[serde(default)]
    pub draw_seed: Option<u64>,
    /// After the face, the document stages (ID card front and back, or passport page).
    #[serde(default = "default_true")]
    pub document_stages: bool,
    /// OCR of the held document runs at most this often.
    #[serde(default = "default_document_read_interval", with = "humantime_serde_compat")]
    pub document_read_interval: Duration,
    /// Share of the frame the document must cover before it is read.
    #[serde(default = "default_document_min_area")]
    pub document_min_area: f32,
    /// Variance of the Laplacian of the flattened document.
    #[serde(default = "default_document_min_sharpness")]
    pub document_min_sharpness: f32,
    /// Share of blown-out pixels above which the subject is asked to tilt the card.
    #[serde(default = "default_document_max_glare")]
    pub document_max_glare: f32,
    /// Tests only: judge age and expiry as on this day (YYYY-MM-DD) instead of
    /// the system clock. Accepted only with a replayed source.
    #[serde(default)]
    pub fixed_date: Option<crate::identity::Date>,
}

impl SessionConfig {
    /// The session's "today": the system clock unless a test pins the day.
    pub fn calendar(&self) -> crate::identity::Calendar {
        match self.fixed_date {
            Some(day) => crate::identity::Calendar::Fixed(day),
            None => crate::identity::Calendar::System,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            subject_timeout: default_subject_timeout(),
            settle: default_settle(),
            countdown_seconds: default_countdown_seconds(),
            countdown_tolerance: default_countdown_tolerance(),
            review: default_review(),
            camera_grace: default_camera_grace(),
            liveness_challenges: default_liveness_challenges(),
            screen_flash: true,
            draw_seed: None,
            challenge_timeout: default_challenge_timeout(),
            document_stages: true,
            document_read_interval: default_document_read_interval(),
            document_min_area: default_document_min_area(),
            document_min_sharpness: default_document_min_sharpness(),
            document_max_glare: default_document_max_glare(),
            fixed_date: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoreConfig {
    /// Personal data (evidence images, document fields, the IIN asked for or
    /// typed) is purged this long after the session started.
    #[serde(default = "default_retention", with = "humantime_serde_compat")]
    pub retention: Duration,
    /// The signed result (sealed; it carries the document as read) is purged this
    /// long after the session started; its SHA-256 stays with the record.
    #[serde(default = "default_result_retention", with = "humantime_serde_compat")]
    pub result_retention: Duration,
    /// How often the purge runs.
    #[serde(default = "default_purge_interval", with = "humantime_serde_compat")]
    pub purge_interval: Duration,
    /// How often the audit trail's newest entry is signed (and always at shutdown).
    #[serde(default = "default_checkpoint_interval", with = "humantime_serde_compat")]
    pub audit_checkpoint_interval: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            retention: default_retention(),
            result_retention: default_result_retention(),
            purge_interval: default_purge_interval(),
            audit_checkpoint_interval: default_checkpoint_interval(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelsConfig {
    /// Directory holding the model files and `manifest.toml`. Relative paths are
    /// taken from the working directory, then from the source tree.
    #[serde(default = "default_models_dir")]
    pub dir: PathBuf,
    /// The ONNX Runtime library the face embedding runs on (`libonnxruntime.so.1.31.1`,
    /// checked against the manifest in `dir` like a model). Default: that file in `dir`.
    /// The Debian package keeps it in /usr/lib/idverifd/ (a library is architecture
    /// dependent: not for /usr/share).
    #[serde(default)]
    pub onnxruntime: Option<PathBuf>,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        Self { dir: default_models_dir(), onnxruntime: None }
    }
}

impl ModelsConfig {
    /// The directory: as given if it exists, else relative to the source tree (so
    /// `cargo run` and the tests find the fetched models from any directory).
    pub fn resolved_dir(&self) -> PathBuf {
        let given = absolute(&self.dir);
        if given.exists() || self.dir.is_absolute() {
            return given;
        }
        Path::new(env!("CARGO_MANIFEST_DIR")).join(&self.dir)
    }

    /// The ONNX Runtime library: `onnxruntime` if given, else the file in the models directory.
    pub fn onnxruntime_library(&self) -> PathBuf {
        match &self.onnxruntime {
            Some(path) => absolute(path),
            None => self.resolved_dir().join(crate::vision::onnx_runtime::LIBRARY),
        }
    }
}

pub const DEFAULT_WIDTH: u32 = 1280;
pub const DEFAULT_HEIGHT: u32 = 720;
fn default_width() -> u32 {
    DEFAULT_WIDTH
}
fn default_height() -> u32 {
    DEFAULT_HEIGHT
}
fn default_fps() -> u32 {
    30
}
fn default_v4l2_format() -> String {
    "image/jpeg".into()
}
fn default_max_connections() -> usize {
    512
}
fn default_max_connections_per_client() -> usize {
    32
}
fn default_idle_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_max_streams() -> usize {
    32
}
fn default_frame_timeout() -> Duration {
    Duration::from_secs(2)
}
fn default_detection_score() -> f32 {
    0.7
}
fn default_detection_width() -> u32 {
    640
}
fn default_match_threshold() -> f32 {
    crate::vision::embedding::DEFAULT_MATCH_THRESHOLD
}
fn default_subject_timeout() -> Duration {
    Duration::from_secs(120)
}
fn default_settle() -> Duration {
    Duration::from_millis(500)
}
fn default_countdown_seconds() -> u32 {
    3
}
fn default_countdown_tolerance() -> Duration {
    Duration::from_millis(400)
}
fn default_review() -> Duration {
    Duration::from_secs(15)
}
fn default_liveness_challenges() -> usize {
    2
}
fn default_challenge_timeout() -> Duration {
    Duration::from_secs(6)
}
fn default_document_read_interval() -> Duration {
    Duration::from_millis(500)
}
fn default_document_min_area() -> f32 {
    0.2
}
fn default_document_min_sharpness() -> f32 {
    30.0
}
fn default_document_max_glare() -> f32 {
    0.03
}
fn default_camera_grace() -> Duration {
    Duration::from_secs(10)
}
fn default_retention() -> Duration {
    Duration::from_secs(30 * 24 * 3600)
}
fn default_result_retention() -> Duration {
    Duration::from_secs(90 * 24 * 3600)
}
fn default_checkpoint_interval() -> Duration {
    Duration::from_secs(3600)
}
fn default_purge_interval() -> Duration {
    Duration::from_secs(3600)
}
fn default_true() -> bool {
    true
}
fn default_kiosk_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_status_listen() -> String {
    "0.0.0.0:8444".into()
}
fn default_preview_fps() -> u32 {
    10
}
fn default_models_dir() -> PathBuf {
    PathBuf::from("models")
}

/// Durations are written as humantime strings ("90s", "30d", "500ms").
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!("{e}; write a duration such as \"90s\", \"500ms\" or \"30d\""))
        })
    }

    /// The same for an optional duration.
    pub mod option {
        use std::time::Duration;

        use serde::{Deserializer, Serializer};

        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

impl Config {
    /// Relative state dir resolved against the working directory.
    pub fn state_dir(&self) -> PathBuf {
        absolute(&self.device.state_dir)
    }

    /// A relative replay file (the demo clip) is looked up like the models: from the
    /// working directory, else from the source tree, so `idverifd run` works anywhere.
    pub fn resolve_replay_path(&mut self) {
        if let SourceSpec::File(path) = &self.camera.source {
            let given = Path::new(path);
            let in_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join(given);
            if given.is_relative() && !given.exists() && in_tree.exists() {
                self.camera.source = SourceSpec::File(in_tree.display().to_string());
            }
        }
    }

    /// The models directory; see [`ModelsConfig::resolved_dir`].
    pub fn models_dir(&self) -> PathBuf {
        self.models.resolved_dir()
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    }
}

/// An Argon2id PHC string for a technician password.
pub fn hash_password(password: &str) -> String {
    use argon2::PasswordHasher;
    let salt = argon2::password_hash::SaltString::generate(&mut rand::rngs::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests;
