//! The payload of the signed result. Everything a registration server needs to
//! act on a decision without trusting anything but the device's signature.

use serde::Serialize;
use serde_json::{Value, json};

use super::{Outcome, SessionRecord};
use crate::capture::CameraIdentity;
use crate::signing::{DeviceKeys, RESULT_TYP};
use crate::vision::models::ModelInfo;

/// Who made the decision: device, camera, software and model versions.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeviceInfo {
    pub id: String,
    pub camera: CameraIdentity,
    pub software: String,
    pub models: Vec<ModelInfo>,
}

/// The result as the device signs it: [`payload`] as a compact JWS of type [`RESULT_TYP`].
pub fn signed_result(keys: &DeviceKeys, record: &SessionRecord, outcome: &Outcome, device: &DeviceInfo, issued_at: &str) -> String {
    keys.sign(RESULT_TYP, &payload(record, outcome, device, issued_at))
}

pub fn payload(record: &SessionRecord, outcome: &Outcome, device: &DeviceInfo, issued_at: &str) -> Value {
    json!({
        "id": record.id,
        // 1, then higher each time the result is signed again (a guardian completes a minor).
        "version": record.result_version.max(1),
        "reference": record.request.reference,
        "nonce": record.request.nonce,
        "language": record.request.language,
        "device": device,
        "issued_at": issued_at,
        "started_at": record.created_at,
        "decision": outcome.decision,
        "reasons": outcome.reasons,
        "checks": outcome.checks,
        // The document as read; null when the session had no document stage.
        "document": record.document,
        "minor": record.document.as_ref().map(|d| d["minor"].clone()),
        "guardian": record.guardian,
        "stages": record.history,
        "face_retakes": record.retakes,
        "evidence": record.evidence.iter().map(|e| json!({"kind": e.kind, "sha256": e.sha256, "bytes": e.bytes, "captured_at": e.captured_at})).collect::<Vec<_>>(),
    })
}
