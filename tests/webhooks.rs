//! Webhooks end to end: a real daemon pushes to a real receiver on loopback (plain
//! HTTP is allowed to loopback only). The receiver checks what a registration
//! server would: the Standard Webhooks signature with the device's JWKS key (Python
//! `cryptography`), the signed result inside with `joserfc`, and the same
//! `webhook-id` on every retry — across a kill -9 of the daemon too. The back-off's
//! first step is cut to 200 ms by the test-only `webhooks.first_retry`.

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{Daemon, TestConfig, eventually, repo, verify_with_joserfc};
use serde_json::Value;

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Received {
    headers: Vec<(String, String)>,
    body: String,
    at: SystemTime,
    answered: u16,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn is(&self, event: &str, session: &str) -> bool {
        let body = self.json();
        body["type"] == event && body["data"]["id"] == session
    }
}

/// A registration server's webhook endpoint: answers from a script (then 200) and
/// keeps every request.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    /// Answer for requests past the script.
    otherwise: Arc<Mutex<u16>>,
}

impl Receiver {
    async fn start(script: &[u16], otherwise: u16) -> (Receiver, SocketAddr) {
        let receiver = Receiver::default();
        *receiver.script.lock().unwrap() = script.iter().copied().collect();
        *receiver.otherwise.lock().unwrap() = otherwise;
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, addr)
    }

    fn answer_from_now(&self, status: u16) {
        *self.otherwise.lock().unwrap() = status;
    }

    fn matching(&self, event: &str, session: &str) -> Vec<Received> {
        self.got.lock().unwrap().iter().filter(|r| r.is(event, session)).cloned().collect()
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answered = receiver.script.lock().unwrap().pop_front().unwrap_or(*receiver.otherwise.lock().unwrap());
    let headers = headers.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string())).collect();
    let body = String::from_utf8_lossy(&body).into_owned();
    receiver.got.lock().unwrap().push(Received { headers, body, at: SystemTime::now(), answered });
    StatusCode::from_u16(answered).unwrap()
}

fn config_for(receiver: SocketAddr) -> TestConfig {
    let extra = format!(
        "\n[webhooks]\nurl = \"http://{receiver}/hook\"\nevents = [\"verification.decided\", \"verification.started\"]\nfirst_retry = \"200ms\"\n"
    );
    TestConfig { extra: Box::leak(extra.into_boxed_str()), ..TestConfig::default() }
}

/// Verifies one delivery's signature with Python `cryptography` and the daemon's
/// JWKS; returns the body the script read.
fn verify_delivery(jwks: &str, delivery: &Received, dir: &std::path::Path) -> Value {
    let (jwks_path, delivery_path) = (dir.join("webhook-jwks.json"), dir.join("delivery.json"));
    std::fs::write(&jwks_path, jwks).unwrap();
    let headers: serde_json::Map<String, Value> = delivery.headers.iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect();
    std::fs::write(&delivery_path, serde_json::json!({"headers": headers, "body": delivery.body}).to_string()).unwrap();
    let out = Command::new("python3")
        .arg(repo().join("tests/tools/verify_webhook.py"))
        .args([&jwks_path, &delivery_path])
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("python3 (installed by scripts/setup)");
    assert!(out.status.success(), "the webhook signature does not verify: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `idverifd webhooks …` against the stopped daemon's state.
fn webhooks_command(daemon: &Daemon, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_idverifd"))
        .arg("webhooks")
        .args(args)
        .arg("--config")
        .arg(&daemon.config_path)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ms_between(earlier: SystemTime, later: SystemTime) -> u128 {
    later.duration_since(earlier).unwrap_or_default().as_millis()
}

fn body_time(received: &Received) -> SystemTime {
    humantime::parse_rfc3339(received.json()["timestamp"].as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decision_arrives_signed_and_a_failing_receiver_gets_the_same_webhook_id_until_it_answers_2xx() {
    let (receiver, addr) = Receiver::start(&[], 200).await;
    let daemon = Daemon::start("webhooks-signed", &config_for(addr));
    let started = daemon.start_verification("nonce-webhook-1").await;
    let id = started["id"].as_str().unwrap().to_string();
    // The start goes out at once (answered 200); the decision then meets two 500s.
    assert!(eventually(Duration::from_secs(20), || !receiver.matching("verification.started", &id).is_empty()).await);
    *receiver.script.lock().unwrap() = [500, 500].into_iter().collect();
    let events = daemon.follow_events(&id, Duration::from_secs(60)).await;
    let decision = events.last().unwrap()["decision"].as_str().expect("a decision").to_string();

    let delivered = || receiver.matching("verification.decided", &id).iter().any(|r| r.answered == 200);
    assert!(eventually(Duration::from_secs(20), delivered).await, "decided webhook not delivered: {:?}\n{}", receiver.matching("verification.decided", &id), daemon.log_text());
    let attempts = receiver.matching("verification.decided", &id);
    let answers: Vec<u16> = attempts.iter().map(|r| r.answered).collect();
    assert_eq!(answers, [500, 500, 200], "one delivery after two refusals, nothing after the 2xx");
    let webhook_id = attempts[0].header("webhook-id").to_string();
    assert!(attempts.iter().all(|r| r.header("webhook-id") == webhook_id), "the webhook-id is stable across retries");
    let started_id = receiver.matching("verification.started", &id)[0].header("webhook-id").to_string();
    assert_ne!(started_id, webhook_id, "each announcement has its own id");

    // Every attempt verifies with the device's JWKS; the body is thin and carries the signed result.
    let (_, jwks) = daemon.get_text("/.well-known/jwks.json").await;
    for attempt in &attempts {
        let body = verify_delivery(&jwks, attempt, &daemon.dir);
        assert_eq!(body, attempts[0].json(), "the same body on every attempt");
    }
    let body = attempts[2].json();
    let data = &body["data"];
    assert_eq!((data["id"].as_str(), data["reference"].as_str()), (Some(id.as_str()), Some("reg-42")));
    assert_eq!((data["decision"].as_str(), data["version"].as_u64()), (Some(decision.as_str()), Some(1)));
    assert_eq!(data["result_url"].as_str().unwrap(), format!("{}/v1/verifications/{id}/result", daemon.url));
    let (_, served) = daemon.get_text(&format!("/v1/verifications/{id}/result")).await;
    assert_eq!(data["result"].as_str().unwrap(), served, "the JWS the API serves");
    let payload = verify_with_joserfc(&jwks, &served, "nonce-webhook-1", &daemon.dir);
    assert_eq!(payload["payload"]["version"], 1, "{payload}");
    assert!(!body.to_string().contains("base64") && body.to_string().len() < 16_000, "no images in a thin body");

    let (_, metrics) = daemon.get_text("/metrics").await;
    let value = |line: &str| metrics.lines().find(|l| l.starts_with(line)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse::<f64>().ok());
    assert_eq!(value("idverifd_webhook_deliveries_total "), Some(2.0), "started and decided:\n{metrics}");
    assert_eq!(value("idverifd_webhook_failures_total{reason=\"http_status\"}"), Some(2.0));
    assert!(!metrics.contains(&webhook_id) && !metrics.contains(&id), "no ids in metric labels");
    let status: Value = serde_json::from_str(&daemon.status_text().await).unwrap();
    assert_eq!(status["store"]["webhooks"]["delivered"], 2, "{}", status["store"]);

    eprintln!(
        "webhook latency: decision stored -> first attempt {} ms; -> delivered after two 500s {} ms (first_retry 200ms)",
        ms_between(body_time(&attempts[0]), attempts[0].at),
        ms_between(body_time(&attempts[2]), attempts[2].at),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_pending_across_a_kill_9_is_delivered_after_restart() {
    let (receiver, addr) = Receiver::start(&[], 503).await;
    let mut daemon = Daemon::start("webhooks-kill9", &config_for(addr));
    let started = daemon.start_verification("nonce-webhook-2").await;
    let id = started["id"].as_str().unwrap().to_string();
    let events = daemon.follow_events(&id, Duration::from_secs(60)).await;
    assert!(events.last().unwrap()["decision"].is_string(), "{events:?}");
    assert!(eventually(Duration::from_secs(20), || !receiver.matching("verification.decided", &id).is_empty()).await);
    daemon.kill9();
    let refused = receiver.matching("verification.decided", &id);
    let webhook_id = refused[0].header("webhook-id").to_string();

    // While the daemon is down the outbox says it is owed.
    let (code, listed) = webhooks_command(&daemon, &["list"]);
    assert_eq!(code, 0);
    let owed: Value = listed.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|d| d["id"] == webhook_id.as_str()).expect("listed");
    // (The kill may land between the receiver's 503 and the worker recording it: still owed.)
    assert_eq!(owed["state"], "pending", "{owed}");
    assert!(owed["last_status"].is_null() || owed["last_status"] == 503, "{owed}");
    assert!(!listed.contains("reg-42") && !listed.contains("eyJ"), "the list shows no body");

    // The operator asks for it now rather than at the next back-off step (audited).
    assert_eq!(webhooks_command(&daemon, &["retry", &webhook_id]).0, 0);
    assert_eq!(webhooks_command(&daemon, &["retry", "msg_unknown"]).0, 2, "an unknown id is a usage error");
    let (_, listed) = webhooks_command(&daemon, &["list"]);
    let retried = listed.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|d| d["id"] == webhook_id.as_str()).unwrap();
    assert_eq!((retried["state"].as_str(), retried["attempts"].as_u64()), (Some("pending"), Some(0)), "a fresh back-off: {retried}");

    receiver.answer_from_now(200);
    daemon.launch();
    let delivered = || receiver.matching("verification.decided", &id).iter().any(|r| r.answered == 200);
    assert!(eventually(Duration::from_secs(20), delivered).await, "not delivered after restart:\n{}", daemon.log_text());
    let after = receiver.matching("verification.decided", &id);
    assert!(after.iter().all(|r| r.header("webhook-id") == webhook_id), "the same webhook-id after the restart");
    let (_, jwks) = daemon.get_text("/.well-known/jwks.json").await;
    verify_delivery(&jwks, after.last().unwrap(), &daemon.dir);
    daemon.stop_cleanly();
    let (_, listed) = webhooks_command(&daemon, &["list"]);
    let state = listed.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()).find(|d| d["id"] == webhook_id.as_str()).unwrap();
    assert_eq!((state["state"].as_str(), state["last_status"].as_u64()), (Some("delivered"), Some(200)), "{state}");
    let trail = Command::new(env!("CARGO_BIN_EXE_idverifd")).args(["audit", "export", "--config"]).arg(&daemon.config_path).output().unwrap();
    assert!(String::from_utf8_lossy(&trail.stdout).contains(&format!("webhook_retry_requested:{webhook_id}")), "the retry is in the audit trail");
}

#[test]
fn validate_names_every_webhook_problem_and_accepts_a_loopback_receiver() {
    let dir = common::temp_dir("webhooks-validate");
    let config = |extra: &'static str| {
        let path = dir.join("idverifd.toml");
        std::fs::write(&path, TestConfig { extra, ..TestConfig::default() }.render(&dir.join("state"))).unwrap();
        Command::new(env!("CARGO_BIN_EXE_idverifd")).args(["validate", "--config"]).arg(&path).output().unwrap()
    };
    let bad = config("\n[webhooks]\nurl = \"http://registration.example/hook\"\nevents = [\"verification.finished\"]\nca_file = \"/nonexistent/ca.pem\"\n");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    for field in ["webhooks.url", "webhooks.events", "webhooks.ca_file"] {
        assert!(stderr.contains(field), "{field} named in: {stderr}");
    }
    let good = config("\n[webhooks]\nurl = \"http://127.0.0.1:9/hook\"\n");
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}
