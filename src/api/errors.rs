//! Every refusal in one shape: `{"error": {"code", "message"}}`, whatever produced
//! it — a handler, an extractor's rejection (bad path, query or body), the router's
//! 404 and 405, or a limit. Early refusals first read what the client is still
//! sending, so an HTTP/2 client gets the response instead of a reset stream.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use futures_util::StreamExt;

/// Every error response's body.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: `invalid_request`, `unauthenticated`, `not_found`,
    /// `session_running`, `nonce_reused`, `already_ended`, `not_decided`, `purged`,
    /// `disk_full`, `too_many_streams`, `body_too_large`, `unsupported_media_type`, …
    #[schema(example = "not_found")]
    pub code: String,
    /// For people: what was wrong and what to do. Never personal data.
    #[schema(example = "no such verification")]
    pub message: String,
}

impl ErrorBody {
    pub fn json(code: &str, message: impl Into<String>) -> Json<ErrorBody> {
        Json(ErrorBody { error: ErrorDetail { code: code.to_string(), message: message.into() } })
    }
}

/// A client-facing error: a stable code, a plain message, the right status.
#[derive(Debug)]
pub struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    /// No id in the message: whether an id exists is itself not told to strangers.
    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such verification")
    }

    /// 507: the disk is full; nothing new can be kept until space is freed.
    pub(crate) fn disk_full(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "disk full: new verification refused");
        Self::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "disk_full",
            "the device's disk is full; no new verification can be stored until space is freed",
        )
    }

    pub(crate) fn storage(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "store failure answered as 503");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", "the device's storage is failing; try again later")
    }

    /// 429 with the seconds to wait.
    pub(crate) fn too_many(code: &'static str, message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self { retry_after: Some(retry_after_secs.max(1)), ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, message) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, ErrorBody::json(self.code, self.message)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The stable code for a status that reached us without one (the router's own
/// 404/405, an extractor's rejection, a body limit).
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "invalid_request",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_request",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        s if s.is_server_error() => "internal_error",
        _ => "request_refused",
    }
}

/// Outermost layer of every router: an error response that is not already JSON
/// becomes the contract's shape. The original text is kept as the message when
/// it is short plain text from our own stack (serde's and axum's rejections say
/// which field or header is wrong and never echo values).
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match tokio::time::timeout(Duration::from_secs(1), axum::body::to_bytes(body, 4096)).await {
        Ok(Ok(bytes)) => String::from_utf8(bytes.to_vec()).unwrap_or_default(),
        _ => String::new(),
    };
    let message = match text.trim() {
        t if !t.is_empty() && t.len() <= 300 => t.to_string(),
        _ => status.canonical_reason().unwrap_or("refused").to_lowercase(),
    };
    let body = serde_json::to_vec(&ErrorBody::json(code_for(status), message).0).unwrap_or_default();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// How much of an unread request body an early refusal still reads, and for how
/// long: enough for any request this API accepts, so the client finishes sending
/// and sees the answer. Beyond it the stream is reset, as for any oversized upload.
pub const DRAIN_LIMIT: usize = 256 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads (and discards) what remains of a refused request's body. Over HTTP/2 a
/// response sent while the client is still uploading ends with RST_STREAM, which
/// curl 7.88 reports as "Stream error in the HTTP/2 framing layer" instead of the
/// answer; over HTTP/1.1 it would leave bytes that hyper must skip.
pub async fn drain(body: Body) {
    let mut data = body.into_data_stream();
    let mut read = 0usize;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(Ok(chunk)) = data.next().await {
            read += chunk.len();
            if read > DRAIN_LIMIT {
                return;
            }
        }
    })
    .await;
}

/// A request body must arrive within this.
const BODY_TIME: Duration = Duration::from_secs(10);

/// Reads the whole request body (at most `max` bytes kept) before anything looks
/// at the request, so every refusal — credentials, size, type, syntax — is sent
/// after the client has finished sending and reaches an HTTP/2 client intact.
/// Bodies over `max` are read on up to [`DRAIN_LIMIT`] and refused with 413.
pub async fn read_body_first(max: usize, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let mut data = body.into_data_stream();
    let mut kept = Vec::new();
    let mut total = 0usize;
    let read = tokio::time::timeout(BODY_TIME, async {
        while let Some(chunk) = data.next().await {
            let chunk = chunk.map_err(|_| ())?;
            total += chunk.len();
            if total <= max {
                kept.extend_from_slice(&chunk);
            } else if total > DRAIN_LIMIT {
                return Ok(());
            }
        }
        Ok::<(), ()>(())
    })
    .await;
    let refusal = match read {
        Err(_) => Some(ApiError::new(StatusCode::REQUEST_TIMEOUT, "body_timeout", "the request body did not arrive in time")),
        Ok(_) if total > max => Some(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body is larger than {max} bytes"),
        )),
        Ok(Err(())) => Some(ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", "the request body could not be read")),
        Ok(Ok(())) => None,
    };
    match refusal {
        Some(refusal) => refusal.into_response(),
        None => next.run(Request::from_parts(parts, Body::from(kept))).await,
    }
}

/// Refuses `request` with `refusal` after draining its body.
pub async fn refuse(request: Request, refusal: Response) -> Response {
    drain(request.into_body()).await;
    refusal
}

/// The router fallbacks: unknown path, wrong method.
pub async fn no_such_endpoint(request: Request) -> Response {
    refuse(request, ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()).await
}

pub async fn method_not_allowed(request: Request) -> Response {
    let message = format!("{} is not allowed on this endpoint", request.method());
    refuse(request, ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", message).into_response()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use tower::ServiceExt;

    async fn call(router: Router, request: axum::http::Request<Body>) -> (StatusCode, serde_json::Value) {
        let response = router.oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }

    #[tokio::test]
    async fn extractor_rejections_and_router_refusals_come_back_as_json() {
        #[derive(serde::Deserialize)]
        struct Body1 {
            #[allow(dead_code)]
            a: u32,
        }
        let router = || {
            Router::new()
                .route("/x/{n}", post(|axum::extract::Path(_n): axum::extract::Path<u32>, Json(_b): Json<Body1>| async { "ok" }))
                .fallback(no_such_endpoint)
                .method_not_allowed_fallback(method_not_allowed)
                .layer(axum::middleware::from_fn(json_errors))
        };
        let req = |method: &str, uri: &str, ct: Option<&str>, body: &str| {
            let mut b = axum::http::Request::builder().method(method).uri(uri);
            if let Some(ct) = ct {
                b = b.header("content-type", ct);
            }
            b.body(Body::from(body.to_string())).unwrap()
        };
        for (request, status, code) in [
            (req("POST", "/x/notanumber", Some("application/json"), "{\"a\":1}"), 400, "invalid_request"),
            (req("POST", "/x/1", Some("application/json"), "{\"a\":"), 400, "invalid_request"),
            (req("POST", "/x/1", Some("application/json"), "{\"a\":\"s\"}"), 422, "invalid_request"),
            (req("POST", "/x/1", None, "{\"a\":1}"), 415, "unsupported_media_type"),
            (req("GET", "/x/1", None, ""), 405, "method_not_allowed"),
            (req("GET", "/nowhere", None, ""), 404, "not_found"),
        ] {
            let (got, body) = call(router(), request).await;
            assert_eq!(got.as_u16(), status, "{body}");
            assert_eq!(body["error"]["code"], code, "{body}");
            assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        }
    }
}
