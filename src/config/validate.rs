//! The semantic checks on a well-typed config: every problem at once, each with
//! the field it concerns.

use super::*;

impl Config {
    /// Semantic checks on a well-typed config; returns (field, why) pairs.
    pub fn validate(&self) -> Vec<(&'static str, String)> {
        self.problems(test_camera_allowed())
    }

    /// [`Config::validate`] with the test camera allowed or not (see [`TEST_CAMERA_ENV`]).
    pub(super) fn problems(&self, test_camera_allowed: bool) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.device.id.trim().is_empty() {
            out.push(("device.id", "must not be empty".to_string()));
        }
        match &self.camera.source {
            spec if spec.is_replay() && !self.camera.allow_replay => out.push((
                "camera.source",
                "a replayed source (file:/gst:) injects video; set camera.allow_replay = true only for demos and tests"
                    .to_string(),
            )),
            SourceSpec::Test(_) if !test_camera_allowed => out.push((
                "camera.source",
                format!("the test camera (test:) is only for the test suite, which starts the daemon with {TEST_CAMERA_ENV}=1; use v4l2:"),
            )),
            spec if self.camera.lockstep && !(test_camera_allowed && spec.is_replay()) => out.push((
                "camera.lockstep",
                format!("frames on their own clock are for the test suite's replays only (it starts the daemon with {TEST_CAMERA_ENV}=1); remove it"),
            )),
            _ => {}
        }
        if !(160..=3840).contains(&self.camera.width) {
            out.push(("camera.width", format!("{} is outside 160..=3840", self.camera.width)));
        }
        if !(120..=2160).contains(&self.camera.height) {
            out.push(("camera.height", format!("{} is outside 120..=2160", self.camera.height)));
        }
        if !(1..=120).contains(&self.camera.fps) {
            out.push(("camera.fps", format!("{} is outside 1..=120", self.camera.fps)));
        }
        if self.api.listen.parse::<SocketAddr>().is_err() {
            out.push(("api.listen", format!("{:?} is not an address such as 0.0.0.0:8443", self.api.listen)));
        }
        if self.api.tls_cert.is_some() != self.api.tls_key.is_some() {
            out.push(("api.tls_cert", "tls_cert and tls_key go together: give both or neither".to_string()));
        }
        for fp in &self.api.client_cert_sha256 {
            if !is_sha256_hex(fp) {
                out.push(("api.client_cert_sha256", "each entry must be 64 hex digits (SHA-256 of the DER)".into()));
            }
        }
        for h in &self.api.client_token_sha256 {
            if !is_sha256_hex(h) {
                out.push(("api.client_token_sha256", "each entry must be 64 hex digits (SHA-256 of the token)".into()));
            }
        }
        if self.api.metrics_token_sha256.as_deref().is_some_and(|h| !is_sha256_hex(h)) {
            out.push(("api.metrics_token_sha256", "must be 64 hex digits (SHA-256 of the scrape token)".into()));
        }
        if !(8..=4096).contains(&self.api.max_connections) {
            out.push(("api.max_connections", "must be between 8 and 4096 (and under the unit's LimitNOFILE)".into()));
        }
        if !(1..=self.api.max_connections.max(1)).contains(&self.api.max_connections_per_client) {
            out.push(("api.max_connections_per_client", "must be between 1 and api.max_connections".into()));
        }
        if !(Duration::from_secs(5)..=Duration::from_secs(3600)).contains(&self.api.idle_timeout) {
            out.push(("api.idle_timeout", "must be between 5s and 1h".into()));
        }
        if !(1..=1024).contains(&self.api.max_streams) {
            out.push(("api.max_streams", "must be between 1 and 1024".into()));
        }
        if let Err(why) = crate::capture::CameraFormat::parse(&self.camera.v4l2_format) {
            out.push(("camera.v4l2_format", why));
        }
        if !self.device.demo && self.api.client_cert_sha256.is_empty() && self.api.client_token_sha256.is_empty() {
            out.push(("api", "no client credential configured: pin a client certificate or a token hash".into()));
        }
        for (field, why) in self.face.oval.problems().into_iter().chain(self.face.gates.problems()) {
            out.push((field, why));
        }
        if !(0.05..=1.0).contains(&self.face.detection_score) {
            out.push(("face.detection_score", "must be between 0.05 and 1.0".into()));
        }
        if !(160..=1920).contains(&self.face.detection_width) {
            out.push(("face.detection_width", "must be between 160 and 1920".into()));
        }
        if let Some(why) = crate::vision::embedding::match_threshold_problem(self.face.match_threshold) {
            out.push(("face.match_threshold", why));
        }
        if self.session.countdown_seconds == 0 || self.session.countdown_seconds > 10 {
            out.push(("session.countdown_seconds", "must be between 1 and 10".into()));
        }
        if self.session.liveness_challenges > 3 {
            out.push(("session.liveness_challenges", "must be between 0 and 3".into()));
        }
        if self.session.liveness_challenges == 0 && !self.camera.allow_replay {
            out.push(("session.liveness_challenges", "active liveness may only be turned off for replayed demo and test sources".into()));
        }
        if self.session.fixed_date.is_some() && !self.camera.allow_replay {
            out.push(("session.fixed_date", "a fixed date is for tests with a replayed source; remove it to use the system clock".into()));
        }
        if self.session.draw_seed.is_some() && !self.camera.allow_replay {
            out.push(("session.draw_seed", "a fixed seed makes the challenges predictable; only for replayed test sources".into()));
        }
        if self.session.subject_timeout < Duration::from_secs(5) {
            out.push(("session.subject_timeout", "must be at least 5s".into()));
        }
        match self.kiosk.listen.parse::<SocketAddr>() {
            Err(_) => out.push(("kiosk.listen", format!("{:?} is not an address such as 127.0.0.1:8080", self.kiosk.listen))),
            Ok(a) if !a.ip().is_loopback() => {
                out.push(("kiosk.listen", "must be a loopback address: the kiosk page shows the subject's face".into()))
            }
            Ok(_) => {}
        }
        if !self.kiosk.require_consent && !self.camera.allow_replay {
            out.push(("kiosk.require_consent", "consent may only be skipped by unattended tests with a replayed source".into()));
        }
        for (key, texts) in self.kiosk.centre.entries() {
            for (lang, text) in [("kk", &texts.kk), ("ru", &texts.ru), ("en", &texts.en)] {
                if text.trim().is_empty() || text.chars().count() > 400 {
                    out.push(("kiosk.centre", format!("{key}.{lang} must be 1 to 400 characters")));
                }
            }
        }
        if !(1..=30).contains(&self.kiosk.preview_fps) {
            out.push(("kiosk.preview_fps", "must be between 1 and 30".into()));
        }
        if self.status.listen.parse::<SocketAddr>().is_err() {
            out.push(("status.listen", format!("{:?} is not an address such as 0.0.0.0:8444", self.status.listen)));
        }
        match &self.status.password_hash {
            Some(h) if argon2::PasswordHash::new(h).is_err() => {
                out.push(("status.password_hash", "not an Argon2 PHC string; make one with `idverifd hash-password`".into()))
            }
            None if !self.device.demo => {
                out.push(("status.password_hash", "missing: technicians need a password; make one with `idverifd hash-password`".into()))
            }
            _ => {}
        }
        if self.store.purge_interval < Duration::from_secs(1) {
            out.push(("store.purge_interval", "must be at least 1s".into()));
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&self.store.audit_checkpoint_interval) {
            out.push(("store.audit_checkpoint_interval", "must be between 1s and 1h: the trail is signed at least hourly".into()));
        }
        if let Some(webhooks) = &self.webhooks {
            out.extend(webhooks.problems(self.camera.allow_replay));
        }
        out
    }
}
