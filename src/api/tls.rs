//! TLS for the API: the server certificate (configured, or self-signed on first
//! start), client certificates pinned by SHA-256 fingerprint, and the accept loop
//! that hands each verified connection to axum with the client's identity attached.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::fsutil;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
            if !c.exists() || !k.exists() {
                let made = rcgen::generate_simple_self_signed(names.to_vec()).map_err(|e| TlsError::Config(e.to_string()))?;
                fsutil::write_private(&k, made.key_pair.serialize_pem().as_bytes()).map_err(|e| file_err(&k, e))?;
                fsutil::write_private(&c, made.cert.pem().as_bytes()).map_err(|e| file_err(&c, e))?;
                tracing::info!(path = %c.display(), "created a self-signed TLS certificate");
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

pub fn server_config(identity: &ServerIdentity, pinned_clients: &[String]) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = if pinned_clients.is_empty() {
        builder.with_no_client_auth()
    } else {
        builder.with_client_cert_verifier(Arc::new(PinnedClientCerts { pinned: pinned_clients.to_vec(), provider }))
    };
    let mut config = builder
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The verified client certificate of a connection, if it presented one.
#[derive(Debug, Clone)]
pub struct PeerCertificate(pub Option<String>);

/// Serves `router` over TLS on `listener` until `shutdown` completes.
pub async fn serve(listener: TcpListener, tls: Arc<ServerConfig>, router: Router, shutdown: impl Future<Output = ()>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move { serve_connection(acceptor, stream, peer, router).await });
    }
}

async fn serve_connection(acceptor: tokio_rustls::TlsAcceptor, stream: tokio::net::TcpStream, peer: SocketAddr, router: Router) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    let client_cert = PeerCertificate(tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| sha256_hex(c)));
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(client_cert.clone());
        router.clone().oneshot(request)
    });
    if let Err(e) = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection_with_upgrades(TokioIo::new(tls), service)
        .await
    {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
