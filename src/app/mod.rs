//! Wires the stages together. Start order: config → state dir → keys → store
//! (unfinished sessions marked interrupted) → models → TLS → capture → engine →
//! API, then `ready`. Drain order on shutdown is the reverse: stop accepting,
//! interrupt the running session, stop the engine and the camera, flush the store.

pub mod engine;
mod start_clock;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::api::conn::Door;
use crate::api::limits::{ConnectionLimits, StreamSlots};
use crate::api::{self, ApiState, ClientAuth, tls};
use crate::capture::devices::CameraPolicy;
use crate::capture::{self, CameraStatus, CaptureSupervisor, Mailbox, PipelineSettings, SourceSpec};
use crate::config::{self, Config, ConfigError, ConfigOrigin};
use crate::session::result::DeviceInfo;
use crate::session::{Controller, MachineConfig};
use crate::signing::DeviceKeys;
use crate::store::{Actor, Kek, Retention, Store};
use crate::telemetry::Telemetry;
use crate::vision::{self, FaceDetector};

/// File names inside the state directory.
pub const KEYS_DIR: &str = "keys";
pub const TLS_DIR: &str = "tls";
pub const DB_DIR: &str = "db";
/// Remembered model digests, so an unchanged model is not hashed at every start.
pub const MODEL_DIGESTS_FILE: &str = "model-digests.json";
/// The data key-encryption key when no systemd credential provides one.
pub const KEK_FILE: &str = "data-kek";
pub const DEMO_TOKEN_FILE: &str = "demo-client.token";
pub const DEMO_PASSWORD_FILE: &str = "demo-technician.password";
/// This boot's kiosk URL with its key (mode 0600), read by `idverifd kiosk-url`.
pub const KIOSK_URL_FILE: &str = "kiosk.url";
/// Argon2 checks of the technician password running at once (each takes ~19 MiB and a core).
const PASSWORD_CHECKS_AT_ONCE: usize = 2;
/// How often the state directory's size and the free disk space are measured.
const DISK_MEASURE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The operator can fix this in the config or the command line (exit 2).
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Setup(String),
    /// Something failed at run time (exit 3).
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Config(_) | AppError::Setup(_) => 2,
            AppError::Internal(_) => 3,
        }
    }
}

/// Command-line overrides of `idverifd run`.
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    pub config: Option<PathBuf>,
    pub source: Option<String>,
    pub listen: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub kiosk_listen: Option<String>,
    pub status_listen: Option<String>,
}

/// Loads the config and applies the overrides, re-checking the result.
pub fn load_config(options: &RunOptions) -> Result<(Config, ConfigOrigin), AppError> {
    let (mut config, origin) = config::load(options.config.as_deref())?;
    if let Some(source) = &options.source {
        let source: SourceSpec = source.parse().map_err(|e: capture::SourceSpecError| AppError::Setup(format!("--source: {e}")))?;
        // A replay named on the command line is an explicit choice for a demo or test.
        if source.is_replay() && config.device.demo {
            config.camera.allow_replay = true;
        }
        config.camera.source = source;
    }
    if let Some(listen) = &options.listen {
        config.api.listen = listen.clone();
    }
    if let Some(dir) = &options.state_dir {
        config.device.state_dir = dir.clone();
    }
    if let Some(listen) = &options.kiosk_listen {
        config.kiosk.listen = listen.clone();
    }
    if let Some(listen) = &options.status_listen {
        config.status.listen = listen.clone();
    }
    config.resolve_replay_path();
    let problems: Vec<_> = config
        .validate()
        .into_iter()
        .map(|(field, why)| config::ConfigProblem { file: format!("{} (with command-line overrides)", origin.name()), field: field.into(), why })
        .collect();
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems).into());
    }
    Ok((config, origin))
}

/// State-directory commands run as the user that owns the state (the daemon's):
/// run as root they would create keys and certificates the daemon cannot read.
pub fn require_state_owner(state_dir: &Path) -> Result<(), AppError> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(state_dir) else { return Ok(()) };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(AppError::Setup(format!(
            "{} belongs to uid {}, not to this user (uid {me}); run the command as the daemon's user, e.g. `sudo -u idverifd idverifd …`",
            state_dir.display(),
            meta.uid()
        )));
    }
    Ok(())
}

/// This boot's kiosk URL, as the running daemon wrote it.
pub fn kiosk_url(state_dir: &Path) -> Result<String, AppError> {
    require_state_owner(state_dir)?;
    let path = state_dir.join(KIOSK_URL_FILE);
    std::fs::read_to_string(&path).map(|s| s.trim().to_string()).map_err(|e| {
        AppError::Setup(format!("{}: {e}; the daemon writes it when it starts — is it running?", path.display()))
    })
}

/// The store, its personal data sealed under the device KEK (systemd credential,
/// else `keys/data-kek`).
pub fn open_store(state_dir: &Path) -> Result<Store, AppError> {
    let kek = Kek::load(&state_dir.join(KEYS_DIR).join(KEK_FILE)).map_err(|e| AppError::Setup(e.to_string()))?;
    Store::open(&state_dir.join(DB_DIR), kek).map_err(|e| AppError::Setup(e.to_string()))
}

/// Both retention clocks from the config.
pub fn retention(config: &Config) -> Retention {
    Retention { personal: config.store.retention, result: config.store.result_retention }
}

pub fn open_keys(state_dir: &Path) -> Result<DeviceKeys, AppError> {
    DeviceKeys::load_or_create(&state_dir.join(KEYS_DIR)).map_err(|e| AppError::Setup(e.to_string()))
}

/// Names the self-signed certificate is valid for.
fn certificate_names(listen: &SocketAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    if let Ok(host) = std::fs::read_to_string("/etc/hostname") {
        let host = host.trim();
        if !host.is_empty() {
            names.push(host.to_string());
        }
    }
    if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
        names.push(listen.ip().to_string());
    }
    names
}

pub fn server_identity(config: &Config) -> Result<tls::ServerIdentity, AppError> {
    let listen: SocketAddr = config.api.listen.parse().map_err(|_| AppError::Setup("api.listen is not an address".into()))?;
    let configured = config.api.tls_cert.as_deref().zip(config.api.tls_key.as_deref());
    tls::load_or_create_identity(configured, &config.state_dir().join(TLS_DIR), &certificate_names(&listen))
        .map_err(|e| AppError::Setup(e.to_string()))
}

/// Demo mode: a secret made on first start and written for the user (mode 0600);
/// the daemon itself keeps only its hash, in `FILE.hash`.
fn demo_secret(
    state_dir: &Path,
    file: &str,
    hash: impl Fn(&str) -> String,
    valid_hash: impl Fn(&str) -> bool,
) -> Result<(String, PathBuf), AppError> {
    let secret_path = state_dir.join(file);
    let hash_path = state_dir.join(format!("{file}.hash"));
    if let Ok(existing) = std::fs::read_to_string(&hash_path)
        && valid_hash(existing.trim())
    {
        return Ok((existing.trim().to_string(), secret_path));
    }
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let hashed = hash(&secret);
    let io = |p: &Path, e: std::io::Error| AppError::Setup(format!("{}: {e}", p.display()));
    crate::fsutil::write_private(&secret_path, format!("{secret}\n").as_bytes()).map_err(|e| io(&secret_path, e))?;
    crate::fsutil::write_private(&hash_path, hashed.as_bytes()).map_err(|e| io(&hash_path, e))?;
    Ok((hashed, secret_path))
}

/// Today's counts on the status page survive a restart: seeded from the store.
fn seed_today_counts(store: &Store, telemetry: &Telemetry) {
    let today = crate::telemetry::today();
    for record in store.sessions().filter_map(Result::ok) {
        let (day, outcome) = match (&record.outcome, &record.decided_at) {
            (Some(o), Some(at)) => (at.as_str(), o.decision.as_str().to_string()),
            _ if record.status.is_terminal() => {
                (record.created_at.as_str(), serde_json::to_value(record.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())
            }
            _ => continue,
        };
        if day.starts_with(&today) {
            telemetry.count_day(&today, &outcome);
        }
    }
}

/// Runs the daemon until `shutdown` completes.
pub async fn run(options: RunOptions, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), AppError> {
    let mut clock = start_clock::StartClock::new();
    let started = clock.started();
    let (config, origin) = load_config(&options)?;
    let state_dir = config.state_dir();
    crate::fsutil::create_private_dir(&state_dir)
        .map_err(|e| AppError::Setup(format!("state directory {}: {e}", state_dir.display())))?;
    tracing::info!(config = %origin.name(), state_dir = %state_dir.display(), "starting");

    clock.mark("config");
    let keys = Arc::new(open_keys(&state_dir)?.with_alg(config.signing.alg));
    clock.mark("signing_keys");
    let store = Arc::new(open_store(&state_dir)?);
    clock.mark("store_open");
    if let Some(source) = store.kek_source() {
        tracing::info!(kek = source.kind(), "personal data sealed under the {}", source.describe());
    }
    let started_audit = store
        .audit_by(&Actor::System, None, &format!("config_loaded:{}", origin.name()))
        .and_then(|()| store.note_signing_key(keys.kid()));
    started_audit.map_err(|e| AppError::Internal(format!("audit trail: {e}")))?;
    let interrupted = store.interrupt_unfinished().map_err(|e| AppError::Internal(e.to_string()))?;
    let quarantined = store.quarantined().len();
    if quarantined > 0 {
        tracing::warn!(count = quarantined, "records that do not decode are in quarantine (see the status page)");
    }
    if !interrupted.is_empty() {
        tracing::warn!(count = interrupted.len(), "sessions left running by the previous process marked interrupted");
    }
    let webhooks = config.webhooks.clone().map(|w| Arc::new(crate::webhooks::Webhooks::new(w, &config.api.listen)));
    if let Some(webhooks) = &webhooks {
        for record in interrupted.iter().filter_map(|id| store.get_session(id).ok().flatten()) {
            webhooks.enqueue(&store, crate::webhooks::Event::Interrupted, &record);
        }
    }

    clock.mark("store_recovery");
    let models_dir = config.models_dir();
    // ONNX Runtime is checked as a model is: a library that is not the pinned one is
    // refused here, naming the file, not found out at the first face.
    let onnxruntime = config.models.onnxruntime_library();
    let onnxruntime_name = onnxruntime.to_str().ok_or_else(|| {
        AppError::Setup(format!("models.onnxruntime: {} is not a UTF-8 path", onnxruntime.display()))
    })?;
    let models = vision::models::verify_cached(
        &models_dir,
        &[vision::YUNET_MODEL, vision::FACENET_MODEL, vision::ocr::MRZ_MODEL, onnxruntime_name],
        &state_dir.join(MODEL_DIGESTS_FILE),
    )
    .map_err(|e| AppError::Setup(e.to_string()))?;
    clock.mark("model_digests");
    vision::set_opencv_threads().map_err(|e| AppError::Setup(e.to_string()))?;
    // Built beside the rest of the start (Tesseract and the MRZ glyphs, ~0.1 s of CPU).
    let documents = {
        let dir = models_dir.clone();
        std::thread::Builder::new()
            .name("documents-load".into())
            .spawn(move || vision::reader::DocumentReader::load(&dir))
            .map_err(|e| AppError::Internal(e.to_string()))?
    };
    let detector = FaceDetector::load(&models_dir.join(vision::YUNET_MODEL), config.face.detection_width, config.face.detection_score)
        .map_err(|e| AppError::Setup(e.to_string()))?;
    // The face stage follows the face between detections; stills and documents keep `detector`.
    let tracker = vision::FaceTracker::load(&models_dir.join(vision::YUNET_MODEL), config.face.detection_score)
        .map_err(|e| AppError::Setup(e.to_string()))?;
    clock.mark("face_detectors");

    let identity = server_identity(&config)?;
    let live_cert = tls::LiveCertificate::new(&identity).map_err(|e| AppError::Setup(e.to_string()))?;
    let tls_config = tls::server_config(Arc::clone(&live_cert), &config.api.client_cert_sha256)
        .map_err(|e| AppError::Setup(e.to_string()))?;
    let status_tls = tls::server_config(Arc::clone(&live_cert), &[]).map_err(|e| AppError::Setup(e.to_string()))?;
    let mut token_hashes = config.api.client_token_sha256.clone();
    let (demo_token, demo_password) = if config.device.demo {
        let (token_hash, token_path) =
            demo_secret(&state_dir, DEMO_TOKEN_FILE, |t| hex::encode(Sha256::digest(t.as_bytes())), config::is_sha256_hex)?;
        token_hashes.push(token_hash);
        let (password_hash, password_path) = demo_secret(&state_dir, DEMO_PASSWORD_FILE, config::hash_password, |h| {
            argon2::PasswordHash::new(h).is_ok()
        })?;
        (Some(token_path), Some((password_hash, password_path)))
    } else {
        (None, None)
    };
    clock.mark("tls_and_secrets");
    let password_hash = match (&config.status.password_hash, &demo_password) {
        (Some(h), _) => h.clone(),
        (None, Some((h, _))) => h.clone(),
        (None, None) => return Err(AppError::Setup("status.password_hash is missing".into())),
    };

    let source = config.camera.source.clone();
    if matches!(source, SourceSpec::Test(_)) {
        tracing::warn!("test camera: injected video whose results may be verified; for the test suite only");
    }
    // Every frame analysed, on its own clock: only the test camera, or a replay the test
    // suite marks so (config validation refuses it otherwise; see engine/clock.rs).
    let lockstep = matches!(source, SourceSpec::Test(_)) || config.camera.lockstep;
    if lockstep {
        tracing::warn!("lockstep camera: every frame analysed, sessions timed by the frames; for the test suite only");
    }
    let settings = PipelineSettings {
        source: source.clone(),
        width: config.camera.width,
        height: config.camera.height,
        fps: config.camera.fps,
        v4l2_format: config.camera.v4l2_format.clone(),
        loop_replay: config.camera.loop_replay,
        real_time: true,
        lockstep,
    };
    let telemetry = Arc::new(Telemetry::default());
    seed_today_counts(&store, &telemetry);
    // Deliveries left pending by the previous process (even a kill -9) go out now.
    let webhook_stop = Arc::new(AtomicBool::new(false));
    if let Some(webhooks) = &webhooks {
        crate::webhooks::spawn(Arc::clone(webhooks), Arc::clone(&store), Arc::clone(&keys), Arc::clone(&telemetry), Arc::clone(&webhook_stop))
            .map_err(AppError::Setup)?;
        tracing::info!(url = %webhooks.config().url, events = ?webhooks.config().events, "webhooks on");
    }
    let preview = Arc::new(capture::Preview::new(config.kiosk.preview_fps));
    let mailbox = Arc::new(Mailbox::default());
    let camera = Arc::new(CameraStatus::new(&settings));
    let capture = CaptureSupervisor::start(
        settings,
        CameraPolicy::from_config(&config.camera.policy),
        Arc::clone(&mailbox),
        Arc::clone(&camera),
        Arc::clone(&telemetry),
    )
    .map_err(|e| AppError::Setup(e.to_string()))?;
    clock.mark("camera");
    let documents = documents
        .join()
        .map_err(|_| AppError::Internal("loading the document reader panicked".into()))?
        .map_err(|e| AppError::Setup(e.to_string()))?;
    clock.mark("document_reader_joined");
    // FaceNet's ONNX Runtime session builds on a thread of its own from here, after what
    // `ready` needs, until the first captured face waits for it.
    let embedder = vision::FaceEmbedder::load(&models_dir.join(vision::FACENET_MODEL), &onnxruntime)
        .map_err(|e| AppError::Setup(e.to_string()))?;

    let (controller, inbox) = Controller::new(Arc::clone(&store));
    let controller = Arc::new(controller);
    let engine = engine::Engine {
        controller: Arc::clone(&controller),
        store: Arc::clone(&store),
        keys: Arc::clone(&keys),
        telemetry: Arc::clone(&telemetry),
        camera: Arc::clone(&camera),
        mailbox: Arc::clone(&mailbox),
        preview: Arc::clone(&preview),
        analysers: engine::Analysers::opencv(detector, tracker, embedder, documents),
        liveness_challenges: config.session.liveness_challenges,
        screen_flash: config.session.screen_flash,
        draws: match config.session.draw_seed {
            Some(seed) => Box::new(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed)),
            None => Box::new(rand::rngs::OsRng),
        },
        oval: config.face.oval,
        machine_config: machine_config(&config, &source),
        frame_timeout: config.camera.frame_timeout,
        clock: if lockstep { engine::SessionClock::frames(config.camera.fps) } else { engine::SessionClock::Wall },
        calendar: config.session.calendar(),
        device: DeviceInfo {
            id: config.device.id.clone(),
            camera: camera.identity(),
            software: crate::SOFTWARE_VERSION.to_string(),
            models: models.clone(),
        },
        webhooks: webhooks.clone(),
    };
    let engine_models = models;
    let engine_stop = Arc::new(AtomicBool::new(false));
    let engine_thread = {
        let stop = Arc::clone(&engine_stop);
        std::thread::Builder::new()
            .name("engine".into())
            .spawn(move || engine.run(inbox, stop))
            .map_err(|e| AppError::Internal(e.to_string()))?
    };

    let purge = spawn_retention(Arc::clone(&store), retention(&config), config.store.purge_interval);
    let checkpoints = spawn_checkpoints(Arc::clone(&store), Arc::clone(&keys), config.store.audit_checkpoint_interval);
    let recovery = spawn_store_recovery(Arc::clone(&store));

    let bind = |what: &'static str, addr: String| async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| AppError::Setup(format!("{what} {addr}: {e}")))?;
        let local = listener.local_addr().map_err(|e| AppError::Internal(e.to_string()))?;
        Ok::<_, AppError>((listener, local))
    };
    let (api_listener, api_addr) = bind("api.listen", config.api.listen.clone()).await?;
    let (kiosk_listener, kiosk_addr) = bind("kiosk.listen", config.kiosk.listen.clone()).await?;
    let (status_listener, status_addr) = bind("status.listen", config.status.listen.clone()).await?;
    let url = format!("https://{api_addr}");
    if let Some(webhooks) = &webhooks {
        webhooks.set_api_address(api_addr);
    }
    let vitals = Arc::new(api::status::Vitals {
        started,
        camera: Arc::clone(&camera),
        telemetry: Arc::clone(&telemetry),
        controller: Arc::clone(&controller),
        state_dir: state_dir.clone(),
        tls: Arc::clone(&live_cert),
        state_dir_bytes: Default::default(),
        disk_free_bytes: Default::default(),
        store: Arc::clone(&store),
    });
    let disk = spawn_disk_measure(Arc::clone(&vitals));
    let renewal = (config.api.tls_cert.is_none()).then(|| spawn_certificate_renewal(config.clone(), Arc::clone(&live_cert)));
    let api_state = Arc::new(ApiState {
        controller: Arc::clone(&controller),
        jwks: keys.jwks(),
        auth: Arc::new(ClientAuth::from_hex(
            &token_hashes,
            &config.api.client_cert_sha256,
            config.api.metrics_token_sha256.as_deref(),
        )),
        vitals: Arc::clone(&vitals),
        streams: StreamSlots::new(config.api.max_streams),
    });
    let kiosk_door = Arc::new(api::kiosk_door::KioskDoor::new(kiosk_addr));
    let kiosk_url_path = state_dir.join(KIOSK_URL_FILE);
    crate::fsutil::write_private(&kiosk_url_path, format!("{}\n", kiosk_door.url()).as_bytes())
        .map_err(|e| AppError::Setup(format!("{}: {e}", kiosk_url_path.display())))?;
    let kiosk_state = Arc::new(api::kiosk::KioskState {
        controller: Arc::clone(&controller),
        preview: Arc::clone(&preview),
        oval: config.face.oval,
        door: Arc::clone(&kiosk_door),
        streams: StreamSlots::new(config.api.max_streams),
        script: api::kiosk::kiosk_script(&config.kiosk.centre),
    });
    let status_state = Arc::new(api::status::StatusState {
        vitals,
        facts: api::status::DeviceFacts {
            device_id: config.device.id.clone(),
            config: origin.name(),
            models: engine_models,
            kid: keys.kid().to_string(),
            jwks_url: format!("{url}/.well-known/jwks.json"),
        },
        preview,
        technician: Arc::new(
            api::auth::TechnicianAuth::new(password_hash, PASSWORD_CHECKS_AT_ONCE).with_audit(Arc::clone(&controller)),
        ),
        streams: StreamSlots::new(config.api.max_streams),
    });
    let door = |name: &'static str, tls: Option<Arc<rustls::ServerConfig>>| Door {
        name,
        tls: tls.map(tokio_rustls::TlsAcceptor::from),
        limits: Arc::new(ConnectionLimits::new(config.api.max_connections, config.api.max_connections_per_client)),
        idle: config.api.idle_timeout,
    };

    // One stop signal for every listener.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    let kiosk_server = tokio::spawn(api::conn::serve(kiosk_listener, door("kiosk", None), api::kiosk::router(kiosk_state), stopped()));
    let status_server =
        tokio::spawn(api::conn::serve(status_listener, door("status", Some(status_tls)), api::status::router(status_state), stopped()));
    let kiosk_url = format!("http://{kiosk_addr}");
    let status_url = format!("https://{status_addr}");
    clock.mark("listeners");
    tracing::info!(url = %url, kiosk = %kiosk_url, status = %status_url, tls_sha256 = %identity.fingerprint, kid = %keys.kid(), "ready");
    if let (Some(token_path), Some((_, password_path))) = (&demo_token, &demo_password) {
        eprintln!(
            "\nidverifd demo is running (replayed video; results say so).\n\
             kiosk (the candidate's screen): {kiosk_with_key}  (also in {kiosk_file})\n\
             status page: {status_url}  (user: technician, password in {password})\n\
             API: {url}  (client token in {token})\n\
             start a verification:\n  curl --cacert {cert} -H \"Authorization: Bearer $(cat {token})\" \\\n    \
             -H 'content-type: application/json' -d '{{\"reference\":\"demo-1\",\"nonce\":\"'$(date +%s%N)'\",\"language\":\"ru\"}}' \\\n    \
             {url}/v1/verifications\n",
            token = token_path.display(),
            password = password_path.display(),
            kiosk_with_key = kiosk_door.url(),
            kiosk_file = kiosk_url_path.display(),
            cert = identity.cert_path.display(),
        );
    }
    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);

    let serve_api = api::conn::serve(api_listener, door("api", Some(tls_config)), api::router(api_state), stopped());
    tokio::join!(serve_api, async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    kiosk_server.abort();
    let _ = status_server.await;

    let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
    tracing::info!("draining");
    purge.abort();
    disk.abort();
    if let Some(renewal) = renewal {
        renewal.abort();
    }
    checkpoints.abort();
    recovery.abort();
    engine_stop.store(true, Ordering::SeqCst);
    // The webhook worker stops between attempts; what it has not sent stays in the outbox.
    webhook_stop.store(true, Ordering::SeqCst);
    if let Some(webhooks) = &webhooks {
        webhooks.wake();
    }
    mailbox.close();
    let engine_result = tokio::task::spawn_blocking(move || engine_thread.join()).await;
    capture.stop();
    store.flush().map_err(|e| AppError::Internal(e.to_string()))?;
    // The trail is signed at every shutdown, so `audit verify` covers all of it.
    if let Err(e) = store.audit_by(&Actor::System, None, "daemon_stopped").and_then(|()| store.checkpoint(&keys)) {
        tracing::error!(error = %e, "audit checkpoint at shutdown failed");
    }
    if !matches!(engine_result, Ok(Ok(()))) {
        return Err(AppError::Internal("the engine thread panicked".into()));
    }
    tracing::info!("stopped");
    Ok(())
}

/// The session machine's settings from the config; the challenges and the flash plan
/// are left empty, drawn afresh for every session by the engine.
fn machine_config(config: &Config, source: &SourceSpec) -> MachineConfig {
    MachineConfig {
        subject_timeout: config.session.subject_timeout,
        settle: config.session.settle,
        countdown_seconds: config.session.countdown_seconds,
        countdown_tolerance: config.session.countdown_tolerance,
        review: config.session.review,
        camera_grace: config.session.camera_grace,
        detection_score: config.face.detection_score,
        match_threshold: config.face.match_threshold,
        gates: config.face.gates,
        replayed_source: source.results_marked_replayed(),
        require_consent: config.kiosk.require_consent,
        require_guardian_declaration: false,
        // Both drawn afresh for every session by the engine.
        challenges: Vec::new(),
        borderline_challenge: None,
        challenge_timeout: config.session.challenge_timeout,
        flash_plan: Vec::new(),
        flash_step: std::time::Duration::from_millis(500),
        document: config.session.document_stages.then(|| crate::session::machine::DocumentStageConfig {
            kind: Default::default(),
            read_interval: config.session.document_read_interval,
            min_area_share: config.session.document_min_area,
            min_sharpness: config.session.document_min_sharpness,
            max_glare: config.session.document_max_glare,
            stable_reads: 2,
        }),
    }
}

/// How often a self-signed certificate is checked for renewal.
const CERTIFICATE_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Renews the self-signed certificate before it expires, without a restart; the
/// new fingerprint goes to the log and the status page.
fn spawn_certificate_renewal(config: Config, live: Arc<tls::LiveCertificate>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(CERTIFICATE_CHECK_EVERY);
        interval.tick().await;
        loop {
            interval.tick().await;
            let config = config.clone();
            match tokio::task::spawn_blocking(move || server_identity(&config)).await {
                Ok(Ok(identity)) => match live.replace(&identity) {
                    Ok(true) => tracing::warn!(tls_sha256 = %identity.fingerprint, "TLS certificate renewed; clients pinning the old fingerprint must take the new one"),
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "renewed TLS certificate not usable"),
                },
                Ok(Err(e)) => tracing::error!(error = %e, "TLS certificate renewal failed"),
                Err(e) => tracing::error!(error = %e, "TLS certificate renewal task failed"),
            }
        }
    })
}

/// Keeps the disk gauges current, so neither a scrape nor the status page walks the state directory.
fn spawn_disk_measure(vitals: Arc<api::status::Vitals>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(DISK_MEASURE_EVERY);
        loop {
            interval.tick().await;
            let vitals = Arc::clone(&vitals);
            let _ = tokio::task::spawn_blocking(move || vitals.measure_disk()).await;
        }
    })
}

fn spawn_retention(store: Arc<Store>, retention: Retention, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        loop {
            interval.tick().await;
            let store = Arc::clone(&store);
            match tokio::task::spawn_blocking(move || store.purge_expired(&retention, crate::unix_now(), &Actor::System)).await {
                Ok(Ok(r)) if r.personal_data + r.signed_results == 0 => {}
                Ok(Ok(r)) => tracing::info!(personal = r.personal_data, results = r.signed_results, "purged after the retention period"),
                Ok(Err(e)) => tracing::error!(error = %e, "retention purge failed"),
                Err(e) => tracing::error!(error = %e, "retention purge task failed"),
            }
        }
    })
}

/// Signs the audit trail's newest entry at least every `every`.
fn spawn_checkpoints(store: Arc<Store>, keys: Arc<DeviceKeys>, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.tick().await;
        loop {
            interval.tick().await;
            let (store, keys) = (Arc::clone(&store), Arc::clone(&keys));
            match tokio::task::spawn_blocking(move || store.checkpoint(&keys)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "audit checkpoint failed"),
                Err(e) => tracing::error!(error = %e, "audit checkpoint task failed"),
            }
        }
    })
}

/// After a write failure (disk full), tries every few seconds to reopen the
/// database, so the daemon carries on once space returns.
fn spawn_store_recovery(store: Arc<Store>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_secs(2));
        loop {
            interval.tick().await;
            let store = Arc::clone(&store);
            match tokio::task::spawn_blocking(move || store.recover()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "storage not recovered yet"),
                Err(e) => tracing::error!(error = %e, "storage recovery task failed"),
            }
        }
    })
}
