//! What a registration server sees when it gets things wrong, and how clients
//! authenticate: bearer token or pinned client certificate.

mod common;

use common::{Daemon, TOKEN, TestConfig};
use serde_json::{Value, json};

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error body: {body}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn mistakes_get_clear_errors_and_lose_nothing() {
    let daemon = Daemon::start("api-errors", &TestConfig::default());
    let client = daemon.client();
    let url = |p: &str| format!("{}{p}", daemon.url);
    let good = json!({"reference": "reg-1", "nonce": "nonce-api-0001", "language": "ru"});

    // No credential, or a wrong one: 401, and the session is not started.
    let r = client.post(url("/v1/verifications")).json(&good).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(error_code(&r.json().await.unwrap()), "unauthenticated");
    let r = client.post(url("/v1/verifications")).bearer_auth("not-the-token").json(&good).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // Malformed JSON: 400 with a message saying what is wrong.
    let r = client
        .post(url("/v1/verifications"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"reference\": \"x\", ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(error_code(&body), "invalid_request");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    // A missing field and a bad language are named.
    let r = client.post(url("/v1/verifications")).bearer_auth(TOKEN).json(&json!({"reference": "x", "language": "ru"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("nonce"));
    let r = client
        .post(url("/v1/verifications"))
        .bearer_auth(TOKEN)
        .json(&json!({"reference": "x", "nonce": "nonce-api-0002", "language": "de"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A short nonce is refused: it must be unpredictable to prevent replay.
    let r = client.post(url("/v1/verifications")).bearer_auth(TOKEN).json(&json!({"reference": "x", "nonce": "1", "language": "ru"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    // Wrong content type.
    let r = client.post(url("/v1/verifications")).bearer_auth(TOKEN).body(good.to_string()).send().await.unwrap();
    assert_eq!(r.status(), 415);

    // One session at a time per camera: the second gets 409, without the first's id.
    let first = daemon.start_verification("nonce-api-0003").await;
    let id = first["id"].as_str().unwrap();
    let r = client
        .post(url("/v1/verifications"))
        .bearer_auth(TOKEN)
        .json(&json!({"reference": "reg-2", "nonce": "nonce-api-0004", "language": "ru"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(error_code(&body), "session_running");
    assert!(!body["error"]["message"].as_str().unwrap().contains(id), "{body}");

    // Not decided yet: no result.
    let (status, body) = daemon.get_json(&format!("/v1/verifications/{id}/result")).await;
    assert_eq!((status, error_code(&body)), (409, "not_decided"));
    // Unknown ids: 404.
    let (status, body) = daemon.get_json("/v1/verifications/vf_nope").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));

    // Cancel: the session ends cancelled and the camera is free again.
    let r = client.post(url(&format!("/v1/verifications/{id}/cancel"))).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
    let r = client.post(url(&format!("/v1/verifications/{id}/cancel"))).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 409);

    // A nonce is single-use, even after its session ended.
    let r = client
        .post(url("/v1/verifications"))
        .bearer_auth(TOKEN)
        .json(&json!({"reference": "reg-3", "nonce": "nonce-api-0003", "language": "ru"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(error_code(&r.json().await.unwrap()), "nonce_reused");
    daemon.start_verification("nonce-api-0005").await;

    // /healthz needs no credential and says only up; metrics need one and count what happened.
    let r = client.get(url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let health: Value = r.json().await.unwrap();
    assert_eq!(health, json!({"status": "up"}));
    assert_eq!(client.get(url("/metrics")).send().await.unwrap().status(), 401);
    let metrics = client.get(url("/metrics")).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("idverifd_sessions_ended_total{outcome=\"cancelled\"} 1"), "{metrics}");
    assert!(metrics.contains("idverifd_sessions_started_total 2"), "{metrics}");
    let (status, body) = daemon.get_json("/no/such/path").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pinned_client_certificate_is_a_credential_and_an_unpinned_one_is_refused() {
    let pinned = rcgen::generate_simple_self_signed(vec!["registration-server".to_string()]).unwrap();
    let stranger = rcgen::generate_simple_self_signed(vec!["stranger".to_string()]).unwrap();
    let fingerprint = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(pinned.cert.der()));
    let config = TestConfig { client_cert_sha256: vec![fingerprint], ..TestConfig::default() };
    let daemon = Daemon::start("mtls", &config);
    let identity = |c: &rcgen::CertifiedKey| {
        reqwest::Identity::from_pem(format!("{}{}", c.cert.pem(), c.key_pair.serialize_pem()).as_bytes()).unwrap()
    };
    let body = json!({"reference": "reg-1", "nonce": "nonce-mtls-0001", "language": "kk"});

    let with_pinned = daemon.client_builder().identity(identity(&pinned)).build().unwrap();
    let r = with_pinned.post(format!("{}/v1/verifications", daemon.url)).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201, "no token needed with a pinned certificate");

    let with_stranger = daemon.client_builder().identity(identity(&stranger)).build().unwrap();
    let refused = with_stranger.get(format!("{}/healthz", daemon.url)).send().await;
    let error = refused.expect_err("an unpinned client certificate must not get an answer");
    // Refused by the TLS layer for the certificate, not some other failure
    // (a timeout or a refused port would also be an error).
    let chain = error_chain(&error).to_lowercase();
    eprintln!("refusal: {chain}");
    assert!(chain.contains("certificate") || chain.contains("alert"), "not a TLS refusal: {chain}");

    // Without a certificate the token still works.
    let r = daemon.client().get(format!("{}/healthz", daemon.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// The error and all its sources, one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}
