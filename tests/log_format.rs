//! IDVERIFD_LOG_FORMAT=json: the daemon's log lines are JSON objects whose fields a
//! log shipper (journald, Vector, Loki) can index; an unknown format is refused.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestConfig;
use serde_json::Value;

#[test]
fn json_log_lines_carry_fields_and_an_unknown_format_is_refused() {
    let dir = common::temp_dir("log-format");
    let config = dir.join("idverifd.toml");
    std::fs::write(&config, TestConfig::default().render(&dir.join("state"))).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_idverifd"))
        .args(["run", "--config"])
        .arg(&config)
        .env("IDVERIFD_LOG_FORMAT", "json")
        .env("IDVERIFD_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut lines = Vec::new();
    let ready = loop {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("no ready line within 60 s:\n{}", lines.join("\n"))
        });
        lines.push(line.clone());
        // Native libraries (GStreamer, OpenCV) may write their own text; ours is JSON.
        if !line.starts_with('{') {
            continue;
        }
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(event["timestamp"].is_string() && event["level"].is_string() && event["target"].is_string(), "{line}");
        if event["message"] == "ready" {
            break event;
        }
    };
    // Right after ready, as systemd may stop a unit it has just started: a drain, not a kill.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM right after ready: {status}");
    let shutdown: Vec<Value> = rx.iter().filter_map(|l| serde_json::from_str(&l).ok()).collect();
    assert!(shutdown.iter().any(|e| e["message"] == "SIGTERM: shutting down"), "{shutdown:?}");

    // The ready event's fields are fields, not text inside the message.
    assert_eq!(ready["level"], "INFO");
    assert!(ready["url"].as_str().is_some_and(|u| u.starts_with("https://127.0.0.1:")), "{ready}");
    assert!(ready["tls_sha256"].as_str().is_some_and(|f| f.len() >= 64), "{ready}");
    // None of our lines fell back to the prose format.
    let prose: Vec<_> = lines.iter().filter(|l| l.contains(" INFO ") && !l.starts_with('{')).collect();
    assert!(prose.is_empty(), "prose lines in JSON mode: {prose:?}");

    let out = Command::new(env!("CARGO_BIN_EXE_idverifd"))
        .args(["validate", "--config"])
        .arg(&config)
        .env("IDVERIFD_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("IDVERIFD_LOG_FORMAT=\"xml\"") && message.contains("\"json\""), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}
