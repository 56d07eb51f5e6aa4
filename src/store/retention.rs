//! Retention on two clocks: a session's personal data (evidence images, document
//! fields, the IIN asked for or typed) after `personal`, its signed result after
//! `result`. Each purge destroys the data key first (in the same transaction that
//! removes the sealed values, marks the record and writes the audit entry), so
//! whatever bytes sled's log still holds can no longer be opened; evidence files
//! are removed after it (any that a failure left behind, by the next purge). A plan lists
//! what would go — ids and ages only, never personal data.

use std::time::Duration;

use serde::Serialize;

use super::{Actor, KeyPurpose, Store, StoreError};
use crate::record::SessionRecord;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    pub personal: Duration,
    pub result: Duration,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PurgeKind {
    /// Evidence images and personal fields.
    PersonalData,
    SignedResult,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PurgeItem {
    pub session: String,
    pub what: PurgeKind,
    pub age_seconds: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PurgeReport {
    pub personal_data: usize,
    pub signed_results: usize,
}

/// What is due for `record` at `now`; an unfinished session keeps everything.
fn due(record: &SessionRecord, retention: &Retention, now: u64) -> Vec<PurgeItem> {
    if !record.status.is_terminal() {
        return Vec::new();
    }
    let age = now.saturating_sub(record.created_unix);
    let item = |what| PurgeItem { session: record.id.clone(), what, age_seconds: age };
    let mut items = Vec::new();
    if !record.purged && age >= retention.personal.as_secs() {
        items.push(item(PurgeKind::PersonalData));
    }
    if !record.result_purged && record.outcome.is_some() && age >= retention.result.as_secs() {
        items.push(item(PurgeKind::SignedResult));
    }
    items
}

impl Store {
    /// What a purge at `now` would remove.
    pub fn purge_plan(&self, retention: &Retention, now: u64) -> Vec<PurgeItem> {
        self.sessions().filter_map(Result::ok).flat_map(|r| due(&r, retention, now)).collect()
    }

    /// Age in seconds of the oldest record still holding personal data.
    pub fn oldest_personal_age(&self, now: u64) -> Option<u64> {
        self.sessions()
            .filter_map(Result::ok)
            .filter(|r| !r.purged)
            .map(|r| now.saturating_sub(r.created_unix))
            .max()
    }

    /// Applies retention at `now`. A record that fails is logged and the purge
    /// goes on with the next; the first error is returned after the rest is done.
    pub fn purge_expired(&self, retention: &Retention, now: u64, actor: &Actor) -> Result<PurgeReport, StoreError> {
        let mut report = PurgeReport::default();
        let mut first_error = None;
        for item in self.purge_plan(retention, now) {
            let done = match item.what {
                PurgeKind::PersonalData => self.purge_personal(&item.session, actor).map(|()| report.personal_data += 1),
                PurgeKind::SignedResult => self.purge_result(&item.session, actor).map(|()| report.signed_results += 1),
            };
            if let Err(e) = done {
                tracing::error!(session = %item.session, error = %e, "purge of one session failed; going on");
                first_error.get_or_insert(e);
            }
        }
        if report != PurgeReport::default() {
            self.flush()?;
        }
        match self.sweep_orphan_evidence() {
            Ok(0) => {}
            Ok(swept) => tracing::warn!(sessions = swept, "evidence files left without a key removed"),
            Err(e) => {
                tracing::error!(error = %e, "orphaned evidence files not removed");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(report), Err)
    }

    fn purge_personal(&self, id: &str, actor: &Actor) -> Result<(), StoreError> {
        let Some(mut record) = self.get_bare(id)? else { return Ok(()) };
        record.purge_personal_data();
        self.transact(Some((actor, "personal_data_purged", Some(id))), |tx| {
            // The key first: from here on the sealed bytes are noise wherever they lie.
            tx.data_keys.remove(KeyPurpose::Personal.slot(id))?;
            tx.personal.remove(id.as_bytes())?;
            tx.sessions.insert(id.as_bytes(), super::encode(&record))?;
            Ok(())
        })?;
        self.remove_evidence(id)
    }

    /// A session's evidence files, and what an older version left in the database.
    fn remove_evidence(&self, id: &str) -> Result<(), StoreError> {
        let legacy = self.t()?.evidence.clone();
        for key in legacy.scan_prefix(format!("{id}/").as_bytes()).keys() {
            legacy.remove(key?)?;
        }
        self.evidence.remove(id)
    }

    /// Evidence whose session has no personal data key (purged while a removal
    /// failed, or written just before a crash lost the key): noise, removed.
    fn sweep_orphan_evidence(&self) -> Result<usize, StoreError> {
        let mut swept = 0;
        for id in self.evidence.sessions() {
            if self.t()?.data_keys.get(KeyPurpose::Personal.slot(&id))?.is_none() {
                self.evidence.remove(&id)?;
                swept += 1;
            }
        }
        Ok(swept)
    }

    fn purge_result(&self, id: &str, actor: &Actor) -> Result<(), StoreError> {
        let Some(mut record) = self.get_bare(id)? else { return Ok(()) };
        record.purge_result(None);
        let deliveries = self.deliveries_of(id)?;
        self.transact(Some((actor, "signed_result_purged", Some(id))), |tx| {
            tx.data_keys.remove(KeyPurpose::Result.slot(id))?;
            tx.results.remove(id.as_bytes())?;
            // Webhook bodies carried the result: they go with it.
            self.purge_deliveries_tx(tx, &deliveries)?;
            tx.sessions.insert(id.as_bytes(), super::encode(&record))?;
            Ok(())
        })
    }
}
