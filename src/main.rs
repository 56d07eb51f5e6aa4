//! The `idverifd` command: a thin clap front over the library. JSON goes to stdout,
//! human text to stderr. Exit codes: 0 success, 1 a check failed, 2 usage or
//! configuration error, 3 internal error.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use idverifd::app::{self, AppError, RunOptions};
use idverifd::capture::devices::{self, CameraPolicy};
use idverifd::signing::{DeviceKeys, Jwks, verify_compact};
use idverifd::vision::{self, FaceDetector, quality};
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
    /// Check a signed result against a JWKS (file or https URL).
    Verify {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        jwks: String,
        /// CA or self-signed certificate (PEM) to trust when --jwks is an https URL.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// The compact JWS file, or - for standard input.
        result: String,
    },
    /// Hash a technician password (read from standard input) for status.password_hash.
    HashPassword,
    /// The device's signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
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
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("IDVERIFD_LOG").unwrap_or_else(|_| "info".into()),
        )
        .init();
    let _ = rustls::crypto::ring::default_provider().install_default();
    match dispatch(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(Failure(code, message)) => {
            eprintln!("idverifd: {message}");
            ExitCode::from(code)
        }
    }
}

fn dispatch(command: Command) -> Result<u8, Failure> {
    match command {
        Command::Run { config, source, listen, state_dir, kiosk_listen, status_listen } => {
            let runtime = tokio::runtime::Runtime::new().map_err(|e| Failure(3, e.to_string()))?;
            let options = RunOptions { config, source, listen, state_dir, kiosk_listen, status_listen };
            runtime.block_on(app::run(options, shutdown_signal()))?;
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
        Command::Verify { json, jwks, ca, result } => verify(json, &jwks, ca, &result),
        Command::Keys { command } => keys(command),
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

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
}

fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

fn cameras(json: bool, config: Option<PathBuf>) -> Result<u8, Failure> {
    let policy = match config {
        Some(_) => CameraPolicy::from_config(&app::load_config(&RunOptions { config, ..Default::default() })?.0.camera.policy),
        None if std::path::Path::new(idverifd::config::DEFAULT_CONFIG_PATH).exists() => {
            CameraPolicy::from_config(&app::load_config(&RunOptions::default())?.0.camera.policy)
        }
        None => CameraPolicy::default(),
    };
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

/// The models directory for the still-image commands: given, else ./models, else the source tree's.
fn models_dir(models: Option<PathBuf>) -> PathBuf {
    let models = models.unwrap_or_else(|| idverifd::config::ModelsConfig::default().dir);
    if models.exists() { models } else { PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models") }
}

fn document_read(json: bool, on: Option<String>, models: Option<PathBuf>, images: &[PathBuf]) -> Result<u8, Failure> {
    use idverifd::identity::{self, Date};
    let on: Date = match on {
        Some(text) => text.parse().map_err(|e| Failure(2, format!("--on {text:?}: {e}; write YYYY-MM-DD")))?,
        None => identity::today_utc(),
    };
    let mut reader = vision::reader::DocumentReader::load(&models_dir(models)).map_err(|e| Failure(2, e.to_string()))?;
    let (mut front, mut mrz) = (None, None);
    for path in images {
        let image = vision::read_image(path).map_err(|e| Failure(2, e.to_string()))?;
        let side = reader.read_side(&image, on).map_err(|e| Failure(3, e.to_string()))?;
        if side.shape.is_none() {
            eprintln!("{}: no document found in the image", path.display());
        }
        front = front.or(side.front);
        mrz = mrz.or(side.mrz);
    }
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

fn face_detect(json: bool, models: Option<PathBuf>, image: &std::path::Path) -> Result<u8, Failure> {
    let models = models_dir(models);
    let defaults = idverifd::config::FaceConfig::default();
    let mut detector = FaceDetector::load(&models.join(vision::YUNET_MODEL), defaults.detection_width, defaults.detection_score)
        .map_err(|e| Failure(2, e.to_string()))?;
    let image_mat = vision::read_image(image).map_err(|e| Failure(2, e.to_string()))?;
    let faces = detector.detect(&image_mat).map_err(|e| Failure(3, e.to_string()))?;
    let mut out = Vec::new();
    for face in &faces {
        let a = quality::assess(&image_mat, std::slice::from_ref(face), &defaults.oval, &defaults.gates)
            .map_err(|e| Failure(3, e.to_string()))?;
        out.push(json!({"box": face.bbox, "landmarks": face.landmarks, "score": face.score, "quality": a.measures}));
    }
    use opencv::prelude::MatTraitConst;
    let value = json!({"image": {"width": image_mat.cols(), "height": image_mat.rows()}, "faces": out});
    if json {
        print_json(&value);
    } else {
        eprintln!("{} face(s)", faces.len());
    }
    Ok(0)
}

fn verify(json: bool, jwks_source: &str, ca: Option<PathBuf>, result: &str) -> Result<u8, Failure> {
    let jws = if result == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| Failure(2, format!("standard input: {e}")))?;
        s
    } else {
        std::fs::read_to_string(result).map_err(|e| Failure(2, format!("{result}: {e}")))?
    };
    let jwks_text = if jwks_source.starts_with("https://") || jwks_source.starts_with("http://") {
        fetch_jwks(jwks_source, ca.as_deref())?
    } else {
        std::fs::read_to_string(jwks_source).map_err(|e| Failure(2, format!("{jwks_source}: {e}")))?
    };
    let jwks: Jwks = serde_json::from_str(&jwks_text).map_err(|e| Failure(2, format!("{jwks_source}: not a JWKS: {e}")))?;
    match verify_compact(&jws, &jwks) {
        Ok(v) => {
            if json {
                print_json(&json!({"valid": true, "kid": v.kid, "header": v.header, "payload": v.payload}));
            } else {
                eprintln!("signature valid (kid {})", v.kid);
            }
            Ok(0)
        }
        Err(e) => {
            if json {
                print_json(&json!({"valid": false, "error": e.to_string()}));
            }
            eprintln!("idverifd: verification failed: {e}");
            Ok(1)
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
    };
    let (config, _) = app::load_config(&RunOptions { config, state_dir, ..Default::default() })?;
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
