//! For conformance tests: with `IDVERIFD_RESPONSE_LOG=FILE` the registration API
//! appends one JSON line per response (method, route template, status, content
//! type, and the body when it is JSON) and one per Server-Sent Event's data, so a
//! test can check every answer against the OpenAPI document. Off unless set. The
//! API's JSON never carries personal data; the signed result (`application/jose`)
//! is logged by length only.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use serde_json::{Value, json};

/// Largest JSON body kept whole; API bodies are far smaller.
const MAX_LOGGED: usize = 1 << 20;

#[derive(Clone)]
pub struct ResponseLog(Arc<Mutex<std::fs::File>>);

impl ResponseLog {
    /// The log named by `IDVERIFD_RESPONSE_LOG`, if set.
    pub fn from_env() -> Option<Self> {
        let path = std::env::var_os("IDVERIFD_RESPONSE_LOG")?;
        match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => Some(Self(Arc::new(Mutex::new(file)))),
            Err(e) => {
                tracing::warn!(path = %std::path::Path::new(&path).display(), error = %e, "response log not opened");
                None
            }
        }
    }

    fn write(&self, line: &Value) {
        let mut file = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(file, "{line}");
    }
}

pub async fn record(State(log): State<ResponseLog>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let entry = json!({"method": method, "route": route, "status": status, "content_type": content_type});
    let (parts, body) = response.into_parts();
    if content_type.starts_with("text/event-stream") {
        // Each chunk is one whole event as axum frames it; log its data.
        let events = body.into_data_stream().inspect(move |chunk| {
            let Ok(chunk) = chunk else { return };
            for data in String::from_utf8_lossy(chunk).lines().filter_map(|l| l.strip_prefix("data: ")) {
                let data: Value = serde_json::from_str(data).unwrap_or(Value::String(data.to_string()));
                log.write(&json!({"method": method, "route": route, "sse_data": data}));
            }
        });
        return Response::from_parts(parts, Body::from_stream(events));
    }
    let bytes = axum::body::to_bytes(body, MAX_LOGGED).await.unwrap_or_default();
    let mut entry = entry;
    if content_type.starts_with("application/json") {
        entry["body"] = serde_json::from_slice(&bytes).unwrap_or(Value::String("<not JSON>".into()));
    } else {
        entry["body_bytes"] = json!(bytes.len());
    }
    log.write(&entry);
    Response::from_parts(parts, Body::from(bytes))
}
