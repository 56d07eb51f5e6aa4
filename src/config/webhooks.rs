//! `[webhooks]`: where decisions are pushed (Standard Webhooks). HTTPS, or plain
//! HTTP to a loopback address only (a receiver on the same box); the body carries
//! the signed result, which holds personal data, so it never crosses a network in
//! the clear.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The events a registration server can ask for.
pub const EVENTS: [&str; 3] = ["verification.decided", "verification.started", "verification.interrupted"];

/// The back-off's first step in production.
pub const DEFAULT_FIRST_RETRY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhooksConfig {
    /// The receiver, e.g. `https://registration.example/idverifd`.
    pub url: String,
    /// PEM certificate(s) to trust for the receiver instead of the public web roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Which events are sent (`verification.decided`, `.started`, `.interrupted`).
    #[serde(default = "default_events")]
    pub events: Vec<String>,
    /// The base of `result_url` in each body, as the receiver reaches the API
    /// (default: `https://` and the API's listening address).
    #[serde(default)]
    pub api_base_url: Option<String>,
    /// Tests only: the back-off's first step (5s otherwise), so a test sees its
    /// retries in seconds. Refused unless camera.allow_replay.
    #[serde(default, with = "super::humantime_serde_compat::option")]
    pub first_retry: Option<Duration>,
}

fn default_events() -> Vec<String> {
    vec![EVENTS[0].to_string()]
}

impl WebhooksConfig {
    pub fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }

    pub fn first_retry(&self) -> Duration {
        self.first_retry.unwrap_or(DEFAULT_FIRST_RETRY)
    }

    /// (field, why) for each problem; `allow_replay` admits the test-only setting.
    pub fn problems(&self, allow_replay: bool) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match receiver_scheme(&self.url) {
            Err(why) => out.push(("webhooks.url", why)),
            Ok(Scheme::Http) if self.ca_file.is_some() => {
                out.push(("webhooks.ca_file", "only for an https:// url".into()));
            }
            Ok(_) => {}
        }
        if let Some(path) = &self.ca_file {
            match std::fs::read(path) {
                Err(e) => out.push(("webhooks.ca_file", format!("{}: {e}", path.display()))),
                Ok(pem) => {
                    let certs = rustls_pemfile::certs(&mut pem.as_slice()).collect::<Result<Vec<_>, _>>();
                    if !certs.is_ok_and(|c| !c.is_empty()) {
                        out.push(("webhooks.ca_file", format!("{}: no PEM certificate in it", path.display())));
                    }
                }
            }
        }
        if self.events.is_empty() {
            out.push(("webhooks.events", format!("name at least one of {}", EVENTS.join(", "))));
        }
        for event in &self.events {
            if !EVENTS.contains(&event.as_str()) {
                out.push(("webhooks.events", format!("{event:?} is not one of {}", EVENTS.join(", "))));
            }
        }
        if let Some(base) = &self.api_base_url
            && !base.starts_with("https://")
        {
            out.push(("webhooks.api_base_url", "must start with https:// (the API is served over TLS only)".into()));
        }
        if self.first_retry.is_some() && !allow_replay {
            out.push(("webhooks.first_retry", "a short back-off is for tests with a replayed source; remove it".into()));
        }
        out
    }
}

#[derive(Debug, PartialEq)]
pub enum Scheme {
    Https,
    Http,
}

/// The receiver's scheme, after checking that plain HTTP goes to loopback only.
pub fn receiver_scheme(url: &str) -> Result<Scheme, String> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else {
        return Err(format!("{url:?} must start with https:// (or http:// to a loopback address)"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host_of(authority).ok_or_else(|| format!("{url:?} has no host"))?;
    if scheme == Scheme::Http && !is_loopback(host) {
        return Err(format!(
            "{url:?}: plain http carries the signed result in the clear; use https://, or http:// only to a loopback address (127.0.0.1, ::1, localhost)"
        ));
    }
    Ok(scheme)
}

/// The host of `user@host:port` or `[v6]:port`.
fn host_of(authority: &str) -> Option<&str> {
    let authority = authority.rsplit('@').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then_some(host)
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_only_for_a_receiver_on_this_box() {
        assert_eq!(receiver_scheme("https://registration.example/idverifd"), Ok(Scheme::Https));
        assert_eq!(receiver_scheme("http://127.0.0.1:9000/hook"), Ok(Scheme::Http));
        assert_eq!(receiver_scheme("http://[::1]:9000/hook"), Ok(Scheme::Http));
        assert_eq!(receiver_scheme("http://localhost/hook"), Ok(Scheme::Http));
        for refused in ["http://registration.example/hook", "http://10.0.0.5/hook", "http://127.0.0.1.evil.example/", "ftp://x", "https:///x"] {
            assert!(receiver_scheme(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn every_problem_is_named_and_the_short_back_off_needs_a_replayed_source() {
        let config = WebhooksConfig {
            url: "http://192.0.2.1/hook".into(),
            ca_file: Some("/nonexistent/ca.pem".into()),
            events: vec!["verification.decided".into(), "verification.done".into()],
            api_base_url: Some("http://x".into()),
            first_retry: Some(Duration::from_millis(200)),
        };
        let fields: Vec<_> = config.problems(false).into_iter().map(|(f, _)| f).collect();
        for field in ["webhooks.url", "webhooks.ca_file", "webhooks.events", "webhooks.api_base_url", "webhooks.first_retry"] {
            assert!(fields.contains(&field), "{field} in {fields:?}");
        }
        let fine = WebhooksConfig { url: "http://127.0.0.1:1/".into(), ca_file: None, events: default_events(), api_base_url: None, first_retry: config.first_retry };
        assert!(fine.problems(true).is_empty());
        assert_eq!(fine.problems(false).len(), 1);
    }
}
