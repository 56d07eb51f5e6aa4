//! The device key: created on first start (PKCS#8 PEM, mode 0600), rotated on
//! demand. Rotation deletes the old private key but keeps its public JWK in the
//! JWKS, so results signed before the rotation still verify.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::chain;
use super::jws::JoseAlg;
use crate::fsutil;

const CURRENT_KEY: &str = "device-key.pem";
const RETIRED_KEYS: &str = "retired-keys.json";
/// The CA-issued chain (PEM, leaf first) certifying the current key, if installed.
const CHAIN: &str = "device-chain.pem";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("device key {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("device key {path} is not a valid Ed25519 PKCS#8 key; restore it from backup or remove it to make a new one")]
    Corrupt { path: String },
}

/// A public key as a JWK (RFC 8037 OKP).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// The key's certificate chain (standard base64 DER, leaf first), when a CA certified it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default, utoipa::ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl Jwk {
    pub fn ed25519(public: &[u8; 32]) -> Self {
        let x = B64.encode(public);
        Jwk {
            kid: Some(thumbprint(&x)),
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x,
            alg: Some("EdDSA".into()),
            use_: Some("sig".into()),
            x5c: None,
        }
    }
}

/// RFC 7638 thumbprint of an Ed25519 JWK: base64url(SHA-256 of the canonical JSON
/// with members crv, kty, x in lexicographic order). Used as `kid` and fingerprint.
pub fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    B64.encode(Sha256::digest(canonical.as_bytes()))
}

pub struct DeviceKeys {
    current: SigningKey,
    current_jwk: Jwk,
    retired: Vec<Jwk>,
    /// DER certificates certifying `current`, leaf first (empty: none installed).
    chain: Vec<Vec<u8>>,
    /// The JOSE name put in `alg` (JWS headers and JWKS entries).
    alg: JoseAlg,
}

impl DeviceKeys {
    /// Loads the key from `dir`, creating it on first start.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join(CURRENT_KEY);
        let current = if path.exists() { read_key(&path)? } else { create_key(&path)? };
        Self::assemble(dir, current)
    }

    /// Makes a new current key; the old one's public half stays in the JWKS.
    pub fn rotate(dir: &Path) -> Result<Self, KeyError> {
        let old = Self::load_or_create(dir)?;
        let mut retired = old.retired.clone();
        retired.push(old.current_jwk.clone());
        let retired_path = dir.join(RETIRED_KEYS);
        let json = serde_json::to_vec_pretty(&Jwks { keys: retired }).map_err(|e| io_err(&retired_path, e))?;
        // Retired public keys are written before the new private key replaces the old,
        // so a crash in between never loses a key that verifies issued results.
        fsutil::write_private(&retired_path, &json).map_err(|e| io_err(&retired_path, e))?;
        let current = create_key(&dir.join(CURRENT_KEY))?;
        // The installed chain certifies the old key: a new CSR must be certified.
        let chain = dir.join(CHAIN);
        if chain.exists() {
            std::fs::remove_file(&chain).map_err(|e| io_err(&chain, e))?;
        }
        Self::assemble(dir, current)
    }

    /// Stores a CA-issued chain (PEM, leaf first) after checking that its leaf
    /// certifies the current key; results are signed with it from the next start.
    pub fn install_chain(dir: &Path, pem: &[u8]) -> Result<Self, KeyError> {
        let keys = Self::load_or_create(dir)?;
        let path = dir.join(CHAIN);
        let chain = chain::certs_from_pem(pem).map_err(|e| io_err(&path, e))?;
        chain::check_leaf(&chain, &keys.current).map_err(|e| io_err(&path, e))?;
        fsutil::write_private(&path, pem).map_err(|e| io_err(&path, e))?;
        Self::load_or_create(dir)
    }

    /// A PKCS#10 request (PEM) for the current key, for the fleet's CA.
    pub fn csr(&self, common_name: &str) -> Result<String, KeyError> {
        chain::csr(&self.current, common_name).map_err(|e| KeyError::Io { path: "csr".into(), reason: e })
    }

    /// Signs `payload` as a compact JWS with the current key; the header carries
    /// `kid`, `typ` and, when a CA certified the key, its chain as `x5c`.
    pub fn sign(&self, typ: &str, payload: &serde_json::Value) -> String {
        let mut header = serde_json::json!({"alg": self.alg.as_str(), "kid": self.kid(), "typ": typ});
        if !self.chain.is_empty() {
            header["x5c"] = serde_json::json!(chain::x5c(&self.chain));
        }
        super::jws::sign_with_header(&self.current, &header, payload)
    }

    /// Names signatures `alg` in headers and JWKS entries (`signing.alg`).
    pub fn with_alg(mut self, alg: JoseAlg) -> Self {
        self.alg = alg;
        for jwk in std::iter::once(&mut self.current_jwk).chain(self.retired.iter_mut()) {
            jwk.alg = Some(alg.as_str().into());
        }
        self
    }

    /// Whether a CA-issued chain is installed for the current key.
    pub fn has_chain(&self) -> bool {
        !self.chain.is_empty()
    }

    fn assemble(dir: &Path, current: SigningKey) -> Result<Self, KeyError> {
        let retired_path = dir.join(RETIRED_KEYS);
        let retired = if retired_path.exists() {
            let bytes = std::fs::read(&retired_path).map_err(|e| io_err(&retired_path, e))?;
            serde_json::from_slice::<Jwks>(&bytes).map_err(|e| io_err(&retired_path, e))?.keys
        } else {
            Vec::new()
        };
        let mut current_jwk = Jwk::ed25519(current.verifying_key().as_bytes());
        let chain_path = dir.join(CHAIN);
        let chain = match std::fs::read(&chain_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(&chain_path, e)),
            Ok(pem) => match chain::certs_from_pem(&pem).map_err(|e| e.to_string()).and_then(|c| {
                chain::check_leaf(&c, &current).map(|()| c).map_err(|e| e.to_string())
            }) {
                Ok(c) => c,
                Err(why) => {
                    // Signing without x5c is still verifiable with the JWKS; say why it is missing.
                    tracing::warn!(path = %chain_path.display(), %why, "certificate chain ignored");
                    Vec::new()
                }
            },
        };
        if !chain.is_empty() {
            current_jwk.x5c = Some(chain::x5c(&chain));
        }
        Ok(Self { current, current_jwk, retired, chain, alg: JoseAlg::default() })
    }

    /// The `kid` of the current key (its RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        self.current_jwk.kid.as_deref().unwrap_or_default()
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.current
    }

    /// Current key first, then retired ones.
    pub fn jwks(&self) -> Jwks {
        Jwks { keys: std::iter::once(self.current_jwk.clone()).chain(self.retired.iter().cloned()).collect() }
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> KeyError {
    KeyError::Io { path: path.display().to_string(), reason: e.to_string() }
}

fn read_key(path: &PathBuf) -> Result<SigningKey, KeyError> {
    let pem = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|_| KeyError::Corrupt { path: path.display().to_string() })
}

fn create_key(path: &Path) -> Result<SigningKey, KeyError> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| io_err(path, e))?;
    fsutil::write_private(path, pem.as_bytes()).map_err(|e| io_err(path, e))?;
    tracing::info!(path = %path.display(), "created a new device signing key");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8037_thumbprint_example() {
        // RFC 8037 appendix A.3: the thumbprint of its example Ed25519 key.
        assert_eq!(thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn key_persists_and_rotation_keeps_old_public_keys() {
        let dir = std::env::temp_dir().join(format!("idverifd-keys-{}", std::process::id()));
        let first = DeviceKeys::load_or_create(&dir).unwrap();
        let again = DeviceKeys::load_or_create(&dir).unwrap();
        assert_eq!(first.kid(), again.kid());
        let rotated = DeviceKeys::rotate(&dir).unwrap();
        assert_ne!(rotated.kid(), first.kid());
        let kids: Vec<_> = rotated.jwks().keys.into_iter().filter_map(|k| k.kid).collect();
        assert_eq!(kids, vec![rotated.kid().to_string(), first.kid().to_string()]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
