//! The OpenAPI 3.1 document of the registration API, built from the handlers'
//! own `#[utoipa::path]` annotations and body types as the router is assembled
//! (utoipa-axum), so a route cannot be served without being described. Served at
//! `GET /openapi.json` and printed by `idverifd openapi`.

use std::sync::OnceLock;

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::session::SessionEvent;

/// Names of the security schemes (the handlers' `security(...)` spell them out too).
pub const BEARER: &str = "bearer";
pub const MUTUAL_TLS: &str = "mutualTLS";
pub const SCRAPE_TOKEN: &str = "scrapeToken";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "idverifd registration API",
        description = "Start identity verifications on an exam-centre appliance, follow them \
            (Server-Sent Events), and fetch the signed result (compact JWS, Ed25519, verifiable \
            with `/.well-known/jwks.json`). Errors are `{\"error\": {\"code\", \"message\"}}` with a \
            stable code; no response carries a subject's personal data except the signed result.",
        license(name = "MIT", identifier = "MIT"),
    ),
    modifiers(&SecuritySchemes),
    components(schemas(SessionEvent)),
    tags(
        (name = "verifications", description = "Sessions: start, follow, cancel, result"),
        (name = "device", description = "Keys, health, metrics and this document"),
    ),
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some("A client token whose SHA-256 is in `api.client_token_sha256`.".into());
        components.add_security_scheme(BEARER, SecurityScheme::Http(bearer));
        components.add_security_scheme(
            MUTUAL_TLS,
            SecurityScheme::MutualTls {
                description: Some("A client certificate whose SHA-256 is pinned in `api.client_cert_sha256`.".into()),
                deprecated: None,
                extensions: None,
            },
        );
        let mut scrape = Http::new(HttpAuthScheme::Bearer);
        scrape.description = Some("The Prometheus scrape token whose SHA-256 is `api.metrics_token_sha256`.".into());
        components.add_security_scheme(SCRAPE_TOKEN, SecurityScheme::Http(scrape));
    }
}

/// The document as built from the routes, with what OpenAPI 3.1 cannot say
/// through the macros: the SSE stream's events.
pub fn document() -> serde_json::Value {
    let (_, paths) = super::documented_routes(utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())).split_for_parts();
    let mut doc = serde_json::to_value(&paths).expect("the OpenAPI document serialises");
    let stream = &mut doc["paths"]["/v1/verifications/{id}/events"]["get"]["responses"]["200"]["content"]["text/event-stream"];
    // OpenAPI 3.1 has no keyword for one event (3.2's `itemSchema`): as tools read
    // 3.1 documents (schemathesis among them), `schema` describes each event, in the
    // shape 3.2 gives an event-stream item.
    stream["schema"] = serde_json::json!({
        "type": "object",
        "description": "One Server-Sent Event. Stored events are replayed first, then live ones; the \
            stream ends after the decision or another final status. `id` is the event's sequence number.",
        "required": ["event", "id", "data"],
        "properties": {
            "event": {"type": "string", "enum": SSE_EVENTS},
            "id": {"type": "string", "pattern": "^[0-9]+$"},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": {"$ref": "#/components/schemas/SessionEvent"},
            },
            "retry": {"type": "integer", "minimum": 0},
        },
    });
    doc
}

/// The SSE `event:` names: [`crate::session::EventKind::name`], which is also each event's `type`.
const SSE_EVENTS: [&str; 8] = ["status", "stage", "prompt", "camera", "consent", "guardian_declaration", "flash", "decision"];

/// The document as served, built once.
pub fn document_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| serde_json::to_string_pretty(&document()).expect("the OpenAPI document serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_described_with_its_security_and_the_sse_names_are_the_event_types() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let operations: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
        assert_eq!(operations, 9, "{:#}", doc["paths"]);
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let open = ["/healthz", "/.well-known/jwks.json", "/openapi.json"].contains(&path.as_str());
                assert_eq!(op.get("security").is_none(), open, "{method} {path}: security {:?}", op.get("security"));
            }
        }
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        assert_eq!(schemes["mutualTLS"]["type"], "mutualTLS");
        assert_eq!(schemes["bearer"]["scheme"], "bearer");
        // Each SSE event name is one of EventKind's `type` values, and every one is named.
        let mut types: Vec<String> = doc["components"]["schemas"]["EventKind"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|v| v["properties"]["type"]["enum"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()))
            .collect();
        let mut names: Vec<String> = SSE_EVENTS.iter().map(|s| s.to_string()).collect();
        types.sort();
        names.sort();
        assert_eq!(types, names);
    }
}
