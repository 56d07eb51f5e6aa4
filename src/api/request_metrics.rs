//! API request latency for Prometheus, by route template (`/v1/verifications/{id}`,
//! never the id itself), method and status class: labels stay few and carry no
//! identifier. An event stream counts until its headers are sent.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use crate::telemetry::Telemetry;

/// The label for a request that matched no route.
const UNMATCHED: &str = "unmatched";

pub async fn observe(axum::extract::State(telemetry): axum::extract::State<Arc<Telemetry>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str).to_string();
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let class = format!("{}xx", response.status().as_u16() / 100);
    telemetry.api_requests.observe(&[&route, method, &class], started.elapsed());
    response
}

/// Methods the API serves keep their name; anything else is `other`, so a client
/// cannot make new label values.
fn method_label(method: &axum::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        _ => "other",
    }
}
