//! Records that no longer decode (a damaged disk, an enum renamed by an upgrade)
//! are moved aside instead of stopping start-up or the purge: kept byte for byte
//! in the `quarantine` tree under `TREE/KEY`, with why and when, for a technician
//! to look at. Session records hold no personal data in the clear, so neither
//! does the quarantine.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Quarantined {
    pub tree: String,
    pub key: String,
    pub reason: String,
    pub at: String,
    pub bytes: usize,
}

/// The quarantine key and value for a record of `tree` at `key` that failed with `reason`.
pub fn entry(tree: &str, key: &[u8], value: &[u8], reason: &str) -> (Vec<u8>, Vec<u8>) {
    let key_text = String::from_utf8_lossy(key).into_owned();
    let meta = Quarantined {
        tree: tree.to_string(),
        key: key_text.clone(),
        reason: reason.to_string(),
        at: crate::rfc3339_now(),
        bytes: value.len(),
    };
    // The meta line, then the original bytes untouched.
    let mut stored = serde_json::to_vec(&meta).unwrap_or_default();
    stored.push(b'\n');
    stored.extend_from_slice(value);
    (format!("{tree}/{key_text}").into_bytes(), stored)
}

/// The meta line of a quarantined value.
pub fn meta(stored: &[u8]) -> Option<Quarantined> {
    let end = stored.iter().position(|b| *b == b'\n').unwrap_or(stored.len());
    serde_json::from_slice(&stored[..end]).ok()
}
