//! The kiosk's door: only the browser the appliance started may use it. Every
//! request needs this boot's kiosk key (the `X-Kiosk-Key` header, the `key` query
//! parameter, or the cookie set when the page was opened with `?key=`), a `Host`
//! naming the kiosk listener itself (no DNS rebinding), and no foreign `Origin`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use subtle::ConstantTimeEq;

use super::errors::{ApiError, refuse};

pub const KEY_HEADER: &str = "x-kiosk-key";
const COOKIE: &str = "idverifd_kiosk";

/// This boot's kiosk key and the names the listener answers to.
pub struct KioskDoor {
    key: String,
    hosts: Vec<String>,
}

impl KioskDoor {
    /// A fresh random key for the listener at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        let mut bytes = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self::with_key(addr, hex::encode(bytes))
    }

    pub fn with_key(addr: SocketAddr, key: String) -> Self {
        let port = addr.port();
        let mut hosts = vec![addr.to_string(), format!("localhost:{port}")];
        if addr.ip().is_loopback() && addr.is_ipv4() {
            hosts.push(format!("[::1]:{port}"));
        }
        Self { key, hosts }
    }

    /// The URL the kiosk browser opens.
    pub fn url(&self) -> String {
        format!("http://{}/?key={}", self.hosts[0], self.key)
    }

    fn key_matches(&self, candidate: &str) -> bool {
        candidate.len() == self.key.len() && bool::from(candidate.as_bytes().ct_eq(self.key.as_bytes()))
    }

    /// Why a request is refused, if it is.
    pub fn check(&self, request: &Request) -> Result<KeySource, ApiError> {
        let headers = request.headers();
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "wrong_host", "the kiosk answers only to its own address"));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let own = origin.to_str().ok().and_then(|o| o.strip_prefix("http://")).is_some_and(|o| self.hosts.iter().any(|h| h.eq_ignore_ascii_case(o)));
            if !own {
                return Err(ApiError::new(StatusCode::FORBIDDEN, "foreign_origin", "requests from other pages are refused"));
            }
        }
        let from_header = headers.get(KEY_HEADER).and_then(|v| v.to_str().ok());
        let from_query = request.uri().query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("key=")));
        let from_cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(COOKIE).and_then(|rest| rest.strip_prefix('=')));
        match (from_header, from_query, from_cookie) {
            (Some(k), _, _) if self.key_matches(k) => Ok(KeySource::Header),
            (_, Some(k), _) if self.key_matches(k) => Ok(KeySource::Query),
            (_, _, Some(k)) if self.key_matches(k) => Ok(KeySource::Cookie),
            _ => Err(ApiError::new(StatusCode::UNAUTHORIZED, "kiosk_key_required", "open the kiosk with the URL from `idverifd kiosk-url`")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Header,
    Query,
    Cookie,
}

/// The middleware. A page opened with `?key=` gets the key as a cookie, so its
/// scripts, event stream and images carry it without putting it in every URL.
pub async fn require_kiosk_key(State(door): State<Arc<KioskDoor>>, request: Request, next: Next) -> Response {
    match door.check(&request) {
        Ok(source) => {
            let mut response = next.run(request).await;
            if source == KeySource::Query
                && let Ok(cookie) = HeaderValue::from_str(&format!("{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict", door.key))
            {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            response
        }
        Err(refusal) => refuse(request, refusal.into_response()).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(host: &str, extra: &[(&str, &str)], uri: &str) -> Request {
        let mut b = axum::http::Request::builder().uri(uri).header("host", host);
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        b.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn the_key_host_and_origin_must_all_be_right() {
        let door = KioskDoor::with_key("127.0.0.1:8080".parse().unwrap(), "k".repeat(48));
        let key = "k".repeat(48);
        let ok = |r: &Request| door.check(r).map_err(|e| e.code);
        assert_eq!(ok(&request("127.0.0.1:8080", &[(KEY_HEADER, &key)], "/")), Ok(KeySource::Header));
        assert_eq!(ok(&request("localhost:8080", &[], &format!("/?a=1&key={key}"))), Ok(KeySource::Query));
        let cookie = format!("x=1; {COOKIE}={key}");
        assert_eq!(ok(&request("127.0.0.1:8080", &[("cookie", &cookie)], "/kiosk/api/session")), Ok(KeySource::Cookie));
        assert_eq!(ok(&request("127.0.0.1:8080", &[], "/")), Err("kiosk_key_required"));
        assert_eq!(ok(&request("127.0.0.1:8080", &[(KEY_HEADER, "kk")], "/")), Err("kiosk_key_required"));
        assert_eq!(ok(&request("evil.example:8080", &[(KEY_HEADER, &key)], "/")), Err("wrong_host"));
        assert_eq!(ok(&request("127.0.0.1:8081", &[(KEY_HEADER, &key)], "/")), Err("wrong_host"));
        let foreign = [(KEY_HEADER, key.as_str()), ("origin", "http://evil.example")];
        assert_eq!(ok(&request("127.0.0.1:8080", &foreign, "/")), Err("foreign_origin"));
        let own = [(KEY_HEADER, key.as_str()), ("origin", "http://127.0.0.1:8080")];
        assert_eq!(ok(&request("127.0.0.1:8080", &own, "/")), Ok(KeySource::Header));
    }
}
