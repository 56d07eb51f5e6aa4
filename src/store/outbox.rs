//! The webhook outbox: one entry per notification owed to the registration server.
//! An entry is written in the same transaction as what it announces (a decision,
//! see `Store::put_decided`), so a crash between deciding and delivering loses
//! nothing. Its state (attempts, next try, last answer) is plain; its body is
//! sealed under the session's result key when it carries the signed result (which
//! holds personal data), so purging the result makes the body noise too.

use serde::{Deserialize, Serialize};

use super::{Actor, KeyPurpose, Store, StoreError, Tx, TxResult};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    GivenUp,
}

/// A delivery's state: ids, counts and times only, never personal data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeliveryMeta {
    /// The `webhook-id`: the same on every attempt (the receiver's idempotency key).
    pub id: String,
    pub session: String,
    /// `verification.decided`, `verification.started`, `verification.interrupted`.
    pub event: String,
    /// The result's version it announces (0 for events without a result).
    pub version: u32,
    pub created_at: String,
    pub created_unix_ms: u64,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_unix_ms: u64,
    /// The receiver's last HTTP status, or why no answer came (`transport`, `body_gone`).
    #[serde(default)]
    pub last_status: Option<u16>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub delivered_at: Option<String>,
}

/// A new delivery: its state and the exact body to send.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub meta: DeliveryMeta,
    pub body: Vec<u8>,
    /// The body carries the signed result: sealed at rest.
    pub personal: bool,
}

/// Counts for the status page.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OutboxCounts {
    pub pending: usize,
    pub delivered: usize,
    pub given_up: usize,
}

/// A stored body is tagged: plain (no personal data) or sealed.
const PLAIN: u8 = 0;
const SEALED: u8 = 1;

fn body_aad(id: &str) -> Vec<u8> {
    format!("{}/{id}", super::db::OUTBOX_BODIES).into_bytes()
}

impl Store {
    /// Writes a delivery inside a transaction that also stores what it announces.
    pub(super) fn put_delivery_tx(&self, tx: &Tx, delivery: &NewDelivery) -> TxResult<()> {
        let meta = &delivery.meta;
        let stored = if delivery.personal {
            let key = self.data_key_tx(tx, &meta.session, KeyPurpose::Result)?;
            let mut v = vec![SEALED];
            v.extend(super::seal::seal(&key, &body_aad(&meta.id), &delivery.body));
            v
        } else {
            let mut v = vec![PLAIN];
            v.extend_from_slice(&delivery.body);
            v
        };
        tx.outbox.insert(meta.id.as_bytes(), encode(meta))?;
        tx.outbox_bodies.insert(meta.id.as_bytes(), stored)?;
        Ok(())
    }

    /// Queues a delivery on its own (an event with nothing else stored) and flushes.
    pub fn enqueue_delivery(&self, delivery: &NewDelivery) -> Result<(), StoreError> {
        self.transact(None, |tx| self.put_delivery_tx(tx, delivery))?;
        self.flush()
    }

    /// Every delivery, oldest first.
    pub fn deliveries(&self) -> Result<Vec<DeliveryMeta>, StoreError> {
        let mut all: Vec<DeliveryMeta> =
            self.t()?.outbox.iter().values().filter_map(Result::ok).filter_map(|v| serde_json::from_slice(&v).ok()).collect();
        all.sort_by_key(|d| (d.created_unix_ms, d.id.clone()));
        Ok(all)
    }

    pub fn delivery(&self, id: &str) -> Result<Option<DeliveryMeta>, StoreError> {
        Ok(self.t()?.outbox.get(id.as_bytes())?.and_then(|v| serde_json::from_slice(&v).ok()))
    }

    pub fn outbox_counts(&self) -> OutboxCounts {
        let mut counts = OutboxCounts::default();
        for d in self.deliveries().unwrap_or_default() {
            match d.state {
                DeliveryState::Pending => counts.pending += 1,
                DeliveryState::Delivered => counts.delivered += 1,
                DeliveryState::GivenUp => counts.given_up += 1,
            }
        }
        counts
    }

    /// The body to send; `None` once the result it carried was purged.
    pub fn delivery_body(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(meta) = self.delivery(id)? else { return Ok(None) };
        let Some(stored) = self.t()?.outbox_bodies.get(id.as_bytes())? else { return Ok(None) };
        match stored.split_first() {
            Some((&PLAIN, body)) => Ok(Some(body.to_vec())),
            Some((&SEALED, sealed)) => {
                let Some(key) = self.data_key(&meta.session, KeyPurpose::Result)? else { return Ok(None) };
                Ok(super::seal::open(&key, &body_aad(id), sealed).ok())
            }
            _ => Ok(None),
        }
    }

    /// Stores a delivery's new state after an attempt; giving up is audited in the
    /// same transaction.
    pub fn update_delivery(&self, meta: &DeliveryMeta) -> Result<(), StoreError> {
        let action = format!("webhook_given_up:{}", meta.id);
        let audited = (meta.state == DeliveryState::GivenUp).then_some((&Actor::System, action.as_str(), Some(meta.session.as_str())));
        self.transact(audited, |tx| {
            tx.outbox.insert(meta.id.as_bytes(), encode(meta))?;
            Ok(())
        })?;
        self.flush()
    }

    /// `idverifd webhooks retry ID`: the delivery is due again now (delivered or
    /// given up ones too), audited as the operator's action.
    pub fn retry_delivery(&self, id: &str, now_ms: u64) -> Result<Option<DeliveryMeta>, StoreError> {
        let Some(mut meta) = self.delivery(id)? else { return Ok(None) };
        meta.state = DeliveryState::Pending;
        meta.next_attempt_unix_ms = now_ms;
        // A fresh back-off and give-up clock from now.
        meta.created_unix_ms = now_ms;
        meta.attempts = 0;
        let action = format!("webhook_retry_requested:{id}");
        self.transact(Some((&Actor::Command, &action, Some(&meta.session))), |tx| {
            tx.outbox.insert(meta.id.as_bytes(), encode(&meta))?;
            Ok(())
        })?;
        self.flush()?;
        Ok(Some(meta))
    }

    /// Forgets a session's deliveries with its signed result (long after the three
    /// days of retries), so the outbox does not grow without end.
    pub(super) fn purge_deliveries_tx(&self, tx: &Tx, ids: &[String]) -> TxResult<()> {
        for id in ids {
            tx.outbox_bodies.remove(id.as_bytes())?;
            tx.outbox.remove(id.as_bytes())?;
        }
        Ok(())
    }

    /// The ids of a session's deliveries.
    pub(super) fn deliveries_of(&self, session: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.deliveries()?.into_iter().filter(|d| d.session == session).map(|d| d.id).collect())
    }
}

fn encode(meta: &DeliveryMeta) -> Vec<u8> {
    serde_json::to_vec(meta).unwrap_or_default()
}
