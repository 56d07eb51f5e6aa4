//! Who may come in. Registration servers: a pinned client certificate or a bearer
//! token (stored hashed); the one that got them in names them as a session's owner.
//! The Prometheus scraper: a client credential or its own scrape token.
//! Technicians: user `technician` and the Argon2-hashed password, checked a few at
//! a time with back-off per client address. Refusals read the request body first
//! (see [`super::errors::drain`]) and never log a password or an unknown user name.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::conn::ClientAddr;
use super::errors::{ApiError, refuse};
use super::limits::{CheckTicket, PasswordGate, Refusal};
use super::tls::PeerCertificate;

/// The credentials a registration server may present.
#[derive(Debug, Clone, Default)]
pub struct ClientAuth {
    /// SHA-256 of each accepted bearer token.
    pub token_hashes: Vec<[u8; 32]>,
    /// Connections whose client certificate was pinned at the TLS layer.
    pub pinned_certs: Vec<String>,
    /// SHA-256 of the token that may read `/metrics` only.
    pub metrics_token_hash: Option<[u8; 32]>,
}

/// The authenticated client of a request: `cert:<sha256>` or `token:<sha256 of
/// the token>`. Stored as a session's owner; never a secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

impl Caller {
    /// How the audit trail names this client: the certificate fingerprint, or a
    /// prefix of the token's hash (enough to tell clients apart).
    pub fn actor(&self) -> crate::store::Actor {
        let name = match self.0.strip_prefix("token:") {
            Some(hash) => format!("token:{}", &hash[..hash.len().min(16)]),
            None => self.0.clone(),
        };
        crate::store::Actor::Client(name)
    }
}

fn parse_hash(h: &str) -> Option<[u8; 32]> {
    hex::decode(h).ok().and_then(|b| <[u8; 32]>::try_from(b).ok())
}

fn bearer(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

impl ClientAuth {
    pub fn from_hex(token_hashes: &[String], pinned_certs: &[String], metrics_token: Option<&str>) -> Self {
        Self {
            token_hashes: token_hashes.iter().filter_map(|h| parse_hash(h)).collect(),
            pinned_certs: pinned_certs.iter().map(|c| c.to_ascii_lowercase()).collect(),
            metrics_token_hash: metrics_token.and_then(parse_hash),
        }
    }

    /// The caller a request authenticates as, if any. A pinned certificate wins
    /// over a token, so a client keeps one identity however it authenticates.
    pub fn caller(&self, request: &Request) -> Option<Caller> {
        let cert = request.extensions().get::<PeerCertificate>().and_then(|p| p.0.as_deref());
        if let Some(fp) = cert.filter(|fp| self.pinned_certs.iter().any(|c| c == fp)) {
            return Some(Caller(format!("cert:{fp}")));
        }
        let digest: [u8; 32] = Sha256::digest(bearer(request)?.as_bytes()).into();
        // Compare against every hash without an early exit.
        let known = self.token_hashes.iter().fold(false, |found, h| found | bool::from(h.ct_eq(&digest)));
        known.then(|| Caller(format!("token:{}", hex::encode(digest))))
    }

    fn is_scraper(&self, request: &Request) -> bool {
        let (Some(expected), Some(token)) = (self.metrics_token_hash, bearer(request)) else { return false };
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        bool::from(expected.ct_eq(&digest))
    }
}

fn unauthenticated(message: &str, challenge: &'static str) -> Response {
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
    response
}

/// The registration API's routes: the request carries its [`Caller`] onwards.
pub async fn require_client(State(auth): State<Arc<ClientAuth>>, mut request: Request, next: Next) -> Response {
    match auth.caller(&request) {
        Some(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        None => refuse(request, unauthenticated("present a pinned client certificate or a bearer token", "Bearer")).await,
    }
}

/// `/metrics`: a client credential or the scrape token.
pub async fn require_scraper(State(auth): State<Arc<ClientAuth>>, request: Request, next: Next) -> Response {
    if auth.caller(&request).is_some() || auth.is_scraper(&request) {
        return next.run(request).await;
    }
    refuse(request, unauthenticated("present a client credential or the metrics scrape token", "Bearer")).await
}

/// The only user name of the status page, and the only one ever written to the log.
pub const TECHNICIAN_USER: &str = "technician";

pub struct TechnicianAuth {
    pub gate: PasswordGate,
    pub checker: PasswordChecker,
    /// Where logins are recorded in the audit trail (none in unit tests).
    pub audit: Option<Arc<crate::session::Controller>>,
    /// When a successful login was last written to the audit trail.
    login_audited_unix: std::sync::atomic::AtomicU64,
}

/// A page that polls with the same credentials logs in every few seconds: a
/// success is audited once per this quiet spell; every failure is.
const LOGIN_AUDIT_QUIET_SECS: u64 = 600;

impl TechnicianAuth {
    /// `at_once` checks run at a time, each on one of as many dedicated threads.
    pub fn new(password_hash: String, at_once: usize) -> Self {
        Self {
            gate: PasswordGate::new(at_once),
            checker: PasswordChecker::start(password_hash, at_once),
            audit: None,
            login_audited_unix: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Records logins in the audit trail kept by `controller`.
    pub fn with_audit(mut self, controller: Arc<crate::session::Controller>) -> Self {
        self.audit = Some(controller);
        self
    }

    async fn audit_login(&self, accepted: bool) {
        let Some(controller) = self.audit.clone() else { return };
        let now = crate::unix_now();
        let last = self.login_audited_unix.load(std::sync::atomic::Ordering::Relaxed);
        if accepted && now.saturating_sub(last) < LOGIN_AUDIT_QUIET_SECS {
            return;
        }
        if accepted {
            self.login_audited_unix.store(now, std::sync::atomic::Ordering::Relaxed);
        }
        let action = if accepted { "technician_login_succeeded" } else { "technician_login_failed" };
        let _ = tokio::task::spawn_blocking(move || controller.audit(&crate::store::Actor::Technician, None, action)).await;
    }
}

type Job = (String, tokio::sync::oneshot::Sender<bool>);

/// Argon2 on a few threads of its own: each check takes ~19 MiB, and the memory a
/// thread's allocator keeps afterwards stays bounded by the number of threads
/// (the blocking pool would spread it over dozens).
pub struct PasswordChecker {
    jobs: std::sync::mpsc::SyncSender<Job>,
}

impl PasswordChecker {
    pub fn start(password_hash: String, threads: usize) -> Self {
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(threads);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for n in 0..threads {
            let (queue, hash) = (Arc::clone(&queue), password_hash.clone());
            let worker = move || {
                loop {
                    let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((password, reply)) = job else { return };
                    let _ = reply.send(verify_password(&hash, &password));
                }
            };
            if let Err(e) = std::thread::Builder::new().name(format!("password-{n}")).spawn(worker) {
                tracing::error!(error = %e, "password check thread not started");
            }
        }
        Self { jobs }
    }

    /// Whether `password` is the technician's; false if no thread could take it.
    pub async fn check(&self, password: String) -> bool {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if self.jobs.try_send((password, reply)).is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

/// The user and password of a Basic header.
fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let raw = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())?;
    let pair = String::from_utf8(raw).ok()?;
    let (user, password) = pair.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

pub async fn require_technician(State(auth): State<Arc<TechnicianAuth>>, request: Request, next: Next) -> Response {
    const CHALLENGE: &str = "Basic realm=\"idverifd status\", charset=\"UTF-8\"";
    let Some((user, password)) = basic_credentials(&request) else {
        return refuse(request, unauthenticated("the technician password is needed", CHALLENGE)).await;
    };
    let client = request.extensions().get::<ClientAddr>().map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |a| a.0.ip());
    let ticket = match auth.gate.begin(client).await {
        Ok(ticket) => ticket,
        Err(Refusal::LockedOut(wait)) => {
            let refusal = ApiError::too_many("locked_out", "too many failed logins; wait before trying again", wait.as_secs() + 1);
            return refuse(request, refusal.into_response()).await;
        }
        Err(Refusal::Busy) => {
            let refusal = ApiError::too_many("busy", "a login from this address is already being checked; try again", 1);
            return refuse(request, refusal.into_response()).await;
        }
    };
    // The check runs on a task of its own, so a client that hangs up mid-check
    // still has its failure counted, logged and audited, and its slot freed.
    let judged = tokio::spawn(judge_login(Arc::clone(&auth), ticket, client, user, password));
    if judged.await.unwrap_or(false) {
        return next.run(request).await;
    }
    refuse(request, unauthenticated("the technician password is needed", CHALLENGE)).await
}

/// Checks one login and records its outcome; true if accepted.
async fn judge_login(auth: Arc<TechnicianAuth>, ticket: CheckTicket, client: std::net::IpAddr, user: String, password: String) -> bool {
    // The password is checked even for a wrong user name, so both cost the same.
    let password_ok = auth.checker.check(password).await;
    let accepted = password_ok && user == TECHNICIAN_USER;
    let failures = auth.gate.finish(ticket, accepted);
    auth.audit_login(accepted).await;
    if !accepted {
        let shown_user = if user == TECHNICIAN_USER { TECHNICIAN_USER } else { "(other)" };
        tracing::warn!(%client, user = shown_user, failures, "status page login failed");
    }
    accepted
}

pub fn verify_password(phc: &str, password: &str) -> bool {
    use argon2::PasswordVerifier;
    argon2::PasswordHash::new(phc)
        .is_ok_and(|hash| argon2::Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}
