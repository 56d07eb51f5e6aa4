//! Evidence kept: an image encoded once as JPEG, stored sealed under its session, and
//! listed on the record with its digest (in place of an older one of the same kind).
//! Never logs the image or anything read from it; the store seals it.

use opencv::core::Mat;
use sha2::{Digest, Sha256};

use crate::session::{EvidenceMeta, SessionRecord};
use crate::store::Store;
use crate::vision::encode_jpeg;

/// Evidence images are kept at this JPEG quality.
const JPEG_QUALITY: i32 = 92;

/// Keeps `image` as the session's `kind` evidence; `false` (logged) when it could not
/// be encoded or stored, and the record then lists no such evidence.
pub(super) fn keep(store: &Store, record: &mut SessionRecord, kind: &str, image: &Mat) -> bool {
    let kept = encode_jpeg(image, JPEG_QUALITY)
        .map_err(|e| format!("not encoded: {e}"))
        .and_then(|jpeg| store.put_evidence(&record.id, kind, &jpeg).map(|()| jpeg).map_err(|e| format!("not stored: {e}")));
    match kept {
        Ok(jpeg) => {
            record.evidence.retain(|e| e.kind != kind);
            record.evidence.push(EvidenceMeta {
                kind: kind.into(),
                sha256: hex::encode(Sha256::digest(&jpeg)),
                bytes: jpeg.len() as u64,
                captured_at: crate::rfc3339_now(),
            });
            true
        }
        Err(e) => {
            tracing::error!(session = %record.id, kind, error = %e, "evidence not kept");
            false
        }
    }
}
