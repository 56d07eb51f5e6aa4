//! API latency while a session analyses frames (issue 16): a real daemon on loopback
//! replaying the carphone clip, a verification kept running (a new one starts when
//! the last is decided), and a bounded open-loop load generator sending
//! `GET /v1/verifications/{id}` and `GET /healthz` alternately at a fixed rate over
//! keep-alive TLS (one rustls client, its connection pool reused). Prints latency
//! percentiles per route for an idle daemon and under the session, the requests that
//! could not be sent on time (all connections busy), errors, and the frames per second
//! the daemon analysed meanwhile (`idverifd_frames_analysed_total` from /metrics).
//! Prints; asserts nothing.
//!
//! Run: `cargo bench --bench api_under_session`. `API_BENCH_RATE` (requests/s,
//! default 500), `API_BENCH_SECONDS` (under the session, default 30; idle is a third).

#[path = "../tests/common/mod.rs"]
#[allow(dead_code, unused_imports)]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Daemon, TOKEN, TestConfig};
use tokio::sync::{Mutex, Semaphore};

/// Requests in flight at most (so connections at most); a request due while all are
/// busy is counted late and skipped. Below the daemon's per-client connection cap (32
/// by default, `api.max_connections_per_client`), which closes any connection past it,
/// leaving room for the session driver's and the /metrics reader's connections.
const IN_FLIGHT: usize = 24;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rate: u64 = env_or("API_BENCH_RATE", 500);
    let seconds: u64 = env_or("API_BENCH_SECONDS", 30);
    let mut daemon = Daemon::prepare("api-bench", &TestConfig { subject_timeout: "60s", ..Default::default() });
    // As in production: no conformance log of every response, info-level logging.
    daemon.env.push(("IDVERIFD_RESPONSE_LOG".into(), String::new()));
    daemon.env.push(("IDVERIFD_LOG".into(), "info".into()));
    daemon.launch();
    let client = daemon.client_builder().pool_max_idle_per_host(IN_FLIGHT).build().unwrap();
    println!(
        "daemon {} (carphone replay 640x480, lockstep off), {rate} req/s alternating GET /v1/verifications/{{id}} and /healthz, \
         keep-alive TLS, at most {IN_FLIGHT} in flight, {} cores, load {}",
        daemon.url,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average()
    );

    // Idle: no session running (the id is a decided one's, made below only after).
    let first = daemon.start_verification("api-bench-0").await["id"].as_str().unwrap().to_string();
    let id = Arc::new(Mutex::new(first));
    cancel(&daemon, &client, &id.lock().await.clone()).await;
    let idle = run_load(&daemon, &client, &id, rate, Duration::from_secs((seconds / 3).max(5))).await;
    idle.print("idle (no session)");

    // Under a session: the driver keeps one running and counts the frames analysed.
    let running = Arc::new(AtomicBool::new(true));
    let sessions = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let driver = {
        let (url, client, id, running, sessions) = (daemon.url.clone(), client.clone(), Arc::clone(&id), Arc::clone(&running), Arc::clone(&sessions));
        tokio::spawn(async move {
            let mut n = 1;
            while running.load(Ordering::SeqCst) {
                let current = id.lock().await.clone();
                let view: serde_json::Value =
                    client.get(format!("{url}/v1/verifications/{current}")).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
                if matches!(view["status"].as_str(), Some("decided" | "cancelled" | "interrupted")) {
                    let body = serde_json::json!({"reference": "api-bench", "nonce": format!("api-bench-{n:04}"), "language": "en"});
                    let r = client.post(format!("{url}/v1/verifications")).bearer_auth(TOKEN).json(&body).send().await.unwrap();
                    let status = r.status();
                    let started: serde_json::Value = r.json().await.unwrap_or_default();
                    n += 1;
                    match started["id"].as_str() {
                        Some(new) => {
                            *id.lock().await = new.to_string();
                            sessions.fetch_add(1, Ordering::SeqCst);
                        }
                        None => eprintln!("start refused ({status}): {}", started["error"]),
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    // Let the first session reach the face stage.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let analysed_before = frames_analysed(&daemon).await;
    let busy = run_load(&daemon, &client, &id, rate, Duration::from_secs(seconds)).await;
    let analysed = frames_analysed(&daemon).await - analysed_before;
    running.store(false, Ordering::SeqCst);
    let _ = driver.await;
    busy.print("under a session");
    println!(
        "session: {analysed:.0} frames analysed in {:.1} s = {:.1} fps ({} sessions started); load {}",
        busy.wall.as_secs_f64(),
        analysed / busy.wall.as_secs_f64(),
        sessions.load(Ordering::SeqCst),
        load_average()
    );
}

struct Outcome {
    wall: Duration,
    /// Per route: latencies (ms) of answered requests.
    routes: [(&'static str, Vec<f64>); 2],
    errors: usize,
    late: usize,
}

impl Outcome {
    fn print(&self, what: &str) {
        println!("{what}: {:.1} s, {} errors, {} not sent on time (all {IN_FLIGHT} busy)", self.wall.as_secs_f64(), self.errors, self.late);
        println!("  {:<28} {:>7} {:>8} {:>8} {:>8} {:>8}", "route", "n", "p50 ms", "p90 ms", "p99 ms", "max ms");
        for (route, samples) in &self.routes {
            let mut s = samples.clone();
            s.sort_by(f64::total_cmp);
            let at = |p: f64| if s.is_empty() { f64::NAN } else { s[((s.len() - 1) as f64 * p).round() as usize] };
            println!("  {route:<28} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2}", s.len(), at(0.5), at(0.9), at(0.99), at(1.0));
        }
    }
}

/// Sends `rate` requests a second for `length`, each at its own due time (open loop:
/// a slow answer does not slow the schedule), alternating the two routes.
async fn run_load(daemon: &Daemon, client: &reqwest::Client, id: &Arc<Mutex<String>>, rate: u64, length: Duration) -> Outcome {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Option<f64>)>();
    let mut ticker = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let total = rate * length.as_secs();
    let mut late = 0;
    for i in 0..total {
        ticker.tick().await;
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            late += 1;
            continue;
        };
        let route = (i % 2) as usize;
        let url = if route == 0 { format!("{}/v1/verifications/{}", daemon.url, id.lock().await) } else { format!("{}/healthz", daemon.url) };
        let (client, tx) = (client.clone(), tx.clone());
        tokio::spawn(async move {
            let sent = Instant::now();
            let answer = client.get(url).bearer_auth(TOKEN).send().await;
            let ok = match answer {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                Ok(r) => {
                    eprintln!("answer {}", r.status());
                    false
                }
                Err(e) => {
                    eprintln!("request failed: {e}");
                    false
                }
            };
            let _ = tx.send((route, ok.then(|| sent.elapsed().as_secs_f64() * 1000.0)));
            drop(permit);
        });
    }
    drop(tx);
    let mut outcome = Outcome { wall: Duration::ZERO, routes: [("GET /v1/verifications/{id}", Vec::new()), ("GET /healthz", Vec::new())], errors: 0, late };
    while let Some((route, latency)) = rx.recv().await {
        match latency {
            Some(ms) => outcome.routes[route].1.push(ms),
            None => outcome.errors += 1,
        }
    }
    outcome.wall = started.elapsed();
    outcome
}

async fn cancel(daemon: &Daemon, client: &reqwest::Client, id: &str) {
    let r = client.post(format!("{}/v1/verifications/{id}/cancel", daemon.url)).bearer_auth(TOKEN).send().await.unwrap();
    assert!(r.status().is_success(), "cancel: {}", r.status());
}

async fn frames_analysed(daemon: &Daemon) -> f64 {
    let (_, metrics) = daemon.get_text("/metrics").await;
    metrics.lines().find_map(|l| l.strip_prefix("idverifd_frames_analysed_total ")?.parse().ok()).unwrap_or(0.0)
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().next().unwrap_or("?").to_string()).unwrap_or_default()
}
