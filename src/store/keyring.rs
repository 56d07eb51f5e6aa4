//! The device key-encryption key (KEK) and the per-session data keys it wraps.
//! The KEK comes from a systemd credential when the service has one
//! (`LoadCredentialEncrypted=`, TPM2-bound where the box has a TPM), else from a
//! 0600 file beside the database. Each session's personal data is sealed with its
//! own random data key; forgetting that key (removing its wrapped copy) is what
//! erases the data, wherever sled's log segments still hold the sealed bytes.

use std::path::{Path, PathBuf};

use super::seal::{self, Key};

/// The credential's name in `$CREDENTIALS_DIRECTORY` (see `systemd/idverifd.service`).
pub const CREDENTIAL_NAME: &str = "idverifd-data-kek";

/// Where the KEK came from; the status page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KekSource {
    /// Decrypted by systemd from an encrypted credential (TPM2 and/or the host key).
    SystemdCredential { path: PathBuf },
    /// A 0600 file in the state directory: a stolen disk carries it along.
    StateFile { path: PathBuf },
}

impl KekSource {
    pub fn describe(&self) -> String {
        match self {
            KekSource::SystemdCredential { path } => {
                format!("systemd credential {} (sealed by systemd-creds; TPM2-bound where the host has one)", path.display())
            }
            KekSource::StateFile { path } => {
                format!("file {} (0600, on the same disk as the data: no protection if the disk is taken)", path.display())
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            KekSource::SystemdCredential { .. } => "systemd_credential",
            KekSource::StateFile { .. } => "state_file",
        }
    }
}

pub struct Kek {
    key: Key,
    pub source: KekSource,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("key-encryption key {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("key-encryption key {path} is not 32 bytes (raw or 64 hex digits); restore it or, on a fresh device, remove it")]
    Malformed { path: String },
}

impl Kek {
    /// The systemd credential if `$CREDENTIALS_DIRECTORY` holds one, else the file
    /// `fallback` (created on first start).
    pub fn load(fallback: &Path) -> Result<Self, KeyringError> {
        if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
            let path = Path::new(&dir).join(CREDENTIAL_NAME);
            if path.exists() {
                let key = read_key(&path)?;
                return Ok(Self { key, source: KekSource::SystemdCredential { path } });
            }
        }
        let key = if fallback.exists() {
            read_key(fallback)?
        } else {
            let key = Key::random();
            crate::fsutil::write_private(fallback, hex::encode(key.bytes()).as_bytes()).map_err(|e| io(fallback, e))?;
            tracing::info!(path = %fallback.display(), "created the data key-encryption key (no systemd credential)");
            key
        };
        Ok(Self { key, source: KekSource::StateFile { path: fallback.to_path_buf() } })
    }

    #[cfg(test)]
    pub fn for_tests() -> Self {
        Self { key: Key::random(), source: KekSource::StateFile { path: PathBuf::from("test") } }
    }

    /// A new session data key, and its copy wrapped for storage at `slot`.
    pub fn new_data_key(&self, slot: &[u8]) -> (Key, Vec<u8>) {
        let key = Key::random();
        let wrapped = seal::seal(&self.key, &wrap_aad(slot), key.bytes());
        (key, wrapped)
    }

    pub fn unwrap_data_key(&self, slot: &[u8], wrapped: &[u8]) -> Result<Key, seal::OpenError> {
        let bytes = seal::open(&self.key, &wrap_aad(slot), wrapped)?;
        Key::from_bytes(&bytes).ok_or(seal::OpenError)
    }

    /// A value that opens only under this KEK: tells at start whether the database
    /// was sealed under another one (a credential swapped, a file restored).
    pub fn check_value(&self) -> Vec<u8> {
        seal::seal(&self.key, CHECK_AAD, CHECK_TEXT)
    }

    pub fn matches(&self, check: &[u8]) -> bool {
        seal::open(&self.key, CHECK_AAD, check).is_ok_and(|t| t == CHECK_TEXT)
    }
}

const CHECK_AAD: &[u8] = b"idverifd kek check";
const CHECK_TEXT: &[u8] = b"idverifd";

fn wrap_aad(slot: &[u8]) -> Vec<u8> {
    [b"datakey/".as_slice(), slot].concat()
}

fn io(path: &Path, e: impl std::fmt::Display) -> KeyringError {
    KeyringError::Io { path: path.display().to_string(), reason: e.to_string() }
}

/// 32 raw bytes (what `systemd-creds` decrypts to when made from /dev/urandom) or
/// 64 hex digits (the fallback file).
fn read_key(path: &Path) -> Result<Key, KeyringError> {
    let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let decoded = hex::decode(text.trim()).ok().filter(|b| b.len() == seal::KEY_LEN);
    decoded
        .as_deref()
        .and_then(Key::from_bytes)
        .or_else(|| Key::from_bytes(&bytes))
        .ok_or_else(|| KeyringError::Malformed { path: path.display().to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_data_key_opens_only_under_its_kek_and_slot() {
        let kek = Kek::for_tests();
        let (key, wrapped) = kek.new_data_key(b"vf_1/personal");
        assert_eq!(kek.unwrap_data_key(b"vf_1/personal", &wrapped).unwrap().bytes(), key.bytes());
        assert!(kek.unwrap_data_key(b"vf_2/personal", &wrapped).is_err());
        assert!(Kek::for_tests().unwrap_data_key(b"vf_1/personal", &wrapped).is_err());
        assert!(kek.matches(&kek.check_value()));
        assert!(!Kek::for_tests().matches(&kek.check_value()));
    }

    #[test]
    fn the_fallback_file_is_made_once_owner_only_and_a_malformed_one_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("idverifd-kek-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("keys/data-kek");
        let first = Kek::load(&file).unwrap();
        assert!(matches!(first.source, KekSource::StateFile { .. }));
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(Kek::load(&file).unwrap().matches(&first.check_value()));
        std::fs::write(&file, b"short").unwrap();
        assert!(matches!(Kek::load(&file), Err(KeyringError::Malformed { .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
