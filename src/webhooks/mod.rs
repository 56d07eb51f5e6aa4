//! Stage 7, webhooks (Standard Webhooks). Enters: a session's start, decision or
//! interruption, from the engine. Leaves: a thin, signed POST to the registration
//! server, retried until it answers 2xx. What is owed is written to the store's
//! outbox first (with the decision, in one transaction), so the worker here only
//! ever sends what is durable. Never sends images; ids and outcomes only in logs.

pub mod schedule;
pub mod signature;
mod worker;

use std::net::SocketAddr;
use std::sync::{Condvar, Mutex, RwLock};
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::config::WebhooksConfig;
use crate::record::SessionRecord;
use crate::store::Store;
use crate::store::outbox::{DeliveryMeta, DeliveryState, NewDelivery};
pub use worker::spawn;

/// What a webhook announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Started,
    Decided,
    Interrupted,
}

impl Event {
    pub fn name(self) -> &'static str {
        match self {
            Event::Started => "verification.started",
            Event::Decided => "verification.decided",
            Event::Interrupted => "verification.interrupted",
        }
    }
}

/// The daemon's webhook settings and the worker's wake-up bell.
pub struct Webhooks {
    config: WebhooksConfig,
    /// The base of `result_url`: configured, or the API's own address once bound.
    api_base: RwLock<String>,
    bell: (Mutex<bool>, Condvar),
}

impl Webhooks {
    pub fn new(config: WebhooksConfig, api_listen: &str) -> Self {
        let base = config.api_base_url.clone().unwrap_or_else(|| format!("https://{api_listen}"));
        Self { config, api_base: RwLock::new(base.trim_end_matches('/').to_string()), bell: (Mutex::new(false), Condvar::new()) }
    }

    pub fn config(&self) -> &WebhooksConfig {
        &self.config
    }

    /// The API's bound address (a configured base URL wins).
    pub fn set_api_address(&self, addr: SocketAddr) {
        if self.config.api_base_url.is_none() {
            *self.api_base.write().unwrap_or_else(|p| p.into_inner()) = format!("https://{addr}");
        }
    }

    /// The delivery owed for `event` of `record` (with the signed result when there
    /// is one), or `None` if the server did not ask for that event.
    pub fn delivery(&self, event: Event, record: &SessionRecord, jws: Option<&str>) -> Option<NewDelivery> {
        if !self.config.wants(event.name()) {
            return None;
        }
        let version = if jws.is_some() { record.result_version.max(1) } else { 0 };
        let now = std::time::SystemTime::now();
        let base = self.api_base.read().unwrap_or_else(|p| p.into_inner()).clone();
        let body = json!({
            "type": event.name(),
            "timestamp": humantime::format_rfc3339_millis(now).to_string(),
            "data": {
                "id": record.id,
                "reference": record.request.reference,
                "decision": jws.and(record.outcome.as_ref().map(|o| o.decision)),
                "version": jws.map(|_| version),
                "result_url": jws.map(|_| format!("{base}/v1/verifications/{}/result", record.id)),
                "result": jws,
            },
        });
        let now_ms = unix_ms(now);
        Some(NewDelivery {
            meta: DeliveryMeta {
                id: webhook_id(&record.id, event, version),
                session: record.id.clone(),
                event: event.name().to_string(),
                version,
                created_at: humantime::format_rfc3339_seconds(now).to_string(),
                created_unix_ms: now_ms,
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_unix_ms: now_ms,
                last_status: None,
                last_error: None,
                delivered_at: None,
            },
            body: serde_json::to_vec(&body).unwrap_or_default(),
            personal: jws.is_some(),
        })
    }

    /// Queues an event that is stored on its own (start, interruption) and wakes
    /// the worker; a failure is logged (the session's own record is unaffected).
    pub fn enqueue(&self, store: &Store, event: Event, record: &SessionRecord) {
        let Some(delivery) = self.delivery(event, record, None) else { return };
        match store.enqueue_delivery(&delivery) {
            Ok(()) => self.wake(),
            Err(e) => tracing::error!(session = %record.id, event = event.name(), error = %e, "webhook could not be queued"),
        }
    }

    /// Tells the worker something is due now.
    pub fn wake(&self) {
        *self.bell.0.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.bell.1.notify_all();
    }

    /// Sleeps until woken or `limit` passes.
    fn wait(&self, limit: Duration) {
        let rung = self.bell.0.lock().unwrap_or_else(|p| p.into_inner());
        let (mut rung, _) = self.bell.1.wait_timeout_while(rung, limit, |rung| !*rung).unwrap_or_else(|p| p.into_inner());
        *rung = false;
    }
}

/// The `webhook-id`: one per session, event and result version, the same on
/// every attempt, so the receiver can drop repeats.
pub fn webhook_id(session: &str, event: Event, version: u32) -> String {
    let digest = Sha256::digest(format!("{session}/{}/{version}", event.name()).as_bytes());
    format!("msg_{}", &hex::encode(digest)[..26])
}

pub fn unix_ms(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Decision, Outcome, StartRequest};

    fn hooks(events: &[&str]) -> Webhooks {
        let config = WebhooksConfig {
            url: "http://127.0.0.1:9/hook".into(),
            ca_file: None,
            events: events.iter().map(|e| e.to_string()).collect(),
            api_base_url: None,
            first_retry: None,
        };
        Webhooks::new(config, "0.0.0.0:8443")
    }

    fn decided(version: u32) -> SessionRecord {
        let request: StartRequest =
            serde_json::from_value(json!({"reference": "reg-7", "nonce": "n-1", "language": "kk"})).unwrap();
        let mut record = SessionRecord::new("vf_1".into(), request);
        record.outcome = Some(Outcome { decision: Decision::PendingGuardian, reasons: vec![], checks: vec![] });
        record.result_version = version;
        record
    }

    #[test]
    fn the_body_is_thin_and_a_new_result_version_is_a_new_webhook() {
        let hooks = hooks(&["verification.decided"]);
        hooks.set_api_address("192.0.2.4:8443".parse().unwrap());
        let first = hooks.delivery(Event::Decided, &decided(1), Some("h.p.s")).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
        assert_eq!(body["type"], "verification.decided");
        let data = &body["data"];
        assert_eq!((data["id"].as_str(), data["reference"].as_str(), data["version"].as_u64()), (Some("vf_1"), Some("reg-7"), Some(1)));
        assert_eq!(data["decision"], "pending_guardian");
        assert_eq!(data["result"], "h.p.s");
        assert_eq!(data["result_url"], "https://192.0.2.4:8443/v1/verifications/vf_1/result");
        let mut keys: Vec<_> = data.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["decision", "id", "reference", "result", "result_url", "version"]);
        assert!(first.personal, "a body with the signed result is sealed at rest");

        let again = hooks.delivery(Event::Decided, &decided(1), Some("h.p.s")).unwrap();
        assert_eq!(again.meta.id, first.meta.id, "the same announcement keeps its id");
        let second = hooks.delivery(Event::Decided, &decided(2), Some("h2.p2.s2")).unwrap();
        assert_ne!(second.meta.id, first.meta.id, "a re-signed result is announced anew");
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&second.body).unwrap()["data"]["version"], 2);
    }

    #[test]
    fn only_the_events_asked_for_are_sent() {
        let hooks = hooks(&["verification.decided"]);
        assert!(hooks.delivery(Event::Started, &decided(0), None).is_none());
        let all = self::hooks(&["verification.decided", "verification.started"]);
        let started = all.delivery(Event::Started, &decided(0), None).unwrap();
        assert!(!started.personal);
        let body: serde_json::Value = serde_json::from_slice(&started.body).unwrap();
        assert!(body["data"]["result"].is_null() && body["data"]["decision"].is_null());
    }
}
