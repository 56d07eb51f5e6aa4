//! The bodies the registration API answers with, as types: the handlers serialise
//! them and the OpenAPI document describes them from the same definitions, so the
//! two cannot drift apart.

use serde::Serialize;
use utoipa::ToSchema;

use crate::session::{Check, Decision, Reason, SessionRecord, Stage, StageEntry, Status};

/// A verification as the registration server sees it. Every key is always present
/// (`null` where not known yet); no personal data.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    #[schema(example = "vf_0123456789abcdef")]
    pub id: String,
    /// The server's own reference, echoed.
    pub reference: String,
    pub status: Status,
    /// The stage running now; `null` before the subject arrives.
    #[schema(required)]
    pub stage: Option<Stage>,
    /// Every stage entered, in order.
    pub history: Vec<StageEntry>,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(required, format = DateTime)]
    pub decided_at: Option<String>,
    /// The decision once taken (`status` is `decided`).
    #[schema(required)]
    pub decision: Option<DecisionView>,
    /// Digests of the evidence images kept on the device.
    pub evidence: Vec<EvidenceDigest>,
    /// The subject's personal data was removed after the retention period.
    pub purged: bool,
    /// Why the session ended `interrupted`, when known: `disk_full` or `storage_failed`.
    #[schema(required, example = "disk_full")]
    pub interrupted_reason: Option<String>,
    pub links: Links,
}

/// The decision with the reasons behind it and every measured check.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    pub checks: Vec<Check>,
}

/// One evidence image: what it shows and its SHA-256 (hex); the image stays on the device.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceDigest {
    #[schema(example = "face")]
    pub kind: String,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
}

/// Where the session's event stream and signed result are.
#[derive(Debug, Serialize, ToSchema)]
pub struct Links {
    #[schema(example = "/v1/verifications/vf_0123456789abcdef/events")]
    pub events: String,
    #[schema(example = "/v1/verifications/vf_0123456789abcdef/result")]
    pub result: String,
}

impl VerificationView {
    pub fn of(r: &SessionRecord) -> Self {
        Self {
            id: r.id.clone(),
            reference: r.request.reference.clone(),
            status: r.status,
            stage: r.stage,
            history: r.history.clone(),
            created_at: r.created_at.clone(),
            decided_at: r.decided_at.clone(),
            decision: r.outcome.as_ref().map(|o| DecisionView {
                decision: o.decision,
                reasons: o.reasons.clone(),
                checks: o.checks.clone(),
            }),
            evidence: r.evidence.iter().map(|e| EvidenceDigest { kind: e.kind.clone(), sha256: e.sha256.clone() }).collect(),
            purged: r.purged,
            interrupted_reason: r.interrupted_reason.clone(),
            links: Links {
                events: format!("/v1/verifications/{}/events", r.id),
                result: format!("/v1/verifications/{}/result", r.id),
            },
        }
    }
}

/// `GET /healthz`: the daemon answers, so it is up.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: HealthStatus,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Up,
}
