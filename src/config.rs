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

pub mod webhooks;
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
    pub source: String,
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
}

impl Default for ModelsConfig {
    fn default() -> Self {
        Self { dir: default_models_dir() }
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

/// One thing wrong with a config: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub file: String,
    pub field: String,
    pub why: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.field, self.why)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{} problem(s) in the config:\n{}", .0.len(), .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigProblem>),
}

/// Where a config came from, so problems and relative paths can be explained.
#[derive(Debug, Clone)]
pub enum ConfigOrigin {
    Embedded,
    File(PathBuf),
}

impl ConfigOrigin {
    pub fn name(&self) -> String {
        match self {
            ConfigOrigin::Embedded => DEMO_CONFIG_NAME.to_string(),
            ConfigOrigin::File(p) => p.display().to_string(),
        }
    }
}

/// Chooses the config as the contract says: `--config`, else the system file, else
/// the embedded demo default.
pub fn load(explicit: Option<&Path>) -> Result<(Config, ConfigOrigin), ConfigError> {
    match explicit {
        Some(path) => load_file(path).map(|c| (c, ConfigOrigin::File(path.to_path_buf()))),
        None if Path::new(DEFAULT_CONFIG_PATH).exists() => {
            let path = Path::new(DEFAULT_CONFIG_PATH);
            load_file(path).map(|c| (c, ConfigOrigin::File(path.to_path_buf())))
        }
        None => parse(DEMO_CONFIG, DEMO_CONFIG_NAME).map(|c| (c, ConfigOrigin::Embedded)),
    }
}

pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
    parse(&text, &path.display().to_string())
}

/// Parses and validates. Each top-level section is deserialised on its own so that
/// a type error in one section does not hide problems in the others.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
    let mut problems = Vec::new();
    let problem = |field: &str, why: String| ConfigProblem { file: file.to_string(), field: field.to_string(), why };

    let root: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => return Err(ConfigError::Invalid(vec![problem("(syntax)", e.to_string().trim().to_string())])),
    };
    const SECTIONS: [&str; 11] = ["device", "camera", "api", "face", "session", "store", "models", "kiosk", "status", "signing", "webhooks"];
    for key in root.keys() {
        if !SECTIONS.contains(&key.as_str()) {
            problems.push(problem(key, format!("unknown section; known sections are {}", SECTIONS.join(", "))));
        }
    }

    fn section<T: serde::de::DeserializeOwned>(
        root: &toml::Table,
        name: &str,
        required: bool,
        problems: &mut Vec<(String, String)>,
    ) -> Option<T> {
        let value = match root.get(name) {
            Some(v) => v.clone(),
            None if required => {
                problems.push((name.to_string(), "missing section".to_string()));
                return None;
            }
            None => toml::Value::Table(toml::Table::new()),
        };
        let mut unknown = Vec::new();
        let parsed = serde_ignored::deserialize(value, |path| unknown.push(path.to_string()));
        for path in unknown {
            problems.push((format!("{name}.{path}"), "unknown field".to_string()));
        }
        match parsed {
            Ok(v) => Some(v),
            Err(e) => {
                problems.push((name.to_string(), e.to_string().trim().to_string()));
                None
            }
        }
    }

    let mut raw = Vec::new();
    let device = section::<DeviceConfig>(&root, "device", true, &mut raw);
    let camera = section::<CameraConfig>(&root, "camera", true, &mut raw);
    let api = section::<ApiConfig>(&root, "api", true, &mut raw);
    let face = section::<FaceConfig>(&root, "face", false, &mut raw);
    let session = section::<SessionConfig>(&root, "session", false, &mut raw);
    let store = section::<StoreConfig>(&root, "store", false, &mut raw);
    let models = section::<ModelsConfig>(&root, "models", false, &mut raw);
    let kiosk = section::<KioskConfig>(&root, "kiosk", false, &mut raw);
    let status = section::<StatusConfig>(&root, "status", false, &mut raw);
    let signing = section::<SigningConfig>(&root, "signing", false, &mut raw);
    // Optional: only a section that is there is parsed (its url is required).
    let webhooks = root.contains_key("webhooks").then(|| section::<WebhooksConfig>(&root, "webhooks", true, &mut raw));
    problems.extend(raw.into_iter().map(|(field, why)| problem(&field, why)));

    let (
        Some(device),
        Some(camera),
        Some(api),
        Some(face),
        Some(session),
        Some(store),
        Some(models),
        Some(kiosk),
        Some(status),
        Some(signing),
    ) = (device, camera, api, face, session, store, models, kiosk, status, signing)
    else {
        return Err(ConfigError::Invalid(problems));
    };
    let webhooks = match webhooks {
        Some(None) => return Err(ConfigError::Invalid(problems)),
        Some(Some(w)) => Some(w),
        None => None,
    };
    let config = Config { device, camera, api, face, session, store, models, kiosk, status, signing, webhooks };
    problems.extend(config.validate().into_iter().map(|(field, why)| problem(field, why)));
    if problems.is_empty() { Ok(config) } else { Err(ConfigError::Invalid(problems)) }
}

impl Config {
    /// Semantic checks on a well-typed config; returns (field, why) pairs.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        self.problems(test_camera_allowed())
    }

    /// [`Config::validate`] with the test camera allowed or not (see [`TEST_CAMERA_ENV`]).
    fn problems(&self, test_camera_allowed: bool) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.device.id.trim().is_empty() {
            out.push(("device.id", "must not be empty".to_string()));
        }
        match self.camera.source.parse::<SourceSpec>() {
            Err(e) => out.push(("camera.source", e.to_string())),
            Ok(spec) if spec.is_replay() && !self.camera.allow_replay => out.push((
                "camera.source",
                "a replayed source (file:/gst:) injects video; set camera.allow_replay = true only for demos and tests"
                    .to_string(),
            )),
            Ok(SourceSpec::Test(_)) if !test_camera_allowed => out.push((
                "camera.source",
                format!("the test camera (test:) is only for the test suite, which starts the daemon with {TEST_CAMERA_ENV}=1; use v4l2:"),
            )),
            Ok(_) => {}
        }
        if !(160..=3840).contains(&self.camera.width) {
            out.push(("camera.width", format!("{} is outside 160..=3840", self.camera.width)));
        }
        if !(120..=2160).contains(&self.camera.height) {
            out.push(("camera.height", format!("{} is outside 120..=2160", self.camera.height)));
        }
        if !(1..=120).contains(&self.camera.fps) {
            out.push(("camera.fps", format!("{} is outside 1..=120", self.camera.fps)));
        }
        if self.api.listen.parse::<SocketAddr>().is_err() {
            out.push(("api.listen", format!("{:?} is not an address such as 0.0.0.0:8443", self.api.listen)));
        }
        if self.api.tls_cert.is_some() != self.api.tls_key.is_some() {
            out.push(("api.tls_cert", "tls_cert and tls_key go together: give both or neither".to_string()));
        }
        for fp in &self.api.client_cert_sha256 {
            if !is_sha256_hex(fp) {
                out.push(("api.client_cert_sha256", "each entry must be 64 hex digits (SHA-256 of the DER)".into()));
            }
        }
        for h in &self.api.client_token_sha256 {
            if !is_sha256_hex(h) {
                out.push(("api.client_token_sha256", "each entry must be 64 hex digits (SHA-256 of the token)".into()));
            }
        }
        if self.api.metrics_token_sha256.as_deref().is_some_and(|h| !is_sha256_hex(h)) {
            out.push(("api.metrics_token_sha256", "must be 64 hex digits (SHA-256 of the scrape token)".into()));
        }
        if !(8..=4096).contains(&self.api.max_connections) {
            out.push(("api.max_connections", "must be between 8 and 4096 (and under the unit's LimitNOFILE)".into()));
        }
        if !(1..=self.api.max_connections.max(1)).contains(&self.api.max_connections_per_client) {
            out.push(("api.max_connections_per_client", "must be between 1 and api.max_connections".into()));
        }
        if !(Duration::from_secs(5)..=Duration::from_secs(3600)).contains(&self.api.idle_timeout) {
            out.push(("api.idle_timeout", "must be between 5s and 1h".into()));
        }
        if !(1..=1024).contains(&self.api.max_streams) {
            out.push(("api.max_streams", "must be between 1 and 1024".into()));
        }
        if let Err(why) = crate::capture::CameraFormat::parse(&self.camera.v4l2_format) {
            out.push(("camera.v4l2_format", why));
        }
        if !self.device.demo && self.api.client_cert_sha256.is_empty() && self.api.client_token_sha256.is_empty() {
            out.push(("api", "no client credential configured: pin a client certificate or a token hash".into()));
        }
        for (field, why) in self.face.oval.problems().into_iter().chain(self.face.gates.problems()) {
            out.push((field, why));
        }
        if !(0.05..=1.0).contains(&self.face.detection_score) {
            out.push(("face.detection_score", "must be between 0.05 and 1.0".into()));
        }
        if !(160..=1920).contains(&self.face.detection_width) {
            out.push(("face.detection_width", "must be between 160 and 1920".into()));
        }
        if let Some(why) = crate::vision::embedding::match_threshold_problem(self.face.match_threshold) {
            out.push(("face.match_threshold", why));
        }
        if self.session.countdown_seconds == 0 || self.session.countdown_seconds > 10 {
            out.push(("session.countdown_seconds", "must be between 1 and 10".into()));
        }
        if self.session.liveness_challenges > 3 {
            out.push(("session.liveness_challenges", "must be between 0 and 3".into()));
        }
        if self.session.liveness_challenges == 0 && !self.camera.allow_replay {
            out.push(("session.liveness_challenges", "active liveness may only be turned off for replayed demo and test sources".into()));
        }
        if self.session.fixed_date.is_some() && !self.camera.allow_replay {
            out.push(("session.fixed_date", "a fixed date is for tests with a replayed source; remove it to use the system clock".into()));
        }
        if self.session.draw_seed.is_some() && !self.camera.allow_replay {
            out.push(("session.draw_seed", "a fixed seed makes the challenges predictable; only for replayed test sources".into()));
        }
        if self.session.subject_timeout < Duration::from_secs(5) {
            out.push(("session.subject_timeout", "must be at least 5s".into()));
        }
        match self.kiosk.listen.parse::<SocketAddr>() {
            Err(_) => out.push(("kiosk.listen", format!("{:?} is not an address such as 127.0.0.1:8080", self.kiosk.listen))),
            Ok(a) if !a.ip().is_loopback() => {
                out.push(("kiosk.listen", "must be a loopback address: the kiosk page shows the subject's face".into()))
            }
            Ok(_) => {}
        }
        if !self.kiosk.require_consent && !self.camera.allow_replay {
            out.push(("kiosk.require_consent", "consent may only be skipped by unattended tests with a replayed source".into()));
        }
        for (key, texts) in self.kiosk.centre.entries() {
            for (lang, text) in [("kk", &texts.kk), ("ru", &texts.ru), ("en", &texts.en)] {
                if text.trim().is_empty() || text.chars().count() > 400 {
                    out.push(("kiosk.centre", format!("{key}.{lang} must be 1 to 400 characters")));
                }
            }
        }
        if !(1..=30).contains(&self.kiosk.preview_fps) {
            out.push(("kiosk.preview_fps", "must be between 1 and 30".into()));
        }
        if self.status.listen.parse::<SocketAddr>().is_err() {
            out.push(("status.listen", format!("{:?} is not an address such as 0.0.0.0:8444", self.status.listen)));
        }
        match &self.status.password_hash {
            Some(h) if argon2::PasswordHash::new(h).is_err() => {
                out.push(("status.password_hash", "not an Argon2 PHC string; make one with `idverifd hash-password`".into()))
            }
            None if !self.device.demo => {
                out.push(("status.password_hash", "missing: technicians need a password; make one with `idverifd hash-password`".into()))
            }
            _ => {}
        }
        if self.store.purge_interval < Duration::from_secs(1) {
            out.push(("store.purge_interval", "must be at least 1s".into()));
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&self.store.audit_checkpoint_interval) {
            out.push(("store.audit_checkpoint_interval", "must be between 1s and 1h: the trail is signed at least hourly".into()));
        }
        if let Some(webhooks) = &self.webhooks {
            out.extend(webhooks.problems(self.camera.allow_replay));
        }
        out
    }

    /// Relative state dir resolved against the working directory.
    pub fn state_dir(&self) -> PathBuf {
        absolute(&self.device.state_dir)
    }

    /// A relative replay file (the demo clip) is looked up like the models: from the
    /// working directory, else from the source tree, so `idverifd run` works anywhere.
    pub fn resolve_replay_path(&mut self) {
        if let Ok(SourceSpec::File(path)) = self.camera.source.parse::<SourceSpec>() {
            let given = Path::new(&path);
            let in_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join(given);
            if given.is_relative() && !given.exists() && in_tree.exists() {
                self.camera.source = format!("file:{}", in_tree.display());
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
mod tests {
    use super::*;

    #[test]
    fn embedded_demo_and_production_configs_are_valid() {
        parse(DEMO_CONFIG, DEMO_CONFIG_NAME).expect("demo config");
        let production = include_str!("../config/idverifd.toml");
        // The shipped production file only lacks a credential, which the installer adds.
        let with_token = production
            .replace(
                "client_token_sha256 = []",
                "client_token_sha256 = [\"0000000000000000000000000000000000000000000000000000000000000000\"]",
            )
            .replace("# password_hash = \"<the line printed by idverifd hash-password>\"", &format!("password_hash = \"{}\"", hash_password("x")));
        parse(&with_token, "idverifd.toml").expect("production config");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = DEMO_CONFIG
            .replace("listen = \"127.0.0.1:8443\"", "listen = \"localhost\"\ncolour = \"blue\"")
            .replace("countdown_seconds = 3", "countdown_seconds = 0");
        let Err(ConfigError::Invalid(problems)) = parse(&text, "x.toml") else { panic!("must fail") };
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert!(fields.contains(&"api.listen"), "{problems:?}");
        assert!(fields.contains(&"api.colour"), "{problems:?}");
        assert!(fields.contains(&"session.countdown_seconds"), "{problems:?}");
        assert!(problems.iter().all(|p| p.file == "x.toml"));
    }

    #[test]
    fn match_threshold_defaults_and_must_lie_between_0_and_2() {
        let demo = parse(DEMO_CONFIG, DEMO_CONFIG_NAME).unwrap();
        assert_eq!(demo.face.match_threshold, crate::vision::embedding::DEFAULT_MATCH_THRESHOLD);
        let unset = parse(&DEMO_CONFIG.replace("match_threshold = 1.0\n", ""), "x.toml").unwrap();
        assert_eq!(unset.face.match_threshold, crate::vision::embedding::DEFAULT_MATCH_THRESHOLD);
        for bad in ["0.0", "2.0", "-1.0", "nan"] {
            let text = DEMO_CONFIG.replace("match_threshold = 1.0", &format!("match_threshold = {bad}"));
            let Err(ConfigError::Invalid(problems)) = parse(&text, "x.toml") else { panic!("{bad} must fail") };
            assert_eq!(problems[0].field, "face.match_threshold", "{problems:?}");
        }
    }

    #[test]
    fn replay_sources_need_explicit_permission() {
        let text = DEMO_CONFIG.replace("allow_replay = true", "allow_replay = false");
        let Err(ConfigError::Invalid(problems)) = parse(&text, "x.toml") else { panic!("must fail") };
        assert_eq!(problems[0].field, "camera.source");
    }

    #[test]
    fn a_fixed_date_is_only_for_replayed_test_sources() {
        let pinned = DEMO_CONFIG.replace("[session]", "[session]\nfixed_date = \"2026-11-21\"");
        let config = parse(&pinned, "x.toml").expect("a replayed source may pin the day");
        assert_eq!(config.session.calendar().today().to_string(), "2026-11-21");
        let live = pinned.replace("allow_replay = true", "allow_replay = false");
        let Err(ConfigError::Invalid(problems)) = parse(&live, "x.toml") else { panic!("must fail") };
        assert!(problems.iter().any(|p| p.field == "session.fixed_date"), "{problems:?}");
        let bad = DEMO_CONFIG.replace("[session]", "[session]\nfixed_date = \"2026-02-30\"");
        assert!(parse(&bad, "x.toml").is_err(), "not a real day");
    }

    #[test]
    fn the_ncie_example_is_a_valid_centre_wording() {
        let example = include_str!("../config/centre-ncie.toml");
        let config = parse(&format!("{DEMO_CONFIG}\n{example}"), "x.toml").expect("the example parses and validates");
        let title = config.kiosk.centre.idle_title.expect("the example sets the idle title");
        assert!(title.ru.contains("независимой экзаменации"), "{}", title.ru);
        let empty = example.replacen("en = \"", "en = \" \" # ", 1);
        assert!(parse(&format!("{DEMO_CONFIG}\n{empty}"), "x.toml").is_err(), "an empty text is refused");
    }

    #[test]
    fn the_test_camera_needs_the_test_suites_environment_and_allow_replay() {
        let text = DEMO_CONFIG.replace("source = \"file:", "source = \"test:videotestsrc\"\n# was \"file:");
        let config = parse_unchecked(&text);
        assert_eq!(config.camera.source, "test:videotestsrc");
        let fields = |problems: Vec<(&'static str, String)>| problems.into_iter().map(|(f, _)| f).collect::<Vec<_>>();
        assert_eq!(fields(config.problems(false)), ["camera.source"], "a config alone never enables it");
        assert!(config.problems(true).is_empty());
        let not_replay = Config { camera: CameraConfig { allow_replay: false, ..config.camera.clone() }, ..config };
        assert!(fields(not_replay.problems(true)).contains(&"camera.source"), "it injects video: allow_replay too");
    }

    /// The config as typed, before the semantic checks.
    fn parse_unchecked(text: &str) -> Config {
        toml::from_str(text).expect("well-typed")
    }

    #[test]
    fn a_fixed_draw_seed_is_only_for_replayed_test_sources() {
        let seeded = DEMO_CONFIG.replace("[session]", "[session]\ndraw_seed = 7");
        assert_eq!(parse(&seeded, "x.toml").unwrap().session.draw_seed, Some(7));
        let live = seeded.replace("allow_replay = true", "allow_replay = false");
        let Err(ConfigError::Invalid(problems)) = parse(&live, "x.toml") else { panic!("must fail") };
        assert!(problems.iter().any(|p| p.field == "session.draw_seed"), "{problems:?}");
    }
}
