//! TLS for the API and the status page: the server certificate (configured, or
//! self-signed for two years and renewed before it expires) and client
//! certificates pinned by SHA-256 fingerprint.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::fsutil;

/// A self-signed certificate is valid this long (two years)…
pub const SELF_SIGNED_VALIDITY: Duration = Duration::from_secs(730 * 24 * 3600);
/// …and made again once less than this is left (or more than its validity: an
/// older build made certificates valid until the year 4096).
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The server's certificate chain and key, with where they came from.
pub struct ServerIdentity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub cert_path: PathBuf,
    /// SHA-256 of the leaf certificate's DER, lowercase hex.
    pub fingerprint: String,
}

pub fn sha256_hex(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

fn file_err(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::File { path: path.display().to_string(), reason: e.to_string() }
}

/// Loads the configured pair, or the self-signed pair in `tls_dir` (made on first use).
pub fn load_or_create_identity(
    configured: Option<(&Path, &Path)>,
    tls_dir: &Path,
    names: &[String],
) -> Result<ServerIdentity, TlsError> {
    let (cert_path, key_path) = match configured {
        Some((c, k)) => (c.to_path_buf(), k.to_path_buf()),
        None => {
            let (c, k) = (tls_dir.join("server.crt"), tls_dir.join("server.key"));
            let now = crate::unix_now() as i64;
            let due = match std::fs::read(&c) {
                Ok(pem) if k.exists() => first_certificate_not_after(&pem).is_none_or(|not_after| renewal_due(not_after, now)),
                _ => true,
            };
            if due {
                let (cert_pem, key_pem) = self_signed(names, now)?;
                fsutil::write_private(&k, key_pem.as_bytes()).map_err(|e| file_err(&k, e))?;
                fsutil::write_private(&c, cert_pem.as_bytes()).map_err(|e| file_err(&c, e))?;
                let fingerprint = first_certificate_der(cert_pem.as_bytes()).map(|d| sha256_hex(&d)).unwrap_or_default();
                tracing::info!(path = %c.display(), tls_sha256 = %fingerprint, "made a self-signed TLS certificate, valid two years");
            }
            (c, k)
        }
    };
    let cert_pem = std::fs::read(&cert_path).map_err(|e| file_err(&cert_path, e))?;
    let chain: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(&cert_path, e))?;
    let leaf = chain.first().ok_or_else(|| file_err(&cert_path, "no certificate in the file"))?;
    let fingerprint = sha256_hex(leaf);
    let key_pem = std::fs::read(&key_path).map_err(|e| file_err(&key_path, e))?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| file_err(&key_path, e))?
        .ok_or_else(|| file_err(&key_path, "no private key in the file"))?;
    Ok(ServerIdentity { chain, key, cert_path, fingerprint })
}

/// Whether a self-signed certificate expiring at `not_after` (Unix time) is made again now.
pub fn renewal_due(not_after: i64, now: i64) -> bool {
    not_after - now < RENEW_BEFORE.as_secs() as i64 || not_after - now > SELF_SIGNED_VALIDITY.as_secs() as i64 + 86_400
}

/// A self-signed certificate for `names`, valid from a day before `now` for two years.
fn self_signed(names: &[String], now: i64) -> Result<(String, String), TlsError> {
    let config = |e: rcgen::Error| TlsError::Config(e.to_string());
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(config)?;
    let day = |unix: i64| crate::identity::Date::from_unix_days(unix.div_euclid(86_400)).unwrap_or(crate::identity::Date::UNIX_EPOCH);
    let start = day(now - 86_400);
    params.not_before = rcgen::date_time_ymd(i32::from(start.year()), start.month(), start.day());
    params.not_after = params.not_before + SELF_SIGNED_VALIDITY;
    params.distinguished_name.push(rcgen::DnType::CommonName, "idverifd");
    let key = rcgen::KeyPair::generate().map_err(config)?;
    let cert = params.self_signed(&key).map_err(config)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn first_certificate_der(pem: &[u8]) -> Option<CertificateDer<'static>> {
    rustls_pemfile::certs(&mut &pem[..]).next()?.ok()
}

/// Expiry (Unix time) of the first certificate in a PEM file.
pub fn first_certificate_not_after(pem: &[u8]) -> Option<i64> {
    let der = first_certificate_der(pem)?;
    x509_parser::parse_x509_certificate(&der).ok().map(|(_, cert)| cert.validity().not_after.timestamp())
}

/// Accepts a client certificate only if its fingerprint is pinned. Client
/// certificates are optional at the TLS layer, so bearer-token clients can connect;
/// the API's auth layer then requires one credential or the other.
#[derive(Debug)]
struct PinnedClientCerts {
    pinned: Vec<String>,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for PinnedClientCerts {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let fp = sha256_hex(end_entity);
        if self.pinned.iter().any(|p| p.eq_ignore_ascii_case(&fp)) {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::General("client certificate is not pinned in api.client_cert_sha256".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The server certificate in use by every TLS listener, replaced in place when a
/// self-signed one is renewed (new handshakes get the new one; open ones go on).
#[derive(Debug)]
pub struct LiveCertificate {
    key: RwLock<Arc<CertifiedKey>>,
    fingerprint: RwLock<String>,
    not_after: AtomicI64,
}

fn certified_key(identity: &ServerIdentity) -> Result<Arc<CertifiedKey>, TlsError> {
    let signing = rustls::crypto::ring::sign::any_supported_type(&identity.key).map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(Arc::new(CertifiedKey::new(identity.chain.clone(), signing)))
}

fn leaf_not_after(identity: &ServerIdentity) -> i64 {
    identity
        .chain
        .first()
        .and_then(|der| x509_parser::parse_x509_certificate(der).ok().map(|(_, c)| c.validity().not_after.timestamp()))
        .unwrap_or(0)
}

impl LiveCertificate {
    pub fn new(identity: &ServerIdentity) -> Result<Arc<Self>, TlsError> {
        Ok(Arc::new(Self {
            key: RwLock::new(certified_key(identity)?),
            fingerprint: RwLock::new(identity.fingerprint.clone()),
            not_after: AtomicI64::new(leaf_not_after(identity)),
        }))
    }

    pub fn fingerprint(&self) -> String {
        self.fingerprint.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Expiry of the certificate in use, Unix time.
    pub fn not_after(&self) -> i64 {
        self.not_after.load(Ordering::Relaxed)
    }

    /// Serves `identity` from the next handshake on; true if it is a new certificate.
    pub fn replace(&self, identity: &ServerIdentity) -> Result<bool, TlsError> {
        if identity.fingerprint == self.fingerprint() {
            return Ok(false);
        }
        *self.key.write().unwrap_or_else(|p| p.into_inner()) = certified_key(identity)?;
        *self.fingerprint.write().unwrap_or_else(|p| p.into_inner()) = identity.fingerprint.clone();
        self.not_after.store(leaf_not_after(identity), Ordering::Relaxed);
        Ok(true)
    }
}

impl ResolvesServerCert for LiveCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.key.read().unwrap_or_else(|p| p.into_inner())))
    }
}

pub fn server_config(certificate: Arc<LiveCertificate>, pinned_clients: &[String]) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = if pinned_clients.is_empty() {
        builder.with_no_client_auth()
    } else {
        builder.with_client_cert_verifier(Arc::new(PinnedClientCerts { pinned: pinned_clients.to_vec(), provider }))
    };
    let mut config = builder.with_cert_resolver(certificate);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The verified client certificate of a connection, if it presented one.
#[derive(Debug, Clone)]
pub struct PeerCertificate(pub Option<String>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificates_last_two_years_and_are_renewed_a_month_before() {
        let now = 1_780_000_000;
        let (pem, _) = self_signed(&["localhost".into()], now).unwrap();
        let not_after = first_certificate_not_after(pem.as_bytes()).unwrap();
        let days = (not_after - now) as f64 / 86_400.0;
        assert!((728.0..=730.0).contains(&days), "{days} days");
        assert!(!renewal_due(not_after, now));
        assert!(renewal_due(not_after, not_after - 29 * 86_400), "a month before expiry");
        assert!(renewal_due(not_after, not_after + 1), "expired");
        // The year-4096 certificates of older builds are replaced.
        assert!(renewal_due(67_000_000_000, now));
    }

    #[test]
    fn a_renewed_certificate_replaces_the_live_one_with_its_new_fingerprint() {
        let dir = std::env::temp_dir().join(format!("idverifd-tls-{}", std::process::id()));
        let names = ["localhost".to_string()];
        let first = load_or_create_identity(None, &dir, &names).unwrap();
        let live = LiveCertificate::new(&first).unwrap();
        let again = load_or_create_identity(None, &dir, &names).unwrap();
        assert_eq!(again.fingerprint, first.fingerprint, "not due: the same certificate");
        assert!(!live.replace(&again).unwrap());
        // An expiring certificate on disk is made again at the next check.
        let (pem, key) = self_signed(&names, crate::unix_now() as i64 - (730 - 10) * 86_400).unwrap();
        fsutil::write_private(&dir.join("server.crt"), pem.as_bytes()).unwrap();
        fsutil::write_private(&dir.join("server.key"), key.as_bytes()).unwrap();
        let renewed = load_or_create_identity(None, &dir, &names).unwrap();
        assert!(live.replace(&renewed).unwrap());
        assert_eq!(live.fingerprint(), renewed.fingerprint);
        assert!(live.not_after() - crate::unix_now() as i64 > 700 * 86_400);
        let _ = std::fs::remove_dir_all(dir);
    }
}
