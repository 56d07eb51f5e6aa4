//! The `idverifd` command: a thin clap front over the library. JSON goes to stdout,
//! human text to stderr. Exit codes: 0 success, 1 a check failed, 2 usage or
//! configuration error, 3 internal error.

mod cmds;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use cmds::Failure;
use idverifd::app::{self, RunOptions};

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
        command: cmds::document::DocumentCommand,
    },
    /// Face analysis of still images.
    Face {
        #[command(subcommand)]
        command: cmds::face::FaceCommand,
    },
    /// Passive presentation-attack analysis.
    Liveness {
        #[command(subcommand)]
        command: cmds::liveness::LivenessCommand,
    },
    /// Check a signed result against a JWKS (file or https URL).
    Verify(cmds::verify::VerifyArgs),
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
        command: cmds::keys::KeysCommand,
    },
    /// The hash-chained audit trail: verify it, export it.
    Audit {
        #[command(subcommand)]
        command: cmds::audit::AuditCommand,
    },
    /// Apply retention now (the daemon must be stopped).
    Purge(cmds::purge::PurgeArgs),
    /// The webhook outbox: list deliveries, retry one (the daemon must be stopped).
    Webhooks {
        #[command(subcommand)]
        command: cmds::webhooks::WebhooksCommand,
    },
    /// Print the OpenAPI 3.1 document the daemon serves at /openapi.json.
    Openapi,
    /// Write man pages and bash/zsh/fish completions into DIR (run by scripts/package).
    #[command(hide = true)]
    GenerateDocs { dir: PathBuf },
}







fn main() -> ExitCode {
    idverifd::vision::onnx_runtime::disable_telemetry();
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
        Command::Cameras { json, config } => cmds::cameras::run(json, config),
        Command::Face { command } => cmds::face::run(command),
        Command::Document { command } => cmds::document::run(command),
        Command::Liveness { command } => cmds::liveness::run(command),
        Command::Verify(args) => cmds::verify::run(args),
        Command::Keys { command } => cmds::keys::run(command),
        Command::KioskUrl { config, state_dir } => {
            let (config, _) = app::load_config(&RunOptions { config, state_dir, ..Default::default() })?;
            println!("{}", app::kiosk_url(&config.state_dir())?);
            Ok(0)
        }
        Command::Audit { command } => cmds::audit::run(command),
        Command::Purge(args) => cmds::purge::run(args),
        Command::Webhooks { command } => cmds::webhooks::run(command),
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















