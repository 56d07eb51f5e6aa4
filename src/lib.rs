//! idverifd turns a Linux box with a dedicated camera into an identity-verification
//! appliance: a registration server starts a session over mutually authenticated
//! HTTPS, the candidate is guided through the stages on the kiosk screen, and the
//! outcome comes back as a result signed with the device's Ed25519 key.
//!
//! # Layout
//!
//! A frame travels through the modules in this order; no module calls one above it.
//!
//! - [`config`]   — the TOML file: typed sections, defaults, every problem at once.
//! - [`capture`]  — 1. GStreamer pipeline → BGR frames; V4L2 discovery; camera policy; the live
//!   preview as a watch channel (the API serves it, the engine fills it).
//! - [`vision`]   — 2. OpenCV: face detection (YuNet; followed between detections by `vision::tracker`), quality gates, face embeddings (FaceNet, int8, through ONNX Runtime: `vision::onnx_runtime`),
//!   passive liveness signals (`vision::liveness`).
//! - [`identity`] — pure rules, no OpenCV: IIN, MRZ (ICAO 9303), dates and age.
//! - [`record`]   — the stored shape of a session (request, stages, events, outcome); depends on nothing of ours.
//! - [`session`]  — 3. the verification session: a state machine per stage that gathers findings,
//!   prompts, and the decision as a pure rule over the findings.
//! - [`signing`]  — 4. Ed25519 device keys, compact JWS, JWKS.
//! - [`store`]    — 5. sled: personal data sealed per session (keys wrapped by the device KEK),
//!   hash-chained audit trail with signed checkpoints, retention on two clocks, quarantine.
//! - [`api`]      — 6. axum over rustls: registration API, SSE, health, metrics.
//! - [`webhooks`] — 7. Standard Webhooks: the store's outbox delivered, signed with the device key,
//!   retried with back-off for three days.
//! - [`telemetry`] — counters and gauges shared by the stages, rendered for Prometheus.
//! - [`app`]      — wires the stages together; start and drain order. `app::engine` is the analysis
//!   loop: commands, frames and the watchdog, its analysers behind small traits.
//! - [`cli_docs`] — man pages and shell completions from the command's definition (packaging).

pub mod api;
pub mod app;
pub mod capture;
pub mod cli_docs;
pub mod config;
pub mod fsutil;
pub mod identity;
pub mod record;
pub mod session;
pub mod signing;
pub mod store;
pub mod telemetry;
pub mod vision;
pub mod webhooks;

/// The software version carried in every signed result and on the status page.
pub const SOFTWARE_VERSION: &str = concat!("idverifd ", env!("CARGO_PKG_VERSION"));

/// Wall-clock time as RFC 3339 (UTC, seconds), the one format used in results and events.
pub fn rfc3339_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
