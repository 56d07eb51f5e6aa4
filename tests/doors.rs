//! The doors under attack: the real daemon on loopback, flooded and probed the
//! way a laptop on the exam-centre network could. Every attack is bounded in
//! count and time; the figures are printed, the behaviour a user would notice
//! (refusals, a session that still ends, a cancel that still works) is asserted.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Daemon, TECHNICIAN_PASSWORD, TOKEN, TestConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OTHER_TOKEN: &str = "second-registration-server-token-42";
const METRICS_TOKEN: &str = "prometheus-scrape-token-0123456789";

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn port(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().trim_end_matches('/').parse().unwrap()
}

/// Every JSON refusal has the contract's shape.
fn assert_error_shape(body: &Value, context: &str) -> String {
    let code = body["error"]["code"].as_str().unwrap_or_else(|| panic!("{context}: no error.code in {body}"));
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{context}: {body}");
    code.to_string()
}

fn curl(daemon: &Daemon, args: &[&str]) -> std::process::Output {
    let cert = daemon.state().join("tls/server.crt");
    Command::new("curl").arg("--cacert").arg(cert).args(["-s", "--max-time", "60"]).args(args).output().expect("curl (Debian package)")
}

async fn session_status(daemon: &Daemon, id: &str) -> String {
    daemon.get_json(&format!("/v1/verifications/{id}")).await.1["status"].as_str().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_flood_over_h2_is_bounded_and_a_session_alongside_still_ends() {
    let daemon = Daemon::start("doors-flood", &TestConfig { subject_timeout: "60s", ..TestConfig::default() });
    let id = daemon.start_verification("nonce-doors-flood-1").await["id"].as_str().unwrap().to_string();
    let pid = daemon.pid();
    // The baseline once the session's own analysis has warmed up, and after one
    // real login (the status page's first use).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let r = daemon.client().get(format!("{}/status.json", daemon.status_url)).basic_auth("technician", Some(TECHNICIAN_PASSWORD)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let before = rss_mib(pid);
    let peak = Arc::new(std::sync::Mutex::new(before));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (Arc::clone(&peak), Arc::clone(&sampling));
        std::thread::spawn(move || {
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                let now = rss_mib(pid);
                let mut p = peak.lock().unwrap();
                *p = p.max(now);
                drop(p);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    // 1000 wrong passwords, 200 at a time, multiplexed over HTTP/2 by curl.
    let started = Instant::now();
    let url = format!("{}/status.json?n=[1-1000]", daemon.status_url);
    let out = curl(
        &daemon,
        &["--http2", "--parallel", "--parallel-max", "200", "-u", "technician:wrong-password", "-w", "\n%{http_code} %{http_version}\n", &url],
    );
    let flood_time = started.elapsed();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    sampler.join().unwrap();
    // "CODE VERSION" per request; code 000 is a connection closed at once by the
    // per-client connection cap (curl opens more connections than it multiplexes).
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let results: Vec<(u16, String)> = stdout
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(code, _)| code.len() == 3)
        .filter_map(|(code, version)| Some((code.parse().ok()?, version.to_string())))
        .collect();
    let count = |c: u16| results.iter().filter(|(x, _)| *x == c).count();
    let over_h2 = results.iter().filter(|(c, v)| *c != 0 && v == "2").count();
    let growth = *peak.lock().unwrap() - before;
    println!(
        "password flood: 1000 requests in {:.1} s — 429: {}, 401: {}, connection refused by the cap: {}, other: {}; {over_h2} answers over h2; RSS {before:.0} MiB before, peak growth {growth:.1} MiB",
        flood_time.as_secs_f64(),
        count(429),
        count(401),
        count(0),
        results.len() - count(429) - count(401) - count(0)
    );
    assert_eq!(results.len(), 1000, "curl stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(429) + count(401) + count(0), 1000, "{stdout}");
    assert_eq!(over_h2, count(429) + count(401), "answers came over HTTP/2");
    assert!(count(429) > 500, "most answers are 429: {}", count(429));
    assert!(growth < 150.0, "RSS grew by {growth:.1} MiB");
    // The log is read from the daemon's stderr by another thread: give it time under load.
    let logged = common::eventually(Duration::from_secs(10), || daemon.log_text().contains("status page login failed")).await;
    assert!(logged, "failures are logged");
    assert!(!daemon.log_text().contains("wrong-password"), "no password in the log");

    // The right password works at once from another address, and from the
    // flooding one once its lock-out has passed.
    let other = daemon.client_builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).build().unwrap();
    let r = other.get(format!("{}/status.json", daemon.status_url)).basic_auth("technician", Some(TECHNICIAN_PASSWORD)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Each login's Argon2 memory (19 MiB) goes back: ten more logins barely move RSS.
    let before_logins = rss_mib(pid);
    for _ in 0..10 {
        let r = other.get(format!("{}/status.json", daemon.status_url)).basic_auth("technician", Some(TECHNICIAN_PASSWORD)).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let login_growth = rss_mib(pid) - before_logins;
    println!("10 technician logins: RSS {login_growth:+.1} MiB");
    assert!(login_growth < 50.0, "logins keep their Argon2 memory: {login_growth:.1} MiB for 10");
    let same = daemon.client();
    let waited = Instant::now();
    let mut status = 0;
    for _ in 0..10 {
        let r = same.get(format!("{}/status.json", daemon.status_url)).basic_auth("technician", Some(TECHNICIAN_PASSWORD)).send().await.unwrap();
        status = r.status().as_u16();
        if status != 429 {
            break;
        }
        let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry <= 300, "Retry-After {retry}");
        tokio::time::sleep(Duration::from_secs(retry.min(60))).await;
    }
    println!("right password from the flooding address accepted after {:.1} s of lock-out", waited.elapsed().as_secs_f64());
    assert_eq!(status, 200);
    // Any other user name is refused even with the right password.
    let r = other.get(format!("{}/status.json", daemon.status_url)).basic_auth("anyone", Some(TECHNICIAN_PASSWORD)).send().await.unwrap();
    assert_eq!(r.status(), 401);

    // The session started before the flood ended normally.
    let ended = common::eventually(Duration::from_secs(60), || status_by_curl(&daemon, &id) == "decided").await;
    assert!(ended, "session status {}", session_status(&daemon, &id).await);
}

/// The session's status, looked up synchronously (for `eventually`).
fn status_by_curl(daemon: &Daemon, id: &str) -> String {
    let out = curl(daemon, &["-H", &format!("Authorization: Bearer {TOKEN}"), &format!("{}/v1/verifications/{id}", daemon.url)]);
    serde_json::from_slice::<Value>(&out.stdout).ok().and_then(|v| v["status"].as_str().map(String::from)).unwrap_or_default()
}

fn tls_connector(daemon: &Daemon, alpn: &[u8]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut daemon.cert_pem().as_slice()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn connect_from(source: Ipv4Addr, to: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    socket.connect(to).await
}

#[tokio::test(flavor = "multi_thread")]
async fn half_open_connections_are_closed_and_new_clients_are_served_meanwhile() {
    let daemon = Daemon::start("doors-halfopen", &TestConfig::default());
    let api: SocketAddr = format!("127.0.0.1:{}", port(&daemon.url)).parse().unwrap();
    let connector = tls_connector(&daemon, b"http/1.1");
    let server_name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap().to_owned();

    // 500 connections from 20 addresses (25 each: under the per-client cap, so
    // the timeouts, not the cap, must close them), each sending half a request.
    let started = Instant::now();
    let mut attackers = Vec::new();
    for i in 0..500u32 {
        let (connector, name) = (connector.clone(), server_name.clone());
        let source = Ipv4Addr::new(127, 0, 1, 10 + (i % 20) as u8);
        attackers.push(tokio::spawn(async move {
            let tcp = connect_from(source, api).await.ok()?;
            let mut tls = connector.connect(name, tcp).await.ok()?;
            tls.write_all(b"GET /healthz HTTP/1.1\r\n").await.ok()?;
            let opened = Instant::now();
            let mut buf = [0u8; 256];
            // Read until the daemon closes (EOF or error); give up after 40 s.
            let closed = tokio::time::timeout(Duration::from_secs(40), async {
                loop {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            })
            .await
            .is_ok();
            Some((opened, closed.then(|| opened.elapsed())))
        }));
    }
    // Meanwhile a new client is served.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let fresh = daemon.client_builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 2, 1))).build().unwrap();
    let asked = Instant::now();
    let r = fresh.get(format!("{}/healthz", daemon.url)).send().await.unwrap();
    let served_in = asked.elapsed();
    assert_eq!(r.status(), 200);

    let mut opened = 0;
    let mut slowest = Duration::ZERO;
    let mut still_open = 0;
    for a in attackers {
        if let Some((_, closed)) = a.await.unwrap() {
            opened += 1;
            match closed {
                Some(after) => slowest = slowest.max(after),
                None => still_open += 1,
            }
        }
    }
    println!(
        "half-open: {opened} of 500 TLS connections opened in {:.1} s; slowest closed {:.1} s after its half request; {still_open} still open after 40 s; a new client was served in {} ms meanwhile",
        started.elapsed().as_secs_f64(),
        slowest.as_secs_f64(),
        served_in.as_millis()
    );
    assert!(opened >= 450, "the daemon accepted the connections ({opened})");
    assert_eq!(still_open, 0);
    assert!(slowest <= Duration::from_secs(15), "all closed within 15 s (slowest {slowest:?})");

    // One address may hold at most 32 connections: the rest are closed at once.
    let mut opened = Vec::new();
    for _ in 0..40 {
        opened.push(connect_from(Ipv4Addr::new(127, 0, 3, 1), api).await.unwrap());
    }
    // Well within the TLS handshake deadline (5 s): only the cap closes any.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut held = Vec::new();
    let mut refused = 0;
    for mut tcp in opened {
        let mut byte = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(20), tcp.read(&mut byte)).await {
            Ok(Ok(0)) | Ok(Err(_)) => refused += 1,
            _ => held.push(tcp),
        }
    }
    println!("per-client cap: {} of 40 connections from one address kept, {refused} closed at once", held.len());
    assert_eq!((held.len(), refused), (32, 8));
}

#[tokio::test(flavor = "multi_thread")]
async fn early_refusals_reach_curl_over_h2_as_clean_responses() {
    let daemon = Daemon::start("doors-h2", &TestConfig::default());
    let url = format!("{}/v1/verifications", daemon.url);
    let body = json!({"reference": "reg-h2", "nonce": "nonce-doors-h2-0001", "language": "kk"}).to_string();
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    let mut answers = |case: &str, args: &[&str], expected: &str| {
        let out = curl(&daemon, &[&["--http2", "-w", "\n%{http_code} %{http_version}"], args, &[url.as_str()]].concat());
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let last = text.lines().last().unwrap_or("").to_string();
        let ok = out.status.success() && last == format!("{expected} 2");
        if ok {
            let json: Value = serde_json::from_str(text.lines().next().unwrap_or("")).unwrap();
            assert_error_shape(&json, case);
        }
        *tally.entry(format!("{case} → {expected} over h2")).or_default() += usize::from(ok);
        if !ok {
            println!("{case}: curl exit {:?}, {last:?}, stderr {}", out.status.code(), String::from_utf8_lossy(&out.stderr));
        }
    };
    let big = "x".repeat(100_000);
    let auth = format!("Authorization: Bearer {TOKEN}");
    for _ in 0..20 {
        answers("no credentials", &["-H", "content-type: application/json", "-d", &body], "401");
    }
    for _ in 0..5 {
        answers("100 kB body", &["-H", &auth, "-H", "content-type: application/json", "-d", &big], "413");
        answers("no content type", &["-H", &auth, "-H", "content-type:", "-d", &body], "415");
    }
    println!("curl over HTTP/2: {tally:?}");
    assert!(tally.iter().all(|(k, n)| *n == if k.starts_with("no credentials") { 20 } else { 5 }), "{tally:?}");
}

/// Every kiosk route, with a body where it takes one.
fn kiosk_routes() -> Vec<(&'static str, &'static str, Option<Value>)> {
    let s = json!({"session": "vf_0"});
    vec![
        ("GET", "/", None),
        ("GET", "/kiosk/kiosk.js", None),
        ("GET", "/kiosk/kiosk.css", None),
        ("GET", "/kiosk/api/session", None),
        ("GET", "/kiosk/api/events?session=vf_0", None),
        ("GET", "/kiosk/api/photo?session=vf_0", None),
        ("GET", "/kiosk/preview.mjpeg", None),
        ("POST", "/kiosk/api/consent", Some(json!({"session": "vf_0", "language": "kk"}))),
        ("POST", "/kiosk/api/retake", Some(s.clone())),
        ("POST", "/kiosk/api/continue", Some(s.clone())),
        ("POST", "/kiosk/api/iin", Some(json!({"session": "vf_0", "iin": "900101300017", "confirmed": true}))),
        ("POST", "/kiosk/api/guardian", Some(json!({"session": "vf_0", "confirmed": true}))),
        ("GET", "/no/such/page", None),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kiosk_answers_only_its_own_browser_and_its_flood_cannot_delay_a_cancel() {
    let daemon = Daemon::start("doors-kiosk", &TestConfig { require_consent: true, ..TestConfig::default() });
    let plain = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let host = format!("127.0.0.1:{}", port(&daemon.kiosk_url));
    let send = |client: &reqwest::Client, method: &str, path: &str, body: &Option<Value>| {
        let url = format!("{}{path}", daemon.kiosk_url);
        let r = if method == "POST" { client.post(url).json(body.as_ref().unwrap()) } else { client.get(url) };
        r
    };
    for (method, path, body) in kiosk_routes() {
        let r = send(&plain, method, path, &body).send().await.unwrap();
        assert_eq!(r.status(), 401, "{method} {path} without the key");
        assert_eq!(assert_error_shape(&r.json().await.unwrap(), path), "kiosk_key_required");
        let r = send(&plain, method, path, &body).header("x-kiosk-key", "0".repeat(48)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{method} {path} with a wrong key");
        let r = send(&plain, method, path, &body).header("x-kiosk-key", &daemon.kiosk_key).header("host", "rebind.example:80").send().await.unwrap();
        assert_eq!(r.status(), 403, "{method} {path} with a foreign Host");
        let r = send(&plain, method, path, &body)
            .header("x-kiosk-key", &daemon.kiosk_key)
            .header("origin", "http://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{method} {path} from a foreign Origin");
        let r = send(&daemon.kiosk_client(), method, path, &body).header("origin", format!("http://{host}")).send().await.unwrap();
        assert!(![401, 403].contains(&r.status().as_u16()), "{method} {path} with the key: {}", r.status());
        if !r.status().is_success() {
            assert_error_shape(&r.json().await.unwrap(), path);
        }
    }
    // The page opened with ?key= leaves the key in a cookie for the rest.
    let r = plain.get(&daemon.kiosk_page).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("HttpOnly; SameSite=Strict"));
    let r = plain.get(format!("{}/kiosk/api/session", daemon.kiosk_url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // `idverifd kiosk-url` prints the URL this boot's browser opens.
    let out = Command::new(env!("CARGO_BIN_EXE_idverifd")).arg("kiosk-url").arg("--config").arg(&daemon.config_path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), daemon.kiosk_page);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(daemon.state().join("kiosk.url")).unwrap().permissions().mode() & 0o777, 0o600);
    // No preview outside a session.
    let r = daemon.kiosk_client().get(format!("{}/kiosk/preview.mjpeg", daemon.kiosk_url)).send().await.unwrap();
    assert_eq!(r.status(), 409);

    // A session waits for consent; the kiosk is flooded with commands; the API cancels.
    let id = daemon.start_verification("nonce-doors-kiosk-1").await["id"].as_str().unwrap().to_string();
    let kiosk = daemon.kiosk_client();
    let flooding = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let busy = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut flood = Vec::new();
    for _ in 0..32 {
        let (kiosk, url, id) = (kiosk.clone(), format!("{}/kiosk/api/retake", daemon.kiosk_url), id.clone());
        let (flooding, busy, sent) = (Arc::clone(&flooding), Arc::clone(&busy), Arc::clone(&sent));
        flood.push(tokio::spawn(async move {
            while flooding.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(r) = kiosk.post(&url).json(&json!({"session": id})).send().await {
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if r.status() == 503 {
                        busy.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let asked = Instant::now();
    let r = daemon.client().post(format!("{}/v1/verifications/{id}/cancel", daemon.url)).bearer_auth(TOKEN).send().await.unwrap();
    let cancel_time = asked.elapsed();
    flooding.store(false, std::sync::atomic::Ordering::Relaxed);
    for f in flood {
        f.await.unwrap();
    }
    println!(
        "kiosk flood: {} commands sent ({} refused as busy); the API's cancel answered in {} ms",
        sent.load(std::sync::atomic::Ordering::Relaxed),
        busy.load(std::sync::atomic::Ordering::Relaxed),
        cancel_time.as_millis()
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "cancelled");
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_belong_to_their_client_and_refusals_have_one_shape_everywhere() {
    let config = TestConfig { other_tokens: vec![OTHER_TOKEN], metrics_token: Some(METRICS_TOKEN), ..TestConfig::default() };
    let daemon = Daemon::start("doors-owner", &config);
    let client = daemon.client();
    let url = |p: &str| format!("{}{p}", daemon.url);
    let id = daemon.start_verification("nonce-doors-owner-1").await["id"].as_str().unwrap().to_string();

    // Another registration server cannot see, follow, cancel or read it: 404, no id.
    for (method, path) in [
        ("GET", format!("/v1/verifications/{id}")),
        ("GET", format!("/v1/verifications/{id}/events")),
        ("GET", format!("/v1/verifications/{id}/result")),
        ("POST", format!("/v1/verifications/{id}/cancel")),
    ] {
        let r = if method == "GET" { client.get(url(&path)) } else { client.post(url(&path)) };
        let r = r.bearer_auth(OTHER_TOKEN).send().await.unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
        let text = r.text().await.unwrap();
        assert!(!text.contains(&id), "{text}");
        assert_eq!(assert_error_shape(&serde_json::from_str(&text).unwrap(), &path), "not_found");
    }
    assert_eq!(session_status(&daemon, &id).await, "waiting_for_subject", "the owner still sees it running");
    // Busy: 409 without the running session's id.
    let r = client
        .post(url("/v1/verifications"))
        .bearer_auth(OTHER_TOKEN)
        .json(&json!({"reference": "reg-x", "nonce": "nonce-doors-owner-2", "language": "ru"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(!r.text().await.unwrap().contains(&id));

    // guardian_for must name a pending_guardian session of the same client, at POST.
    client.post(url(&format!("/v1/verifications/{id}/cancel"))).bearer_auth(TOKEN).send().await.unwrap();
    for (token, target, why) in
        [(TOKEN, "vf_0000", "no such session"), (TOKEN, id.as_str(), "cancelled, not pending"), (OTHER_TOKEN, id.as_str(), "another client's")]
    {
        let r = client
            .post(url("/v1/verifications"))
            .bearer_auth(token)
            .json(&json!({"reference": "reg-g", "nonce": format!("nonce-guardian-{why}"), "language": "ru", "guardian_for": target}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{why}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(assert_error_shape(&body, why), "invalid_request");
        assert!(!body.to_string().contains(&id), "{body}");
    }

    // /metrics: a client credential or the scrape token; /healthz: up, nothing more.
    assert_eq!(client.get(url("/metrics")).send().await.unwrap().status(), 401);
    assert_eq!(client.get(url("/metrics")).bearer_auth("wrong").send().await.unwrap().status(), 401);
    assert_eq!(client.get(url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap().status(), 200);
    assert_eq!(client.get(url("/metrics")).bearer_auth(OTHER_TOKEN).send().await.unwrap().status(), 200);
    assert_eq!(client.get(url("/v1/verifications/x")).bearer_auth(METRICS_TOKEN).send().await.unwrap().status(), 401, "scrape token is for metrics only");
    let health: Value = client.get(url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health, json!({"status": "up"}));

    // Bad path, method, body, type: the contract's JSON shape on every listener.
    let api_cases: Vec<(&str, String, Option<&str>, u16)> = vec![
        ("GET", "/no/such/path".into(), None, 404),
        ("DELETE", "/v1/verifications".into(), None, 405),
        ("PUT", "/healthz".into(), None, 405),
        ("GET", "/v1/verifications/%FF%FE".into(), None, 404),
        ("POST", "/v1/verifications".into(), Some("{\"reference\":"), 400),
        ("POST", "/v1/verifications".into(), Some("{\"reference\":\"r\",\"nonce\":\"nonce-shape-1\",\"language\":\"xx\"}"), 400),
        ("POST", "/v1/verifications".into(), Some("[1,2]"), 400),
    ];
    for (method, path, body, expected) in api_cases {
        let mut r = client.request(method.parse().unwrap(), url(&path)).bearer_auth(TOKEN);
        if let Some(b) = body {
            r = r.header("content-type", "application/json").body(b.to_string());
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(status, expected, "{method} {path}: {text}");
        assert_error_shape(&serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}")), &path);
    }
    for (method, path) in [("GET", "/nowhere"), ("POST", "/status.json")] {
        let r = client
            .request(method.parse().unwrap(), format!("{}{path}", daemon.status_url))
            .basic_auth("technician", Some(TECHNICIAN_PASSWORD))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error());
        assert_error_shape(&r.json().await.unwrap(), path);
    }
    let r = daemon.kiosk_client().post(format!("{}/kiosk/api/retake", daemon.kiosk_url)).body("{").send().await.unwrap();
    assert!(r.status().is_client_error());
    assert_error_shape(&r.json().await.unwrap(), "kiosk bad body");
}

#[test]
fn validate_refuses_a_camera_format_that_would_splice_in_another_source() {
    let dir = common::temp_dir("doors-validate");
    let rendered = TestConfig::default().render(&dir.join("state"));
    for (format, accepted) in [
        ("image/jpeg", true),
        ("video/x-raw,format=YUY2", true),
        ("image/jpeg ! fakesink filesrc location=/tmp/someone.mp4 ! decodebin", false),
        ("video/x-raw,format=BGR", false),
    ] {
        let text = rendered.replacen("[camera]\n", &format!("[camera]\nv4l2_format = {format:?}\n"), 1);
        let path = dir.join("idverifd.toml");
        std::fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_idverifd")).args(["validate", "--config"]).arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if accepted {
            assert!(out.status.success(), "{format}: {stderr}");
        } else {
            assert_eq!(out.status.code(), Some(2), "{format}: {stderr}");
            assert!(stderr.contains("camera.v4l2_format"), "{stderr}");
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// testssl.sh (Debian package) against the API and status listeners: nothing
/// below TLS 1.2, no weak suite. Takes about a minute: set IDVERIFD_TESTSSL=1.
#[tokio::test(flavor = "multi_thread")]
async fn testssl_finds_no_old_protocol_and_no_weak_cipher() {
    if std::env::var("IDVERIFD_TESTSSL").is_err() {
        println!("skipped: set IDVERIFD_TESTSSL=1 to run testssl.sh against the listeners");
        return;
    }
    let daemon = Daemon::start("doors-testssl", &TestConfig::default());
    for (name, url) in [("api", &daemon.url), ("status", &daemon.status_url)] {
        let json_path = daemon.dir.join(format!("testssl-{name}.json"));
        let started = Instant::now();
        let out = Command::new("testssl")
            .args(["--quiet", "--fast", "--warnings", "off", "--color", "0", "-p", "-E", "--jsonfile"])
            .arg(&json_path)
            .arg(url.trim_start_matches("https://"))
            .output()
            .expect("testssl (Debian package testssl.sh)");
        let findings: Vec<Value> = serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap_or_else(|_| {
            panic!("testssl output: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
        });
        let finding = |id: &str| findings.iter().find(|f| f["id"] == id).map(|f| f["finding"].as_str().unwrap_or("").to_string()).unwrap_or_default();
        let offered: Vec<&str> = ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3"]
            .into_iter()
            .filter(|p| finding(p).starts_with("offered"))
            .collect();
        let ciphers: Vec<String> = findings
            .iter()
            .filter(|f| f["id"].as_str().is_some_and(|i| i.starts_with("cipher-")))
            .map(|f| f["finding"].as_str().unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        println!("testssl {name} ({:.0} s): protocols offered {offered:?}; {} suites: {ciphers:#?}", started.elapsed().as_secs_f64(), ciphers.len());
        assert!(offered.iter().all(|p| *p == "TLS1_2" || *p == "TLS1_3"), "{offered:?}");
        assert!(!offered.is_empty());
        for c in &ciphers {
            for weak in ["NULL", "RC4", "DES", "MD5", "EXPORT", "anon", " CBC", "SHA1"] {
                assert!(!c.contains(weak), "weak suite {c}");
            }
        }
    }
}

#[test]
fn state_commands_refuse_to_run_as_another_user_than_the_states_owner() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: needs root to give the state directory to another user");
        return;
    }
    let dir = common::temp_dir("doors-owner-cmd");
    let state = dir.join("state");
    std::fs::create_dir_all(&state).unwrap();
    let config = dir.join("idverifd.toml");
    std::fs::write(&config, TestConfig::default().render(&state)).unwrap();
    let path = std::ffi::CString::new(state.to_str().unwrap()).unwrap();
    // SAFETY: a valid path; uid/gid 65534 is `nobody`, standing in for the daemon's user.
    assert_eq!(unsafe { libc::chown(path.as_ptr(), 65534, 65534) }, 0);
    for args in [vec!["keys", "show"], vec!["keys", "rotate"], vec!["kiosk-url"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_idverifd")).args(&args).arg("--config").arg(&config).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("run the command as the daemon's user"), "{args:?}: {stderr}");
        assert!(!state.join("keys").exists(), "{args:?} created keys as root");
    }
    let _ = std::fs::remove_dir_all(dir);
}
