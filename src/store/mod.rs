//! Stage 5, the store (sled, and sealed files for evidence images: `evidence`).
//! Enters: session records, signed results, evidence images, audit entries.
//! Leaves: the same, after a crash too. A session's personal fields, its evidence
//! and its signed result are sealed with data keys of its own (wrapped by the
//! device KEK, see `keyring`), so purging is forgetting a key. A decided result
//! is written in one transaction with its record and its audit entry, and flushed
//! before anyone is told. A record that does not decode is quarantined, never
//! fatal. The store stores: what a record means (unfinished, personal) is the
//! record's own business (`record`).

pub mod audit;
mod db;
mod evidence;
pub mod keyring;
pub mod outbox;
pub mod quarantine;
pub mod retention;
pub mod seal;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::record::{PersonalFields, SessionRecord};
pub use audit::Actor;
pub use keyring::{Kek, KekSource};
pub use retention::{Retention, PurgeItem};

use db::{DATA_KEYS, PERSONAL, RESULTS, SESSIONS, Trees};
const KEK_CHECK: &[u8] = b"kek_check";
const LAST_KID: &[u8] = b"last_signing_kid";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("the device's disk is full: {0}")]
    Full(String),
    #[error("database write failed (disk failing?): {0}")]
    Write(String),
    #[error("stored record {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("sealed data of {0} cannot be opened without the key-encryption key")]
    NoKek(String),
    /// A name that cannot be a file's (never a storage failure).
    #[error("{0}")]
    BadName(String),
}

impl StoreError {
    /// Out of space (as opposed to failing): the API answers 507.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::Full(_))
    }
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match &e {
            // sled wraps the OS error, so the kind, not the errno, tells.
            sled::Error::Io(io) if io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(libc::ENOSPC) => {
                StoreError::Full("no space left on the device".into())
            }
            _ => StoreError::Write(e.to_string()),
        }
    }
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => e.into(),
        }
    }
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// The trees one write touches, inside a transaction.
struct Tx<'a> {
    sessions: &'a TransactionalTree,
    personal: &'a TransactionalTree,
    results: &'a TransactionalTree,
    data_keys: &'a TransactionalTree,
    audit: &'a TransactionalTree,
    quarantine: &'a TransactionalTree,
    outbox: &'a TransactionalTree,
    outbox_bodies: &'a TransactionalTree,
}

/// The purpose of a session data key: personal data and evidence go on one
/// retention clock, the signed result on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPurpose {
    Personal,
    Result,
}

impl KeyPurpose {
    fn slot(self, id: &str) -> Vec<u8> {
        let name = match self {
            KeyPurpose::Personal => "personal",
            KeyPurpose::Result => "result",
        };
        format!("{id}/{name}").into_bytes()
    }
}

pub struct Store {
    db: db::Handle,
    evidence: evidence::EvidenceFiles,
    /// `None` for maintenance commands that only delete and read the trail.
    kek: Option<Kek>,
    /// Held across each audited transaction so entries are appended in order.
    head: Mutex<audit::Head>,
    /// The latest ended state of records whose write failed while the disk was
    /// full or failing: written when the database reopens.
    pending: Mutex<BTreeMap<String, SessionRecord>>,
}

impl Store {
    /// Opens the database with the KEK that seals its personal data; refuses a KEK
    /// other than the one it was sealed under.
    pub fn open(dir: &Path, kek: Kek) -> Result<Self, StoreError> {
        let store = Self::open_inner(dir, Some(kek))?;
        let err = |reason: String| StoreError::Open { path: dir.display().to_string(), reason };
        let kek = store.kek.as_ref().expect("just given");
        let meta = store.t()?.meta.clone();
        match meta.get(KEK_CHECK)? {
            Some(check) if !kek.matches(&check) => {
                return Err(err(format!(
                    "its data keys were wrapped by another key-encryption key than the {} in use; restore that key",
                    kek.source.describe()
                )));
            }
            Some(_) => {}
            None => {
                meta.insert(KEK_CHECK, kek.check_value())?;
            }
        }
        // The daemon's start, not a maintenance command's: reading the trail or
        // listing webhooks writes nothing.
        store.move_evidence_out_of_sled()?;
        Ok(store)
    }

    /// Opens without the KEK: the trail can be read and verified, expired data
    /// purged (purging needs no key), but nothing sealed can be read or written.
    pub fn open_for_maintenance(dir: &Path) -> Result<Self, StoreError> {
        Self::open_inner(dir, None)
    }

    fn open_inner(dir: &Path, kek: Option<Kek>) -> Result<Self, StoreError> {
        let db = db::Handle::open(dir)?;
        let head = audit::head_of(&db.trees()?.audit)?;
        let evidence = evidence::EvidenceFiles::open(dir)?;
        Ok(Self { db, evidence, kek, head: Mutex::new(head), pending: Mutex::default() })
    }

    /// A database written by an older version holds evidence in its `evidence`
    /// tree: each value is moved to its file as it is (sealed; no key needed), then
    /// removed. One that cannot be moved (a full disk) stays and is read from
    /// there; the next start tries again.
    fn move_evidence_out_of_sled(&self) -> Result<(), StoreError> {
        let legacy = self.t()?.evidence.clone();
        let mut moved = 0usize;
        for entry in legacy.iter() {
            let (key, sealed) = entry?;
            let name = String::from_utf8_lossy(&key).into_owned();
            let Some((session, kind)) = name.split_once('/') else { continue };
            if let Err(e) = self.evidence.write(session, kind, &sealed) {
                tracing::warn!(error = %e, moved, "evidence not moved out of the database yet; will retry at the next start");
                break;
            }
            legacy.remove(&key)?;
            moved += 1;
        }
        if moved > 0 {
            self.flush()?;
            tracing::info!(moved, "evidence moved from the database to sealed files");
        }
        Ok(())
    }

    fn t(&self) -> Result<Arc<Trees>, StoreError> {
        self.db.trees()
    }

    /// While the last write failed: reopens the database, writes the records
    /// whose ended state could not be stored, and says whether it recovered.
    pub fn recover(&self) -> Result<bool, StoreError> {
        if !self.db.is_broken() {
            return Ok(false);
        }
        let trees = self.db.reopen()?;
        *self.head.lock().unwrap_or_else(|p| p.into_inner()) = audit::head_of(&trees.audit)?;
        drop(trees);
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for record in pending.values() {
            self.put_session_audited(record, &Actor::System, "record_stored_after_storage_recovered")?;
        }
        self.flush()?;
        tracing::info!(records = pending.len(), "database reopened after a write failure; storage recovered");
        Ok(true)
    }

    pub fn kek_source(&self) -> Option<&KekSource> {
        self.kek.as_ref().map(|k| &k.source)
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.check()?;
        let flushed = self.t()?.db.flush().map(drop).map_err(StoreError::from);
        if let Err(e) = &flushed {
            self.db.fail(e);
        }
        flushed
    }

    /// Runs `write` in one transaction over every tree it may touch; with `audited`,
    /// the audit entry is part of the same transaction.
    fn transact<T>(&self, audited: Option<(&Actor, &str, Option<&str>)>, write: impl Fn(&Tx) -> TxResult<T>) -> Result<T, StoreError> {
        self.db.check()?;
        let t = self.t()?;
        let mut head = self.head.lock().unwrap_or_else(|p| p.into_inner());
        let trees = (&t.sessions, &t.personal, &t.results, &t.data_keys, &t.audit, &t.quarantine, &t.outbox, &t.outbox_bodies);
        let (value, next) = trees.transaction(|(sessions, personal, results, data_keys, audit, quarantine, outbox, outbox_bodies)| {
            let tx = Tx { sessions, personal, results, data_keys, audit, quarantine, outbox, outbox_bodies };
            let value = write(&tx)?;
            let next = match audited {
                Some((actor, action, session)) => {
                    let (seq, stored, next) = head.next(actor, action, session);
                    tx.audit.insert(&audit::seq_key(seq), stored)?;
                    Some(next)
                }
                None => None,
            };
            Ok((value, next))
        }).map_err(|e| {
            let e = StoreError::from(e);
            self.db.fail(&e);
            e
        })?;
        if let Some(next) = next {
            *head = next;
        }
        Ok(value)
    }

    fn kek(&self, id: &str) -> Result<&Kek, StoreError> {
        self.kek.as_ref().ok_or_else(|| StoreError::NoKek(id.to_string()))
    }

    /// The session's data key for `purpose`, made on first use.
    fn data_key_tx(&self, tx: &Tx, id: &str, purpose: KeyPurpose) -> TxResult<seal::Key> {
        let kek = self.kek(id).map_err(ConflictableTransactionError::Abort)?;
        let slot = purpose.slot(id);
        if let Some(wrapped) = tx.data_keys.get(&slot)? {
            return kek.unwrap_data_key(&slot, &wrapped).map_err(|_| {
                ConflictableTransactionError::Abort(StoreError::Corrupt { key: format!("{DATA_KEYS}/{id}"), reason: "data key does not unwrap".into() })
            });
        }
        let (key, wrapped) = kek.new_data_key(&slot);
        tx.data_keys.insert(slot, wrapped)?;
        Ok(key)
    }

    /// The session's existing data key; `None` once it is destroyed (or never made).
    fn data_key(&self, id: &str, purpose: KeyPurpose) -> Result<Option<seal::Key>, StoreError> {
        let slot = purpose.slot(id);
        let Some(wrapped) = self.t()?.data_keys.get(&slot)? else { return Ok(None) };
        Ok(self.kek(id)?.unwrap_data_key(&slot, &wrapped).ok())
    }

    fn put_session_tx(&self, tx: &Tx, record: &SessionRecord) -> TxResult<()> {
        let (bare, personal) = record.split_personal();
        tx.sessions.insert(record.id.as_bytes(), encode(&bare))?;
        if personal.is_empty() {
            tx.personal.remove(record.id.as_bytes())?;
        } else {
            let key = self.data_key_tx(tx, &record.id, KeyPurpose::Personal)?;
            let plain = serde_json::to_vec(&personal).unwrap_or_default();
            tx.personal.insert(record.id.as_bytes(), seal::seal(&key, &personal_aad(&record.id), &plain))?;
        }
        Ok(())
    }

    pub fn put_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let stored = self.transact(None, |tx| self.put_session_tx(tx, record));
        self.keep_if_failed(record, stored)
    }

    /// Stores the record and its audit entry in one transaction.
    pub fn put_session_audited(&self, record: &SessionRecord, actor: &Actor, action: &str) -> Result<(), StoreError> {
        let stored = self.transact(Some((actor, action, Some(&record.id))), |tx| self.put_session_tx(tx, record));
        self.keep_if_failed(record, stored)
    }

    /// An ended session whose record could not be written is kept for `recover`
    /// (a session that never got going is not: its start was refused).
    fn keep_if_failed(&self, record: &SessionRecord, stored: Result<(), StoreError>) -> Result<(), StoreError> {
        if stored.is_err() && record.status.is_terminal() {
            self.pending.lock().unwrap_or_else(|p| p.into_inner()).insert(record.id.clone(), record.clone());
        }
        stored
    }

    /// The record with its personal fields opened (absent once purged).
    pub fn get_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let Some(mut record) = self.get_bare(id)? else { return Ok(None) };
        if let Some(personal) = self.open_personal(&record)? {
            record.restore_personal(personal);
        }
        Ok(Some(record))
    }

    /// The record without personal fields; a record that does not decode is
    /// quarantined and reads as absent.
    fn get_bare(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let Some(value) = self.t()?.sessions.get(id.as_bytes())? else { return Ok(None) };
        match decode(id, &value) {
            Ok(record) => Ok(Some(record)),
            Err(e) => {
                self.quarantine_record(SESSIONS, id.as_bytes(), &value, &e.to_string())?;
                Ok(None)
            }
        }
    }

    fn open_personal(&self, record: &SessionRecord) -> Result<Option<PersonalFields>, StoreError> {
        if record.purged || self.kek.is_none() {
            return Ok(None);
        }
        let Some(sealed) = self.t()?.personal.get(record.id.as_bytes())? else { return Ok(None) };
        let Some(key) = self.data_key(&record.id, KeyPurpose::Personal)? else { return Ok(None) };
        let opened = seal::open(&key, &personal_aad(&record.id), &sealed).map_err(|_| "sealed value does not open".to_string());
        match opened.and_then(|plain| serde_json::from_slice(&plain).map_err(|e| reason(&e))) {
            Ok(personal) => Ok(Some(personal)),
            Err(why) => {
                // Damaged: set aside; the record reads without its personal fields.
                self.quarantine_record(PERSONAL, record.id.as_bytes(), &sealed, &why)?;
                Ok(None)
            }
        }
    }

    /// Every stored session without its personal fields (counts, retention). A
    /// record that does not decode is quarantined and skipped.
    pub fn sessions(&self) -> impl Iterator<Item = Result<SessionRecord, StoreError>> + '_ {
        let sessions = self.t().map(|t| t.sessions.iter());
        let (iter, failed) = match sessions {
            Ok(iter) => (Some(iter), None),
            Err(e) => (None, Some(Err(e))),
        };
        failed.into_iter().chain(iter.into_iter().flatten().filter_map(move |kv| {
            let (k, v) = match kv {
                Ok(kv) => kv,
                Err(e) => return Some(Err(e.into())),
            };
            let key = String::from_utf8_lossy(&k).into_owned();
            match decode(&key, &v) {
                Ok(record) => Some(Ok(record)),
                Err(e) => self.quarantine_record(SESSIONS, &k, &v, &e.to_string()).err().map(Err),
            }
        }))
    }

    /// Stores the signed result (sealed under its own key), the decided record with
    /// its `decided` audit entry and the webhook announcing it, atomically, then
    /// flushes: when this returns, the decision and the notification owed for it
    /// survive a crash.
    pub fn put_decided(&self, record: &SessionRecord, jws: &str, webhook: Option<&outbox::NewDelivery>) -> Result<(), StoreError> {
        let mut record = record.clone();
        record.result_sha256 = Some(hex::encode(Sha256::digest(jws.as_bytes())));
        let decision = record.outcome.as_ref().map_or("none", |o| o.decision.as_str());
        let action = format!("decided:{decision}");
        self.transact(Some((&Actor::System, &action, Some(&record.id))), |tx| {
            self.put_session_tx(tx, &record)?;
            let key = self.data_key_tx(tx, &record.id, KeyPurpose::Result)?;
            tx.results.insert(record.id.as_bytes(), seal::seal(&key, &result_aad(&record.id), jws.as_bytes()))?;
            if let Some(delivery) = webhook {
                self.put_delivery_tx(tx, delivery)?;
            }
            Ok(())
        })?;
        self.flush()
    }

    pub fn get_result(&self, id: &str) -> Result<Option<String>, StoreError> {
        let Some(sealed) = self.t()?.results.get(id.as_bytes())? else { return Ok(None) };
        let Some(key) = self.data_key(id, KeyPurpose::Result)? else { return Ok(None) };
        let plain = seal::open(&key, &result_aad(id), &sealed)
            .map_err(|_| StoreError::Corrupt { key: format!("{RESULTS}/{id}"), reason: "does not open".into() })?;
        Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
    }

    /// Seals `image` under the session's personal data key (made first, in the
    /// database) and keeps it as a file. A failure to write it counts as the
    /// database's: a full disk is a full disk wherever it is met.
    pub fn put_evidence(&self, id: &str, kind: &str, image: &[u8]) -> Result<(), StoreError> {
        let data_key = self.transact(None, |tx| self.data_key_tx(tx, id, KeyPurpose::Personal))?;
        let written = self.evidence.write(id, kind, &seal::seal(&data_key, &evidence_aad(id, kind), image));
        if let Err(e) = &written {
            self.db.fail(e);
        }
        written
    }

    pub fn get_evidence(&self, id: &str, kind: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let aad = evidence_aad(id, kind);
        let sealed = match self.evidence.read(id, kind)? {
            Some(sealed) => sealed,
            None => match self.t()?.evidence.get(&aad)? {
                Some(legacy) => legacy.to_vec(),
                None => return Ok(None),
            },
        };
        let Some(data_key) = self.data_key(id, KeyPurpose::Personal)? else { return Ok(None) };
        seal::open(&data_key, &aad, &sealed)
            .map(Some)
            .map_err(|_| StoreError::Corrupt { key: format!("evidence/{id}/{kind}"), reason: "does not open".into() })
    }

    /// Records that `nonce` belongs to session `id`; false if it was used before.
    pub fn claim_nonce(&self, nonce: &str, id: &str) -> Result<bool, StoreError> {
        let key = Sha256::digest(nonce.as_bytes());
        self.db.check()?;
        Ok(self.t()?.nonces.compare_and_swap(key.as_slice(), None as Option<&[u8]>, Some(id.as_bytes()))?.is_ok())
    }

    /// Appends to the audit trail on its own (an action with nothing else stored).
    pub fn audit_by(&self, actor: &Actor, session: Option<&str>, action: &str) -> Result<(), StoreError> {
        self.transact(Some((actor, action, session)), |_| Ok(()))
    }

    /// Appends an action of the daemon's about a session; a failure is logged, not
    /// returned (the decision itself never depends on it: see `put_decided`).
    pub fn audit(&self, session: &str, action: &str) {
        self.audit_as(&Actor::System, session, action);
    }

    /// As `audit`, by another actor (the kiosk, for the subject's own actions).
    pub fn audit_as(&self, actor: &Actor, session: &str, action: &str) {
        if let Err(e) = self.audit_by(actor, Some(session), action) {
            tracing::error!(error = %e, action, "audit trail write failed");
        }
    }

    /// The audit trail, oldest first, as stored entries with their hashes.
    pub fn audit_entries(&self) -> Vec<serde_json::Value> {
        let Ok(t) = self.t() else { return Vec::new() };
        audit::export(&t.audit, None).filter_map(|e| serde_json::to_value(e).ok()).collect()
    }

    pub fn audit_export(&self, since: Option<&str>) -> Result<Vec<audit::Exported>, StoreError> {
        Ok(audit::export(&self.t()?.audit, since).collect())
    }

    pub fn audit_verify(&self, jwks: &crate::signing::Jwks) -> Result<audit::Verified, audit::Broken> {
        let t = self.t().map_err(|e| audit::Broken { seq: 0, why: e.to_string() })?;
        audit::verify(&t.audit, &t.checkpoints, jwks)
    }

    /// Signs the newest audit entry with the device key, if any came since the
    /// last checkpoint. Returns the sequence number signed.
    pub fn checkpoint(&self, keys: &crate::signing::DeviceKeys) -> Result<Option<u64>, StoreError> {
        let head = self.head.lock().unwrap_or_else(|p| p.into_inner()).clone();
        self.db.check()?;
        let checkpoints = self.t()?.checkpoints.clone();
        let last = checkpoints.last()?.and_then(|(k, _)| <[u8; 8]>::try_from(k.as_ref()).ok()).map(u64::from_be_bytes);
        if head.seq == 0 || last == Some(head.seq) {
            return Ok(None);
        }
        checkpoints.insert(&audit::seq_key(head.seq), audit::checkpoint(&head, keys).into_bytes())?;
        self.flush()?;
        Ok(Some(head.seq))
    }

    /// At start: a signing key other than the last one seen was installed by `keys
    /// rotate` while the daemon was stopped; the trail records it.
    pub fn note_signing_key(&self, kid: &str) -> Result<(), StoreError> {
        let meta = self.t()?.meta.clone();
        let last = meta.get(LAST_KID)?;
        if last.as_deref() == Some(kid.as_bytes()) {
            return Ok(());
        }
        let action = if last.is_some() { "signing_key_rotated" } else { "signing_key_first_used" };
        self.audit_by(&Actor::Command, None, &format!("{action}:{kid}"))?;
        meta.insert(LAST_KID, kid.as_bytes())?;
        Ok(())
    }

    /// After a restart: sessions that were running when the daemon stopped end
    /// `interrupted` (the record decides what that means), each audited.
    pub fn interrupt_unfinished(&self) -> Result<Vec<String>, StoreError> {
        let unfinished: Vec<String> =
            self.sessions().filter_map(Result::ok).filter(|r| !r.status.is_terminal()).map(|r| r.id).collect();
        let mut ids = Vec::new();
        for id in unfinished {
            let Some(mut record) = self.get_session(&id)? else { continue };
            if record.interrupt().is_some() {
                self.put_session_audited(&record, &Actor::System, "session_interrupted")?;
                ids.push(id);
            }
        }
        self.flush()?;
        Ok(ids)
    }

    /// Moves an undecodable record to the quarantine tree (one transaction).
    fn quarantine_record(&self, tree: &str, key: &[u8], value: &[u8], reason: &str) -> Result<(), StoreError> {
        let (qkey, stored) = quarantine::entry(tree, key, value, reason);
        tracing::warn!(tree, key = %String::from_utf8_lossy(key), reason, "undecodable record moved to quarantine");
        let action = format!("record_quarantined:{tree}");
        self.transact(Some((&Actor::System, &action, None)), |tx| {
            tx.quarantine.insert(qkey.clone(), stored.clone())?;
            match tree {
                SESSIONS => tx.sessions.remove(key)?,
                PERSONAL => tx.personal.remove(key)?,
                _ => None,
            };
            Ok(())
        })
    }

    /// What is in quarantine (meta lines only).
    pub fn quarantined(&self) -> Vec<quarantine::Quarantined> {
        let Ok(t) = self.t() else { return Vec::new() };
        t.quarantine.iter().filter_map(Result::ok).filter_map(|(_, v)| quarantine::meta(&v)).collect()
    }

    /// Bytes the database (sled's own figure) and the evidence files take on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.t().ok().and_then(|t| t.db.size_on_disk().ok()).unwrap_or(0) + self.evidence.bytes()
    }
}

fn personal_aad(id: &str) -> Vec<u8> {
    format!("{PERSONAL}/{id}").into_bytes()
}

fn result_aad(id: &str) -> Vec<u8> {
    format!("{RESULTS}/{id}").into_bytes()
}

/// Where an evidence image belongs: its seal's associated data (and, in databases
/// of older versions, its key in the `evidence` tree).
fn evidence_aad(id: &str, kind: &str) -> Vec<u8> {
    format!("{id}/{kind}").into_bytes()
}

fn encode(record: &SessionRecord) -> Vec<u8> {
    // Serialising our own plain data cannot fail.
    serde_json::to_vec(record).unwrap_or_default()
}

fn decode(key: &str, value: &[u8]) -> Result<SessionRecord, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Corrupt { key: key.to_string(), reason: reason(&e) })
}

/// Why a value does not decode, without quoting it (serde's own message may).
fn reason(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not well-formed JSON",
        serde_json::error::Category::Data => "a field or value this version does not know",
        serde_json::error::Category::Eof => "cut short",
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
}

#[cfg(test)]
mod tests;
