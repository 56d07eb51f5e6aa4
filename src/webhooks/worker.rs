//! The delivery worker: a thread that sends what the outbox says is due, one at a
//! time, oldest first, and writes each attempt's outcome back before the next. It
//! sleeps until the next delivery is due or the engine rings. Blocking HTTP
//! (ureq over rustls) keeps it off the async runtime that serves the API.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use super::{Webhooks, schedule, signature, unix_ms};
use crate::signing::DeviceKeys;
use crate::store::Store;
use crate::store::outbox::{DeliveryMeta, DeliveryState};
use crate::telemetry::Telemetry;

/// The longest sleep between looks at the outbox (a retry asked for by
/// `idverifd webhooks retry` while stopped is due at the next start anyway).
const IDLE_LOOK: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The outcome of one attempt.
enum Attempt {
    Delivered(u16),
    Failed { reason: &'static str, status: Option<u16>, error: String },
}

struct Worker {
    hooks: Arc<Webhooks>,
    store: Arc<Store>,
    keys: Arc<DeviceKeys>,
    telemetry: Arc<Telemetry>,
    agent: ureq::Agent,
}

/// Starts the worker thread; it ends soon after `stop` is set and the bell rung.
pub fn spawn(
    hooks: Arc<Webhooks>,
    store: Arc<Store>,
    keys: Arc<DeviceKeys>,
    telemetry: Arc<Telemetry>,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, String> {
    let agent = agent(hooks.config().ca_file.as_deref())?;
    let worker = Worker { hooks, store, keys, telemetry, agent };
    std::thread::Builder::new().name("webhooks".into()).spawn(move || worker.run(&stop)).map_err(|e| e.to_string())
}

/// The HTTP client: the configured CA (else the public web roots), no redirects
/// (a receiver that moved answers 3xx, which counts as a failure), bounded waits.
fn agent(ca_file: Option<&std::path::Path>) -> Result<ureq::Agent, String> {
    let mut builder = ureq::AgentBuilder::new()
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirects(0)
        .user_agent(&format!("idverifd/{}", crate::SOFTWARE_VERSION));
    if let Some(path) = ca_file {
        let err = |e: &dyn std::fmt::Display| format!("webhooks.ca_file {}: {e}", path.display());
        let pem = std::fs::read(path).map_err(|e| err(&e))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            roots.add(cert.map_err(|e| err(&e))?).map_err(|e| err(&e))?;
        }
        let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        builder = builder.tls_config(Arc::new(tls));
    }
    Ok(builder.build())
}

impl Worker {
    fn run(&self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            let now = unix_ms(SystemTime::now());
            let pending: Vec<DeliveryMeta> = match self.store.deliveries() {
                Ok(all) => all.into_iter().filter(|d| d.state == DeliveryState::Pending).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "webhook outbox unreadable; trying again later");
                    Vec::new()
                }
            };
            let (due, later): (Vec<_>, Vec<_>) = pending.into_iter().partition(|d| d.next_attempt_unix_ms <= now);
            if !due.is_empty() {
                for delivery in due {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    self.attempt(delivery);
                }
                // Each attempt rescheduled its delivery: look again before sleeping.
                continue;
            }
            let next = later.iter().map(|d| d.next_attempt_unix_ms).min();
            let wait = next.map_or(IDLE_LOOK, |at| Duration::from_millis(at.saturating_sub(now))).min(IDLE_LOOK);
            self.hooks.wait(wait);
        }
    }

    /// One attempt at `delivery`, its outcome stored.
    fn attempt(&self, mut delivery: DeliveryMeta) {
        let outcome = match self.store.delivery_body(&delivery.id) {
            Ok(Some(body)) => self.post(&delivery.id, &body),
            Ok(None) => Attempt::Failed { reason: "body_gone", status: None, error: "the signed result was purged".into() },
            Err(e) => {
                // The store is failing: nothing can be recorded; the next look tries again.
                tracing::warn!(webhook = %delivery.id, error = %e, "webhook body unreadable; trying again later");
                return;
            }
        };
        let now = SystemTime::now();
        let now_ms = unix_ms(now);
        delivery.attempts += 1;
        let age = Duration::from_millis(now_ms.saturating_sub(delivery.created_unix_ms));
        let counters = &self.telemetry.webhooks;
        match outcome {
            Attempt::Delivered(status) => {
                delivery.state = DeliveryState::Delivered;
                delivery.last_status = Some(status);
                delivery.last_error = None;
                delivery.delivered_at = Some(humantime::format_rfc3339_millis(now).to_string());
                counters.delivered();
                tracing::info!(
                    webhook = %delivery.id, session = %delivery.session, event = %delivery.event, version = delivery.version,
                    attempts = delivery.attempts, status, after_ms = age.as_millis() as u64, "webhook delivered"
                );
            }
            Attempt::Failed { reason, status, error } => {
                counters.failed(reason);
                delivery.last_status = status;
                delivery.last_error = Some(error.clone());
                // A purged body will never come back: no point waiting three days.
                if reason == "body_gone" || schedule::give_up(age) {
                    delivery.state = DeliveryState::GivenUp;
                    counters.given_up();
                    self.telemetry.record_error("webhooks", format!("webhook {} given up after {} attempts: {error}", delivery.id, delivery.attempts));
                    tracing::error!(webhook = %delivery.id, session = %delivery.session, attempts = delivery.attempts, error = %error, "webhook given up");
                } else {
                    let wait = schedule::next_wait(self.hooks.config().first_retry(), delivery.attempts, schedule::random_jitter());
                    delivery.next_attempt_unix_ms = now_ms + wait.as_millis() as u64;
                    tracing::warn!(
                        webhook = %delivery.id, session = %delivery.session, attempts = delivery.attempts, status, error = %error,
                        retry_in_ms = wait.as_millis() as u64, "webhook not delivered; will retry"
                    );
                }
            }
        }
        if let Err(e) = self.store.update_delivery(&delivery) {
            // Not recorded: the delivery stays due and is attempted again (the receiver
            // drops the repeat by its webhook-id).
            tracing::error!(webhook = %delivery.id, error = %e, "webhook attempt not recorded");
        }
    }

    /// POSTs `body`, signed now.
    fn post(&self, id: &str, body: &[u8]) -> Attempt {
        let timestamp = crate::unix_now();
        let signature = signature::sign(self.keys.signing_key(), id, timestamp, body);
        let sent = self
            .agent
            .post(&self.hooks.config().url)
            .set("content-type", "application/json")
            .set("webhook-id", id)
            .set("webhook-timestamp", &timestamp.to_string())
            .set("webhook-signature", &signature)
            .set("webhook-key-id", self.keys.kid())
            .send_bytes(body);
        match sent {
            Ok(response) if (200..300).contains(&response.status()) => Attempt::Delivered(response.status()),
            Ok(response) => {
                let status = response.status();
                Attempt::Failed { reason: "http_status", status: Some(status), error: format!("answered {status}") }
            }
            Err(ureq::Error::Status(status, _)) => {
                Attempt::Failed { reason: "http_status", status: Some(status), error: format!("answered {status}") }
            }
            // The kind only: the transport's message may quote the URL, which is config, not personal data, but long.
            Err(ureq::Error::Transport(t)) => Attempt::Failed { reason: "transport", status: None, error: t.kind().to_string() },
        }
    }
}
