//! The `idverifd` command: a thin clap front over the library. JSON goes to stdout,
//! human text to stderr. Exit codes: 0 success, 1 a check failed, 2 usage or
//! configuration error, 3 internal error.

mod cmds;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use idverifd::app::{self, AppError, RunOptions};
use idverifd::capture::devices::{self, CameraPolicy};
use idverifd::config::{Config, FaceConfig, ModelsConfig};
use idverifd::signing::{DeviceKeys, Jwks, verify_compact};
use idverifd::vision::{self, Embedding, Face, FaceDetector, FaceEmbedder, quality};
use opencv::prelude::MatTraitConst;
use serde_json::json;

#[derive(Parser)]
#[command(name = "idverifd", version, about = "Identity-verification appliance daemon")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (embedded demo default when no config exists).
    Run {
        #[arg(long)]
        config: Option<PathBuf>,
        /// v4l2:/dev/videoN, file:PATH or gst:DESCRIPTION
        #[arg(long)]
        source: Option<String>,
        /// API listener, e.g. 127.0.0.1:8443
        #[arg(long)]
        listen: Option<String>,
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// The kiosk page's listener (loopback), e.g. 127.0.0.1:8080
        #[arg(long)]
        kiosk_listen: Option<String>,
        /// The status page's listener, e.g. 0.0.0.0:8444
        #[arg(long)]
        status_listen: Option<String>,
    },
    /// Load and check a config; print every problem; exit 2 if any.
    Validate {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// List V4L2 cameras and whether the camera policy accepts them.
    Cameras {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Read an ID card (front and/or back, either order) or a passport page.
    Document {
        #[command(subcommand)]
        command: DocumentCommand,
    },
    /// Face analysis of still images.
    Face {
        #[command(subcommand)]
        command: FaceCommand,
    },
    /// Passive presentation-attack analysis.
    Liveness {
        #[command(subcommand)]
        command: LivenessCommand,
    },
    /// Check a signed result against a JWKS (file or https URL).
    Verify {
        #[arg(long)]
        json: bool,
        /// The device's JWKS (file or https URL). Without it, the result's own x5c
        /// chain is verified to the root(s) in --ca.
        #[arg(long, required_unless_present = "ca")]
        jwks: Option<String>,
        /// With --jwks: the certificate (PEM) to trust for an https JWKS URL.
        /// Without: the fleet CA's root certificate(s) the result's chain must reach.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// The compact JWS file, or - for standard input.
        result: String,
    },
    /// Hash a technician password (read from standard input) for status.password_hash.
    HashPassword,
    /// Print this boot's kiosk URL (with its key) for the kiosk browser.
    KioskUrl {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// The device's signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The hash-chained audit trail: verify it, export it.
    Audit {
        #[command(subcommand)]
        command: cmds::audit::AuditCommand,
    },
    /// Apply retention now (the daemon must be stopped).
    Purge(cmds::purge::PurgeArgs),
    /// Print the OpenAPI 3.1 document the daemon serves at /openapi.json.
    Openapi,
    /// Write man pages and bash/zsh/fish completions into DIR (run by scripts/package).
    #[command(hide = true)]
    GenerateDocs { dir: PathBuf },
}

#[derive(Subcommand)]
enum DocumentCommand {
    /// Fields, MRZ checks and every inconsistency found.
    Read {
        #[arg(long)]
        json: bool,
        /// The day against which age and expiry are judged (YYYY-MM-DD; default today).
        #[arg(long)]
        on: Option<String>,
        #[arg(long)]
        models: Option<PathBuf>,
        #[arg(required = true, num_args = 1..=2)]
        images: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum FaceCommand {
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

#[derive(Subcommand)]
enum LivenessCommand {
    /// Scan a recorded clip: signals, score, attack_suspected and attack_kind. Exit 0
    /// when no attack is suspected, 1 when one is, 2 when the clip is unreadable.
    Scan {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        models: Option<PathBuf>,
        /// Frame size the pipeline scales the clip to.
        #[arg(long, default_value_t = 640)]
        width: u32,
        #[arg(long, default_value_t = 480)]
        height: u32,
        /// Print milliseconds per frame of detection and of the liveness signals to stderr.
        #[arg(long)]
        timing: bool,
        /// Analyse every decoded frame, as fast as analysis goes, instead of playing the
        /// clip at its own pace (where a slow machine drops frames): repeatable figures.
        #[arg(long)]
        every_frame: bool,
        video: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Public keys (JWKS), key fingerprint and TLS certificate fingerprint.
    Show {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// New signing key; old public keys stay in the JWKS.
    Rotate {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// PKCS#10 request (PEM) for the current signing key, for the fleet's CA.
    Csr {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// The subject's common name (default: the device id).
        #[arg(long)]
        subject: Option<String>,
    },
    /// Install the CA-issued chain (PEM, leaf first) for the current key; results
    /// carry it as x5c from the next start.
    InstallCert {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        state_dir: Option<PathBuf>,
        chain: PathBuf,
    },
}

/// A command's failure: the exit code and a message for stderr.
struct Failure(u8, String);

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure(e.exit_code(), e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(Failure(code, message)) = init_logging() {
        eprintln!("idverifd: {message}");
        return ExitCode::from(code);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    match dispatch(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(Failure(code, message)) => {
            eprintln!("idverifd: {message}");
            ExitCode::from(code)
        }
    }
}

/// Logs go to stderr: prose by default, or with `IDVERIFD_LOG_FORMAT=json` one JSON
/// object per line so journald, Vector or Loki get the fields, not text to re-parse.
fn init_logging() -> Result<(), Failure> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IDVERIFD_LOG").unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter);
    match std::env::var("IDVERIFD_LOG_FORMAT").as_deref().unwrap_or("") {
        "json" => logs.json().flatten_event(true).init(),
        "" | "text" => logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
        other => return Err(Failure(2, format!("IDVERIFD_LOG_FORMAT={other:?}: use \"text\" or \"json\""))),
    }
    Ok(())
}

fn dispatch(command: Command) -> Result<u8, Failure> {
    match command {
        Command::Run { config, source, listen, state_dir, kiosk_listen, status_listen } => {
            // Large blocks (an Argon2 check's 19 MiB, frame buffers) go straight to
            // mmap and back to the system when freed. With glibc's default sliding
            // threshold every technician login kept its 19 MiB: RSS grew by that per
            // login (measured: +19.0 MiB per login, 6 logins; with this: +0.2 MiB).
            // SAFETY: mallopt only sets an allocator parameter; called before any thread starts.
            unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20) };
            // Few blocking threads: Argon2 checks are gated to a couple at a time, and
            // the unit's TasksMax must hold GStreamer's and OpenCV's threads too.
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .max_blocking_threads(32)
                .build()
                .map_err(|e| Failure(3, e.to_string()))?;
            let options = RunOptions { config, source, listen, state_dir, kiosk_listen, status_listen };
            let shutdown = {
                let _context = runtime.enter();
                shutdown_signal()
            };
            runtime.block_on(app::run(options, shutdown))?;
            Ok(0)
        }
        Command::Validate { config } => {
            let (_, origin) = app::load_config(&RunOptions { config, ..Default::default() })?;
            eprintln!("{}: valid", origin.name());
            Ok(0)
        }
        Command::Cameras { json, config } => cameras(json, config),
        Command::Face { command: FaceCommand::Detect { json, models, image } } => face_detect(json, models, &image),
        Command::Document { command: DocumentCommand::Read { json, on, models, images } } => document_read(json, on, models, &images),
        Command::Face { command: FaceCommand::Compare { json, config, models, threshold, image_a, image_b } } => {
            face_compare(json, config, models, threshold, [&image_a, &image_b])
        }
        Command::Liveness { command: LivenessCommand::Scan { json, models, width, height, timing, every_frame, video } } => {
            liveness_scan(json, models, (width, height), timing, every_frame, &video)
        }
        Command::Verify { json, jwks, ca, result } => verify(json, jwks.as_deref(), ca, &result),
        Command::Keys { command } => keys(command),
        Command::KioskUrl { config, state_dir } => {
            let (config, _) = app::load_config(&RunOptions { config, state_dir, ..Default::default() })?;
            println!("{}", app::kiosk_url(&config.state_dir())?);
            Ok(0)
        }
        Command::Audit { command } => cmds::audit::run(command),
        Command::Purge(args) => cmds::purge::run(args),
        Command::Openapi => {
            println!("{}", idverifd::api::openapi::document_text());
            Ok(0)
        }
        Command::GenerateDocs { dir } => {
            let files = idverifd::cli_docs::write_all(Cli::command(), &dir)
                .map_err(|e| Failure(3, format!("{}: {e}", dir.display())))?;
            eprintln!("{} files written to {}", files.len(), dir.display());
            Ok(0)
        }
        Command::HashPassword => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password).map_err(|e| Failure(2, format!("standard input: {e}")))?;
            let password = password.trim_end_matches(['\r', '\n']);
            if password.len() < 12 {
                return Err(Failure(2, "use a password of at least 12 characters".into()));
            }
            println!("password_hash = \"{}\"", idverifd::config::hash_password(password));
            Ok(0)
        }
    }
}

/// Takes SIGTERM and SIGINT over now, not when first polled: `app::run` polls it only
/// after logging `ready`, and a SIGTERM in between (systemd stopping a unit it just
/// started) would otherwise kill the daemon without a drain.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let signals = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
    async move {
        let (Ok(mut term), Ok(mut int)) = signals else {
            std::future::pending::<()>().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
    }
}

fn print_json(value: &serde_json::Value) {
    use std::io::Write;
    // A reader that stops early (`| head`) is not an internal error: no panic on EPIPE.
    let _ = writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// The config named by `--config`, else the system one if it exists, else none
/// (the tools then use built-in defaults).
fn optional_config(config: Option<PathBuf>) -> Result<Option<Config>, Failure> {
    if config.is_none() && !Path::new(idverifd::config::DEFAULT_CONFIG_PATH).exists() {
        return Ok(None);
    }
    Ok(Some(app::load_config(&RunOptions { config, ..Default::default() })?.0))
}

/// `--models`, else the config's models directory, else the default one.
fn models_dir(models: Option<PathBuf>, config: Option<&Config>) -> PathBuf {
    models.unwrap_or_else(|| config.map_or_else(|| ModelsConfig::default().resolved_dir(), Config::models_dir))
}

fn cameras(json: bool, config: Option<PathBuf>) -> Result<u8, Failure> {
    let policy =
        optional_config(config)?.map_or_else(CameraPolicy::default, |c| CameraPolicy::from_config(&c.camera.policy));
    let list: Vec<_> = devices::list()
        .into_iter()
        .map(|d| match d {
            Ok(info) => {
                let verdict = policy.evaluate(&info);
                json!({"device": info, "accepted": verdict.accepted, "reason": verdict.reason})
            }
            Err(e) => json!({"error": e.to_string()}),
        })
        .collect();
    if json {
        print_json(&json!({"cameras": list}));
    } else if list.is_empty() {
        eprintln!("no V4L2 capture devices found");
    } else {
        for c in &list {
            eprintln!("{}", serde_json::to_string(c).unwrap_or_default());
        }
    }
    Ok(0)
}

fn document_read(json: bool, on: Option<String>, models: Option<PathBuf>, images: &[PathBuf]) -> Result<u8, Failure> {
    use idverifd::identity::{self, Date};
    let on: Date = match on {
        Some(text) => text.parse().map_err(|e| Failure(2, format!("--on {text:?}: {e}; write YYYY-MM-DD")))?,
        None => identity::today_utc(),
    };
    let mut reader = vision::reader::DocumentReader::load(&models_dir(models, None)).map_err(|e| Failure(2, e.to_string()))?;
    let mut sides = Vec::new();
    for path in images {
        let image = vision::read_image(path).map_err(|e| Failure(2, e.to_string()))?;
        let side = reader.read_side(&image, on).map_err(|e| Failure(3, e.to_string()))?;
        if side.shape.is_none() {
            eprintln!("{}: no document found in the image", path.display());
        }
        sides.push(side);
    }
    // A card's front and back are separate images: its printed names are checked
    // against the back's MRZ (and re-read) once both are in.
    let mrz = sides.iter().find_map(|s| s.mrz.clone());
    if let Some(m) = &mrz {
        for side in sides.iter_mut().filter(|s| s.mrz.is_none()) {
            reader.reconcile(side, m).map_err(|e| Failure(3, e.to_string()))?;
        }
    }
    let front = sides.iter().find_map(|s| s.front.clone());
    let read = identity::document::assemble(front.as_ref(), mrz.as_ref(), on);
    if json {
        print_json(&serde_json::to_value(&read).unwrap_or_default());
    } else {
        for p in &read.problems {
            eprintln!("problem: {} — {}", p.code, p.message);
        }
        eprintln!("{}", if read.consistent() { "document read, no problems" } else { "document read with problems" });
    }
    Ok(if read.consistent() { 0 } else { 1 })
}

fn load_detector(models: &Path, face: &FaceConfig) -> Result<FaceDetector, Failure> {
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
    let models = models_dir(models, config.as_ref());
    let mut detector = load_detector(&models, &face)?;
    let mut embedder =
        FaceEmbedder::load(&models.join(vision::FACENET_MODEL)).map_err(|e| Failure(2, e.to_string()))?;
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

fn liveness_scan(json: bool, models: Option<PathBuf>, size: (u32, u32), timing: bool, every_frame: bool, video: &Path) -> Result<u8, Failure> {
    use idverifd::capture::clip;
    use std::time::Instant;
    if !video.is_file() {
        return Err(Failure(2, format!("{}: no such file", video.display())));
    }
    let mut detector = load_detector(&models_dir(models, None), &FaceConfig::default())?;
    let mut analyser = vision::LivenessAnalyser::new();
    let (mut detect_ms, mut liveness_ms) = (0.0f64, 0.0f64);
    let mut failure: Option<vision::VisionError> = None;
    let mut each = |frame: &idverifd::capture::Frame| {
        if failure.is_some() {
            return;
        }
        let step = frame.analyse(|m| {
            let t = Instant::now();
            let faces = detector.detect(m)?;
            let t2 = Instant::now();
            analyser.push(m, Face::most_prominent(&faces))?;
            detect_ms += (t2 - t).as_secs_f64() * 1000.0;
            liveness_ms += t2.elapsed().as_secs_f64() * 1000.0;
            Ok::<_, vision::VisionError>(())
        });
        failure = step.err();
    };
    let counts = if every_frame { clip::decode_every_frame(video, size.0, size.1, &mut each) } else { clip::play_once(video, size.0, size.1, &mut each) }
        .map_err(|e| Failure(2, e.to_string()))?;
    if let Some(e) = failure {
        return Err(Failure(3, e.to_string()));
    }
    let verdict = analyser.verdict();
    if timing {
        let n = counts.analysed.max(1) as f64;
        eprintln!(
            "timing {}x{}: detection {:.2} ms/frame, liveness signals {:.2} ms/frame over {} frames",
            size.0, size.1, detect_ms / n, liveness_ms / n, counts.analysed
        );
    }
    if json {
        let mut value = serde_json::to_value(&verdict).unwrap_or_default();
        value["evidence"] = json!(verdict.evidence_summary());
        value["frames_decoded"] = json!(counts.decoded);
        value["frames_dropped"] = json!(counts.dropped);
        print_json(&value);
    } else {
        eprintln!(
            "{}{}: score {:.2} (threshold {:.2}; {}), {} of {} frames with a face",
            if verdict.attack_suspected { "attack suspected" } else { "no attack suspected" },
            verdict.attack_kind.map(|k| format!(" ({})", k.name())).unwrap_or_default(),
            verdict.score,
            verdict.threshold,
            verdict.evidence_summary(),
            verdict.faces_tracked,
            counts.analysed
        );
    }
    Ok(if verdict.attack_suspected { 1 } else { 0 })
}

fn keys_csr(config: Option<PathBuf>, state_dir: Option<PathBuf>, subject: Option<String>) -> Result<u8, Failure> {
    let (config, _) = app::load_config(&RunOptions { config, state_dir, ..Default::default() })?;
    app::require_state_owner(&config.state_dir())?;
    let keys = DeviceKeys::load_or_create(&config.state_dir().join(app::KEYS_DIR)).map_err(|e| Failure(3, e.to_string()))?;
    let csr = keys.csr(subject.as_deref().unwrap_or(&config.device.id)).map_err(|e| Failure(3, e.to_string()))?;
    print!("{csr}");
    eprintln!("request for key {}; have it signed by the fleet CA, then `idverifd keys install-cert CHAIN.pem`", keys.kid());
    Ok(0)
}

fn keys_install_cert(config: Option<PathBuf>, state_dir: Option<PathBuf>, chain: &std::path::Path) -> Result<u8, Failure> {
    let (config, _) = app::load_config(&RunOptions { config, state_dir, ..Default::default() })?;
    app::require_state_owner(&config.state_dir())?;
    let pem = std::fs::read(chain).map_err(|e| Failure(2, format!("{}: {e}", chain.display())))?;
    let keys = DeviceKeys::install_chain(&config.state_dir().join(app::KEYS_DIR), &pem)
        .map_err(|e| Failure(1, format!("{}: {e}", chain.display())))?;
    print_json(&json!({"kid": keys.kid(), "jwks": keys.jwks()}));
    eprintln!("installed: results carry the chain from the daemon's next start");
    Ok(0)
}

fn verify(json: bool, jwks_source: Option<&str>, ca: Option<PathBuf>, result: &str) -> Result<u8, Failure> {
    let jws = if result == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| Failure(2, format!("standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(result).map_err(|e| Failure(2, format!("{result}: {e}")))?
    };
    let Some(jwks_source) = jwks_source else {
        let ca = ca.expect("clap requires --ca without --jwks");
        let roots = std::fs::read(&ca).map_err(|e| Failure(2, format!("{}: {e}", ca.display())))?;
        return Ok(report_verification(json, idverifd::signing::chain::verify_by_chain(&jws, &roots, idverifd::unix_now() as i64)));
    };
    let jwks_text = if jwks_source.starts_with("https://") || jwks_source.starts_with("http://") {
        fetch_jwks(jwks_source, ca.as_deref())?
    } else {
        std::fs::read_to_string(jwks_source).map_err(|e| Failure(2, format!("{jwks_source}: {e}")))?
    };
    let jwks: Jwks = serde_json::from_str(&jwks_text).map_err(|e| Failure(2, format!("{jwks_source}: not a JWKS: {e}")))?;
    Ok(report_verification(json, verify_compact(&jws, &jwks).map_err(|e| e.to_string())))
}

/// Prints a verification's outcome; exit 0 if valid, 1 if not.
fn report_verification(json: bool, outcome: Result<idverifd::signing::Verified, String>) -> u8 {
    match outcome {
        Ok(v) => {
            if json {
                print_json(&json!({"valid": true, "kid": v.kid, "header": v.header, "payload": v.payload}));
            } else {
                eprintln!("signature valid (kid {})", v.kid);
            }
            0
        }
        Err(e) => {
            if json {
                print_json(&json!({"valid": false, "error": e.to_string()}));
            }
            eprintln!("idverifd: verification failed: {e}");
            1
        }
    }
}

fn fetch_jwks(url: &str, ca: Option<&std::path::Path>) -> Result<String, Failure> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).map_err(|e| Failure(2, format!("{}: {e}", ca.display())))?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| Failure(2, format!("{}: {e}", ca.display())))?;
            roots.add(cert).map_err(|e| Failure(2, format!("{}: {e}", ca.display())))?;
        }
    } else {
        return Err(Failure(2, "--ca FILE is needed to trust the device's certificate for an https JWKS".into()));
    }
    let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let agent = ureq::AgentBuilder::new().tls_config(std::sync::Arc::new(tls)).build();
    let response = agent.get(url).call().map_err(|e| Failure(2, format!("{url}: {e}")))?;
    response.into_string().map_err(|e| Failure(2, format!("{url}: {e}")))
}

fn keys(command: KeysCommand) -> Result<u8, Failure> {
    let (config, state_dir, rotate) = match command {
        KeysCommand::Show { config, state_dir } => (config, state_dir, false),
        KeysCommand::Rotate { config, state_dir } => (config, state_dir, true),
        KeysCommand::Csr { config, state_dir, subject } => return keys_csr(config, state_dir, subject),
        KeysCommand::InstallCert { config, state_dir, chain } => return keys_install_cert(config, state_dir, &chain),
    };
    let (config, _) = app::load_config(&RunOptions { config, state_dir, ..Default::default() })?;
    app::require_state_owner(&config.state_dir())?;
    let dir = config.state_dir().join(app::KEYS_DIR);
    let keys = if rotate { DeviceKeys::rotate(&dir) } else { DeviceKeys::load_or_create(&dir) }
        .map_err(|e| Failure(3, e.to_string()))?;
    let tls = app::server_identity(&config)?;
    print_json(&json!({"kid": keys.kid(), "jwks": keys.jwks(), "tls_certificate_sha256": tls.fingerprint, "tls_certificate": tls.cert_path}));
    if rotate {
        eprintln!("rotated: new key {}; restart the daemon to sign with it", keys.kid());
    }
    Ok(0)
}
