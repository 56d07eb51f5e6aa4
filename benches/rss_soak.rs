//! Memory over a long replay (issue 16): a real daemon replaying the carphone clip
//! with one verification after another kept running, its resident set (VmRSS of
//! /proc/PID/status) sampled at a fixed interval. Prints the samples as a curve
//! (one line per sample) and a summary: the first sample after warm-up, the last,
//! min and max after warm-up, the spread after warm-up as a share of the warm-up
//! figure (the issue asks for flat within 10 % and under 400 MB over an hour).
//! A bench, not a test: it prints; asserts nothing.
//!
//! Run: `cargo bench --bench rss_soak` (one hour). `SOAK_MINUTES` shortens it,
//! `SOAK_SAMPLE_SECONDS` (default 10) sets the interval; warm-up is the first tenth.

#[path = "../tests/common/mod.rs"]
#[allow(dead_code, unused_imports)]
mod common;

use std::time::{Duration, Instant};

use common::{Daemon, TOKEN, TestConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let minutes: u64 = env_or("SOAK_MINUTES", 60);
    let every = Duration::from_secs(env_or("SOAK_SAMPLE_SECONDS", 10));
    let mut daemon = Daemon::prepare("rss-soak", &TestConfig { subject_timeout: "60s", ..Default::default() });
    // As in production: no conformance log of every response, info-level logging.
    daemon.env.push(("IDVERIFD_RESPONSE_LOG".into(), String::new()));
    daemon.env.push(("IDVERIFD_LOG".into(), "info".into()));
    daemon.launch();
    let client = daemon.client();
    let length = Duration::from_secs(minutes * 60);
    let warm_up = length / 10;
    println!("daemon pid {} replaying carphone 640x480, sessions back to back, {minutes} min, RSS every {} s", daemon.pid(), every.as_secs());
    println!("{:>8} {:>10} {:>9} {:>10}", "t s", "RSS MiB", "sessions", "frames");
    let started = Instant::now();
    let (mut id, mut sessions, mut n) = (String::new(), 0u64, 0u64);
    let mut samples: Vec<(f64, f64)> = Vec::new();
    let mut next_sample = Instant::now();
    while started.elapsed() < length {
        let ended = id.is_empty() || {
            let view: serde_json::Value =
                client.get(format!("{}/v1/verifications/{id}", daemon.url)).bearer_auth(TOKEN).send().await.unwrap().json().await.unwrap();
            matches!(view["status"].as_str(), Some("decided" | "cancelled" | "interrupted"))
        };
        if ended {
            n += 1;
            let body = serde_json::json!({"reference": "soak", "nonce": format!("soak-nonce-{n:06}"), "language": "en"});
            id = daemon.start_verification_with(body).await["id"].as_str().unwrap().to_string();
            sessions += 1;
        }
        if Instant::now() >= next_sample {
            next_sample += every;
            let t = started.elapsed().as_secs_f64();
            let rss = rss_mib(daemon.pid());
            samples.push((t, rss));
            println!("{t:>8.0} {rss:>10.1} {sessions:>9} {:>10.0}", frames_analysed(&daemon).await);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let after: Vec<f64> = samples.iter().filter(|(t, _)| *t >= warm_up.as_secs_f64()).map(|s| s.1).collect();
    let (Some(first), Some(last)) = (after.first(), after.last()) else {
        println!("too short for a summary");
        return;
    };
    let (min, max) = after.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let peak = samples.iter().map(|s| s.1).fold(0.0, f64::max);
    println!(
        "summary: {sessions} sessions; RSS after {:.0} s warm-up: first {first:.1}, last {last:.1}, min {min:.1}, max {max:.1} MiB; \
         spread {:.1} % of the first; last − first {:+.1} %; peak {peak:.1} MiB",
        warm_up.as_secs_f64(),
        (max - min) / first * 100.0,
        (last - first) / first * 100.0
    );
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?.trim().parse().ok()).unwrap_or(0.0);
    kib / 1024.0
}

async fn frames_analysed(daemon: &Daemon) -> f64 {
    let (_, metrics) = daemon.get_text("/metrics").await;
    metrics.lines().find_map(|l| l.strip_prefix("idverifd_frames_analysed_total ")?.parse().ok()).unwrap_or(0.0)
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
