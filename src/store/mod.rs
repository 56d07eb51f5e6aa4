//! Stage 5, the store (sled). Enters: session records, signed results, evidence
//! images, audit entries. Leaves: the same, after a crash too. A decided result is
//! written in one transaction with its session record and flushed before anyone is
//! told; personal data is purged after the retention period. The audit trail holds
//! session ids and actions only, never a subject's data.

use std::path::Path;
use std::time::Duration;

use sled::Transactional;

use crate::session::{EventKind, SessionRecord, Status};

const SESSIONS: &str = "sessions";
const RESULTS: &str = "results";
const EVIDENCE: &str = "evidence";
const AUDIT: &str = "audit";
const NONCES: &str = "nonces";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("database write failed (disk full or failing?): {0}")]
    Write(String),
    #[error("stored record {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Write(e.to_string())
    }
}

pub struct Store {
    db: sled::Db,
    sessions: sled::Tree,
    results: sled::Tree,
    evidence: sled::Tree,
    audit: sled::Tree,
    nonces: sled::Tree,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let err = |e: &dyn std::fmt::Display| StoreError::Open { path: dir.display().to_string(), reason: e.to_string() };
        crate::fsutil::create_private_dir(dir).map_err(|e| err(&e))?;
        let db = sled::Config::new().path(dir).open().map_err(|e| err(&e))?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| err(&e));
        Ok(Self {
            sessions: tree(SESSIONS)?,
            results: tree(RESULTS)?,
            evidence: tree(EVIDENCE)?,
            audit: tree(AUDIT)?,
            nonces: tree(NONCES)?,
            db,
        })
    }

    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    pub fn put_session(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.sessions.insert(record.id.as_bytes(), encode(record))?;
        Ok(())
    }

    pub fn get_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.sessions.get(id.as_bytes())?.map(|v| decode(id, &v)).transpose()
    }

    /// Every stored session (the status page counts them; no personal data leaves).
    pub fn sessions(&self) -> impl Iterator<Item = Result<SessionRecord, StoreError>> + '_ {
        self.sessions.iter().map(|kv| {
            let (k, v) = kv?;
            decode(&String::from_utf8_lossy(&k), &v)
        })
    }

    /// Stores the signed result and the decided record atomically, then flushes:
    /// when this returns, the decision survives a crash.
    pub fn put_decided(&self, record: &SessionRecord, jws: &str) -> Result<(), StoreError> {
        let value = encode(record);
        (&self.sessions, &self.results)
            .transaction(|(sessions, results)| {
                sessions.insert(record.id.as_bytes(), value.clone())?;
                results.insert(record.id.as_bytes(), jws.as_bytes())?;
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| StoreError::Write(format!("{e:?}")))?;
        self.flush()
    }

    pub fn get_result(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.results.get(id.as_bytes())?.map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    pub fn put_evidence(&self, id: &str, kind: &str, image: &[u8]) -> Result<(), StoreError> {
        self.evidence.insert(evidence_key(id, kind), image)?;
        Ok(())
    }

    pub fn get_evidence(&self, id: &str, kind: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.evidence.get(evidence_key(id, kind))?.map(|v| v.to_vec()))
    }

    /// Records that `nonce` belongs to session `id`; false if it was used before.
    pub fn claim_nonce(&self, nonce: &str, id: &str) -> Result<bool, StoreError> {
        use sha2::Digest;
        let key = sha2::Sha256::digest(nonce.as_bytes());
        Ok(self.nonces.compare_and_swap(key.as_slice(), None as Option<&[u8]>, Some(id.as_bytes()))?.is_ok())
    }

    /// Appends to the audit trail. Never fails the caller: the trail is best effort,
    /// the decision itself is in the session record.
    pub fn audit(&self, session: &str, action: &str) {
        let entry = serde_json::json!({"at": crate::rfc3339_now(), "session": session, "action": action});
        let seq = self.db.generate_id().unwrap_or(0);
        if let Err(e) = self.audit.insert(seq.to_be_bytes(), entry.to_string().as_bytes()) {
            tracing::error!(error = %e, "audit trail write failed");
        }
    }

    /// The audit trail, oldest first.
    pub fn audit_entries(&self) -> Vec<serde_json::Value> {
        self.audit.iter().filter_map(|kv| kv.ok()).filter_map(|(_, v)| serde_json::from_slice(&v).ok()).collect()
    }

    /// After a restart: sessions that were running when the daemon stopped cannot be
    /// resumed (the subject has left the camera). Marks them `interrupted`.
    pub fn interrupt_unfinished(&self) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        for record in self.sessions() {
            let mut record = record?;
            if record.status.is_terminal() {
                continue;
            }
            record.push_event(EventKind::Status { status: Status::Interrupted });
            self.put_session(&record)?;
            self.audit(&record.id, "session_interrupted");
            ids.push(record.id);
        }
        self.flush()?;
        Ok(ids)
    }

    /// Removes personal data of sessions older than `retention`: evidence images,
    /// the signed result (it carries document fields) and the request's IIN. The
    /// record keeps its id, status, decision and digests; the purge is audited.
    pub fn purge_expired(&self, retention: Duration, now_unix: u64) -> Result<usize, StoreError> {
        let mut purged = 0;
        for record in self.sessions() {
            let mut record = record?;
            let expired = record.created_unix + retention.as_secs() <= now_unix;
            if record.purged || !expired || !record.status.is_terminal() {
                continue;
            }
            for item in self.evidence.scan_prefix(format!("{}/", record.id).as_bytes()) {
                let (k, _) = item?;
                self.evidence.remove(k)?;
            }
            self.results.remove(record.id.as_bytes())?;
            record.request.expected_iin = None;
            record.document = None;
            record.purged = true;
            self.put_session(&record)?;
            self.audit(&record.id, "personal_data_purged");
            purged += 1;
        }
        if purged > 0 {
            self.flush()?;
        }
        Ok(purged)
    }

}

fn evidence_key(id: &str, kind: &str) -> Vec<u8> {
    format!("{id}/{kind}").into_bytes()
}

fn encode(record: &SessionRecord) -> Vec<u8> {
    // Serialising our own plain data cannot fail.
    serde_json::to_vec(record).unwrap_or_default()
}

fn decode(key: &str, value: &[u8]) -> Result<SessionRecord, StoreError> {
    serde_json::from_slice(value).map_err(|e| StoreError::Corrupt { key: key.to_string(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Language, StartRequest};

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("idverifd-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn record(id: &str) -> SessionRecord {
        SessionRecord::new(
            id.into(),
            StartRequest {
                reference: "r".into(),
                nonce: format!("nonce-{id}"),
                language: Language::Ru,
                expected_iin: Some("000000000000".into()),
                guardian_for: None,
                document: None,
            },
        )
    }

    #[test]
    fn decided_result_survives_reopen_and_unfinished_sessions_become_interrupted() {
        let dir = temp_dir("reopen");
        {
            let store = Store::open(&dir).unwrap();
            let mut decided = record("a");
            decided.status = Status::Decided;
            store.put_decided(&decided, "h.p.s").unwrap();
            store.put_session(&record("b")).unwrap();
            store.flush().unwrap();
        }
        // sled's flusher thread may hold the file lock a moment after the first
        // handle is dropped (a restarted process never sees this).
        let store = (0..50)
            .find_map(|_| Store::open(&dir).ok().or_else(|| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                None
            }))
            .expect("reopen");
        assert_eq!(store.get_result("a").unwrap().as_deref(), Some("h.p.s"));
        assert_eq!(store.interrupt_unfinished().unwrap(), vec!["b".to_string()]);
        assert_eq!(store.get_session("b").unwrap().unwrap().status, Status::Interrupted);
        assert_eq!(store.get_session("a").unwrap().unwrap().status, Status::Decided);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn nonces_are_single_use() {
        let dir = temp_dir("nonce");
        let store = Store::open(&dir).unwrap();
        assert!(store.claim_nonce("n-12345678", "a").unwrap());
        assert!(!store.claim_nonce("n-12345678", "b").unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn purge_removes_personal_data_of_expired_finished_sessions_only() {
        let dir = temp_dir("purge");
        let store = Store::open(&dir).unwrap();
        let mut old = record("old");
        old.status = Status::Decided;
        old.created_unix = 1_000;
        store.put_decided(&old, "h.p.s").unwrap();
        store.put_evidence("old", "face", b"jpeg").unwrap();
        let mut running = record("running");
        running.created_unix = 1_000;
        store.put_session(&running).unwrap();
        assert_eq!(store.purge_expired(Duration::from_secs(60), 2_000).unwrap(), 1);
        let old = store.get_session("old").unwrap().unwrap();
        assert!(old.purged && old.request.expected_iin.is_none());
        assert!(store.get_result("old").unwrap().is_none());
        assert!(store.get_evidence("old", "face").unwrap().is_none());
        assert!(store.get_session("running").unwrap().unwrap().request.expected_iin.is_some());
        assert!(store.audit_entries().iter().any(|e| e["action"] == "personal_data_purged"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
