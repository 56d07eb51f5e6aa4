//! `idverifd keys show|rotate|csr|install-cert`: the device's signing keys.

use std::path::PathBuf;

use idverifd::app::{self, RunOptions};
use idverifd::signing::DeviceKeys;
use serde_json::json;

use super::{Failure, print_json};

#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
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

pub fn run(command: KeysCommand) -> Result<u8, Failure> {
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
