//! The audit trail: append-only, hash-chained, checkpointed with the device key.
//! Each entry is stored under its sequence number (big-endian) as
//! `body JSON \n sha256(body) hex`; the body names the previous entry's hash, the
//! actor and the action, never a subject's data. A checkpoint is a compact JWS
//! (`typ` [`CHECKPOINT_TYP`]) over the newest entry's sequence number and hash.
//! Verification walks the chain and names the first entry that does not hold.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::signing::{DeviceKeys, Jwks, sign_compact, verify_compact};

pub const CHECKPOINT_TYP: &str = "idverif-audit+jws";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did what is recorded: a registration client (by token hash or certificate
/// fingerprint prefix), the technician, the kiosk (the subject), the daemon itself,
/// or an operator's command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Client(String),
    Technician,
    Kiosk,
    System,
    Command,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Client(id) => write!(f, "client:{id}"),
            Actor::Technician => f.write_str("technician"),
            Actor::Kiosk => f.write_str("kiosk"),
            Actor::System => f.write_str("system"),
            Actor::Command => f.write_str("command"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The previous entry's hash (all zeros for the first).
    pub prev: String,
}

/// The newest entry: where the next one links.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

impl Head {
    pub fn genesis() -> Self {
        Self { seq: 0, hash: GENESIS.into() }
    }

    /// The next entry after this head: its key, its stored bytes and the new head.
    pub fn next(&self, actor: &Actor, action: &str, session: Option<&str>) -> (u64, Vec<u8>, Head) {
        let entry = AuditEntry {
            seq: self.seq + 1,
            at: crate::rfc3339_now(),
            actor: actor.to_string(),
            action: action.to_string(),
            session: session.map(String::from),
            prev: self.hash.clone(),
        };
        let body = serde_json::to_vec(&entry).unwrap_or_default();
        let hash = hex::encode(Sha256::digest(&body));
        let mut stored = body;
        stored.push(b'\n');
        stored.extend_from_slice(hash.as_bytes());
        (entry.seq, stored, Head { seq: entry.seq, hash })
    }
}

/// An entry as exported: the body and its hash.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Exported {
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub hash: String,
}

/// The stored bytes split into the entry and its hash; `None` if not well formed
/// or the hash does not match the body.
pub fn parse(stored: &[u8]) -> Option<Exported> {
    let split = stored.iter().rposition(|b| *b == b'\n')?;
    let (body, hash) = (&stored[..split], &stored[split + 1..]);
    let hash = std::str::from_utf8(hash).ok()?;
    if hex::encode(Sha256::digest(body)) != hash {
        return None;
    }
    let entry = serde_json::from_slice(body).ok()?;
    Some(Exported { entry, hash: hash.to_string() })
}

pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The head of a stored trail (its last entry), for appending after a restart.
/// A last entry that does not parse still counts: the next one links to what is
/// stored, and `audit verify` names the damaged one.
pub fn head_of(audit: &sled::Tree) -> Result<Head, sled::Error> {
    let Some((k, v)) = audit.last()? else { return Ok(Head::genesis()) };
    let seq = <[u8; 8]>::try_from(k.as_ref()).map(u64::from_be_bytes).unwrap_or(0);
    let hash = match parse(&v) {
        Some(e) => e.hash,
        None => hex::encode(Sha256::digest(&v)),
    };
    Ok(Head { seq, hash })
}

/// A signed checkpoint over `head`, to store under its sequence number.
pub fn checkpoint(head: &Head, keys: &DeviceKeys) -> String {
    let payload = serde_json::json!({"seq": head.seq, "hash": head.hash, "at": crate::rfc3339_now()});
    sign_compact(keys.signing_key(), keys.kid(), CHECKPOINT_TYP, &payload)
}

/// What a successful verification saw.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verified {
    pub entries: u64,
    pub checkpoints: u64,
    pub last_checkpoint_seq: Option<u64>,
    /// Entries after the last checkpoint: chained, but not yet signed.
    pub unsigned_tail: u64,
}

/// The first entry that does not hold, and why.
#[derive(Debug, Clone, Serialize, PartialEq, thiserror::Error)]
#[error("audit entry {seq}: {why}")]
pub struct Broken {
    pub seq: u64,
    pub why: String,
}

/// Walks the chain from entry 1, then checks every checkpoint's signature and
/// that the entry it signs is the one stored.
pub fn verify(audit: &sled::Tree, checkpoints: &sled::Tree, jwks: &Jwks) -> Result<Verified, Broken> {
    let broken = |seq: u64, why: String| Broken { seq, why };
    let mut hashes = Vec::new();
    let mut prev = Head::genesis();
    for item in audit.iter() {
        let (k, v) = item.map_err(|e| broken(prev.seq + 1, format!("unreadable: {e}")))?;
        let expected = prev.seq + 1;
        let Ok(key) = <[u8; 8]>::try_from(k.as_ref()).map(u64::from_be_bytes) else {
            return Err(broken(expected, "a key that is not a sequence number is stored in the trail".into()));
        };
        if key != expected {
            return Err(broken(expected, format!("missing (the next stored entry is {key}): an entry was deleted")));
        }
        let Some(e) = parse(&v) else {
            return Err(broken(key, "altered: its content does not match its hash".into()));
        };
        if e.entry.seq != key {
            return Err(broken(key, format!("holds entry {}: entries were moved or swapped", e.entry.seq)));
        }
        if e.entry.prev != prev.hash {
            return Err(broken(key, format!("does not link to entry {}: the chain was rewritten before it", key - 1)));
        }
        hashes.push(e.hash.clone());
        prev = Head { seq: key, hash: e.hash };
    }
    let mut count = 0;
    let mut last = None;
    for item in checkpoints.iter() {
        let (k, v) = item.map_err(|e| broken(0, format!("checkpoints unreadable: {e}")))?;
        let at = <[u8; 8]>::try_from(k.as_ref()).map(u64::from_be_bytes).unwrap_or(0);
        let jws = String::from_utf8_lossy(&v);
        let signed = verify_compact(&jws, jwks)
            .ok()
            .filter(|v| v.header["typ"] == CHECKPOINT_TYP)
            .ok_or_else(|| broken(at, "its checkpoint's signature does not verify against the device keys".into()))?;
        let seq = signed.payload["seq"].as_u64().unwrap_or(0);
        let hash = signed.payload["hash"].as_str().unwrap_or_default();
        match hashes.get((seq as usize).wrapping_sub(1)) {
            None => return Err(broken(seq, "missing, but a signed checkpoint covers it: entries were deleted".into())),
            Some(stored) if stored != hash => {
                return Err(broken(seq, "differs from the signed checkpoint: the trail was rewritten".into()));
            }
            Some(_) => {}
        }
        count += 1;
        last = Some(last.map_or(seq, |l: u64| l.max(seq)));
    }
    Ok(Verified {
        entries: prev.seq,
        checkpoints: count,
        last_checkpoint_seq: last,
        unsigned_tail: prev.seq - last.unwrap_or(0),
    })
}

/// Entries at or after `since` (RFC 3339, compared as text: every entry is UTC seconds).
pub fn export<'a>(audit: &'a sled::Tree, since: Option<&str>) -> impl Iterator<Item = Exported> + 'a {
    let since = since.map(String::from);
    audit
        .iter()
        .filter_map(Result::ok)
        .filter_map(|(_, v)| parse(&v))
        .filter(move |e| since.as_deref().is_none_or(|s| e.entry.at.as_str() >= s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trail(n: u64) -> (sled::Db, sled::Tree, sled::Tree) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let audit = db.open_tree("audit").unwrap();
        let checkpoints = db.open_tree("checkpoints").unwrap();
        let mut head = Head::genesis();
        for i in 0..n {
            let (seq, stored, next) = head.next(&Actor::System, &format!("action_{i}"), Some("vf_x"));
            audit.insert(seq_key(seq), stored).unwrap();
            head = next;
        }
        (db, audit, checkpoints)
    }

    #[test]
    fn a_clean_chain_verifies_and_each_kind_of_tampering_names_its_entry() {
        let jwks = Jwks::default();
        let (_db, audit, cps) = trail(5);
        assert_eq!(verify(&audit, &cps, &jwks).unwrap().entries, 5);

        let mut v = audit.get(seq_key(3)).unwrap().unwrap().to_vec();
        let i = v.iter().position(|b| *b == b'a').unwrap();
        v[i] = b'b';
        audit.insert(seq_key(3), v).unwrap();
        assert_eq!(verify(&audit, &cps, &jwks).unwrap_err().seq, 3);

        let (_db, audit, cps) = trail(5);
        audit.remove(seq_key(2)).unwrap();
        assert_eq!(verify(&audit, &cps, &jwks).unwrap_err().seq, 2);

        let (_db, audit, cps) = trail(5);
        let (a, b) = (audit.get(seq_key(2)).unwrap().unwrap(), audit.get(seq_key(4)).unwrap().unwrap());
        audit.insert(seq_key(2), b).unwrap();
        audit.insert(seq_key(4), a).unwrap();
        let err = verify(&audit, &cps, &jwks).unwrap_err();
        assert_eq!(err.seq, 2, "{err}");
    }

    #[test]
    fn head_of_a_stored_trail_continues_the_chain() {
        let (_db, audit, cps) = trail(3);
        let head = head_of(&audit).unwrap();
        assert_eq!(head.seq, 3);
        let (seq, stored, _) = head.next(&Actor::Kiosk, "consent_given", None);
        audit.insert(seq_key(seq), stored).unwrap();
        assert_eq!(verify(&audit, &cps, &Jwks::default()).unwrap().entries, 4);
    }
}
