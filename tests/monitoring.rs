//! The fleet monitoring files in config/fleet/ against Debian's own Prometheus: the
//! shipped scrape job (bearer token file, the appliance's certificate as CA) scrapes
//! a real daemon over HTTPS, and the frames it counted come back through
//! Prometheus's query API. promtool checks the configs, the rules and the daemon's
//! /metrics text; every metric the alerts use must be one the daemon serves. After a
//! session, the latency histograms hold it, by stage and route template, and no
//! label carries its id.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, TOKEN, TestConfig};

fn fleet(file: &str) -> std::path::PathBuf {
    common::repo().join("config/fleet").join(file)
}

fn promtool(args: &[&str], stdin: Option<&str>) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool: install prometheus (scripts/setup does)");
    if let Some(text) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Replaces one line of the shipped config; fails loudly if the line has changed.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "config/fleet/prometheus.yml no longer has exactly one {from:?}");
    text.replace(from, to)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_the_daemon_with_the_shipped_job_and_alerts_use_served_metrics() {
    // The shipped files as they are.
    promtool(&["check", "config", "--syntax-only", fleet("prometheus.yml").to_str().unwrap()], None);
    promtool(&["check", "config", "--syntax-only", "--agent", fleet("prometheus-agent.yml").to_str().unwrap()], None);
    promtool(&["check", "rules", fleet("alerts.yml").to_str().unwrap()], None);
    promtool(&["test", "rules", fleet("alerts_test.yml").to_str().unwrap()], None);

    let daemon = Daemon::start("monitoring", &TestConfig::default());
    let dir = daemon.dir.join("prometheus");
    std::fs::create_dir_all(&dir).unwrap();

    // What the daemon serves passes promtool's lint, and holds every metric the alerts use.
    let (status, metrics) = daemon.get_text("/metrics").await;
    assert_eq!(status, 200, "{metrics}");
    promtool(&["check", "metrics"], Some(&metrics));
    let alerts = std::fs::read_to_string(fleet("alerts.yml")).unwrap();
    let used: std::collections::BTreeSet<&str> = alerts
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|w| w.starts_with("idverifd_"))
        .collect();
    assert!(used.len() >= 5, "alerts.yml uses {used:?}");
    for name in &used {
        assert!(metrics.contains(&format!("# TYPE {name} ")), "alerts.yml uses {name}, which /metrics does not serve");
    }

    // The shipped scrape job, pointed at this daemon, with its credential and CA in
    // files as on a monitoring host; a 1 s interval so the test need not wait 30 s.
    std::fs::write(dir.join("scrape.token"), TOKEN).unwrap();
    std::fs::write(dir.join("ca.pem"), daemon.cert_pem()).unwrap();
    std::fs::copy(fleet("alerts.yml"), dir.join("alerts.yml")).unwrap();
    let target = daemon.url.trim_start_matches("https://").trim_end_matches('/').to_string();
    let port: u16 = target.rsplit(':').next().unwrap().parse().unwrap();
    let shipped = std::fs::read_to_string(fleet("prometheus.yml")).unwrap();
    let mut config = replace_once(
        &shipped,
        "credentials_file: /etc/prometheus/idverifd/scrape.token",
        &format!("credentials_file: {}", dir.join("scrape.token").display()),
    );
    config = replace_once(&config, "ca_file: /etc/prometheus/idverifd/ca.pem", &format!("ca_file: {}", dir.join("ca.pem").display()));
    // The self-signed certificate names localhost, as an appliance's names its hostname.
    config = replace_once(&config, "- kz-centre-0000-desk-00:8443", &format!("- localhost:{port}"));
    config = replace_once(&config, "scrape_interval: 30s", "scrape_interval: 1s");
    config = replace_once(&config, "scrape_timeout: 10s", "scrape_timeout: 1s");
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, &config).unwrap();
    promtool(&["check", "config", config_path.to_str().unwrap()], None);

    let web = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let _prometheus = Prometheus(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus: install it (scripts/setup does)"),
    );

    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let query = |q: &'static str| {
        let client = client.clone();
        let url = format!("http://{web}/api/v1/query");
        async move {
            let r = client.get(url).query(&[("query", q)]).send().await.ok()?;
            let body: serde_json::Value = r.json().await.ok()?;
            let value = body["data"]["result"][0]["value"][1].as_str()?.parse::<f64>().ok()?;
            Some(value)
        }
    };
    let started = Instant::now();
    let mut frames = None;
    while started.elapsed() < Duration::from_secs(60) {
        if let Some(v) = query("idverifd_frames_captured_total{job=\"idverifd\"}").await.filter(|v| *v > 0.0) {
            frames = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let prometheus_log = || std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
    let targets = async {
        let r = client.get(format!("http://{web}/api/v1/targets")).send().await.ok()?;
        r.text().await.ok()
    };
    let Some(frames) = frames else {
        panic!("no scrape with frames within 60 s; targets: {:?}\n{}", targets.await, prometheus_log());
    };
    assert_eq!(query("up{job=\"idverifd\"}").await, Some(1.0), "targets: {:?}", targets.await);
    eprintln!(
        "prometheus: first scrape with idverifd_frames_captured_total = {frames} after {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The value of the sample `series` (name and labels exactly as rendered).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_fills_the_latency_histograms_and_no_label_carries_an_id() {
    let daemon = Daemon::start("monitoring-histograms", &TestConfig::default());
    let id = daemon.start_verification("nonce-histograms-1").await["id"].as_str().unwrap().to_string();
    let events = daemon.follow_events(&id, Duration::from_secs(90)).await;
    assert_eq!(events.last().map(|e| e["type"].clone()), Some(serde_json::json!("decision")), "{events:?}");
    assert_eq!(daemon.get_json(&format!("/v1/verifications/{id}")).await.0, 200);
    assert_eq!(daemon.get_json("/v1/verifications/vf_unknown").await.0, 404);

    let (status, metrics) = daemon.get_text("/metrics").await;
    assert_eq!(status, 200);
    promtool(&["check", "metrics"], Some(&metrics));
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(sample(&metrics, &format!("idverifd_build_info{{version=\"{version}\"}}")), Some(1.0), "{metrics}");
    let analysed = sample(&metrics, "idverifd_stage_analysis_seconds_count{stage=\"face_capture\"}").unwrap_or(0.0);
    assert!(analysed >= 1.0, "no face_capture frame timed:\n{metrics}");
    assert!(sample(&metrics, "idverifd_frame_to_decision_seconds_count").unwrap_or(0.0) >= analysed, "{metrics}");
    for (route, method, class) in [("/v1/verifications", "POST", "2xx"), ("/v1/verifications/{id}", "GET", "2xx"), ("/v1/verifications/{id}", "GET", "4xx")] {
        let series = format!("idverifd_api_request_duration_seconds_count{{route=\"{route}\",method=\"{method}\",status=\"{class}\"}}");
        assert!(sample(&metrics, &series).is_some_and(|n| n >= 1.0), "{series} missing:\n{metrics}");
    }
    // Route templates, not paths: neither the session's id nor the unknown one shows.
    assert!(!metrics.contains(&id) && !metrics.contains("vf_unknown"), "{metrics}");
}
