//! A killed process, a stopped service and a camera that vanishes: what survives,
//! and what the registration server is told.

mod common;

use std::time::Duration;

use common::{Daemon, TOKEN, TestConfig, eventually, verify_with_joserfc};

async fn wait_for_status(daemon: &Daemon, id: &str, wanted: &str) {
    for _ in 0..200 {
        let (_, view) = daemon.get_json(&format!("/v1/verifications/{id}")).await;
        if view["status"] == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("session {id} never reached {wanted}");
}

#[tokio::test(flavor = "multi_thread")]
async fn decided_results_survive_kill_9_and_running_sessions_come_back_interrupted() {
    let mut daemon = Daemon::start("kill9", &TestConfig::default());
    let nonce = "nonce-kill9-000001";
    let id = daemon.start_verification(nonce).await["id"].as_str().unwrap().to_string();
    let events = daemon.follow_events(&id, Duration::from_secs(60)).await;
    assert_eq!(events.last().unwrap()["type"], "decision");
    let (_, before) = daemon.get_text(&format!("/v1/verifications/{id}/result")).await;

    // The decision was announced, so it is on disk: kill -9 cannot lose it.
    daemon.kill9();
    daemon.launch();
    let (status, after) = daemon.get_text(&format!("/v1/verifications/{id}/result")).await;
    assert_eq!(status, 200);
    assert_eq!(after, before);
    let jwks = daemon.client().get(format!("{}/.well-known/jwks.json", daemon.url)).send().await.unwrap().text().await.unwrap();
    verify_with_joserfc(&jwks, &after, nonce, &daemon.dir);

    // Killed mid-session: after the restart the session is `interrupted`, its
    // events say so, and the camera is free for the next candidate.
    let id = daemon.start_verification("nonce-kill9-000002").await["id"].as_str().unwrap().to_string();
    wait_for_status(&daemon, &id, "in_progress").await;
    daemon.kill9();
    daemon.launch();
    let (_, view) = daemon.get_json(&format!("/v1/verifications/{id}")).await;
    assert_eq!(view["status"], "interrupted");
    assert!(view["decision"].is_null());
    let events = daemon.follow_events(&id, Duration::from_secs(5)).await;
    assert_eq!(events.last().unwrap()["status"], "interrupted");
    let (status, _) = daemon.get_json(&format!("/v1/verifications/{id}/result")).await;
    assert_eq!(status, 409);

    // SIGTERM drains: exit 0, the running session recorded as interrupted at once.
    let id = daemon.start_verification("nonce-kill9-000003").await["id"].as_str().unwrap().to_string();
    wait_for_status(&daemon, &id, "in_progress").await;
    daemon.stop_cleanly();
    assert!(daemon.log_text().contains("stopped"));
    daemon.launch();
    let (_, view) = daemon.get_json(&format!("/v1/verifications/{id}")).await;
    assert_eq!(view["status"], "interrupted");
    daemon.start_verification("nonce-kill9-000004").await;
}

/// systemd may stop a unit the moment it reports ready, while FaceNet's ONNX Runtime
/// session is still being built on its own thread: the daemon still drains and exits 0,
/// five times over.
#[test]
fn sigterm_right_after_ready_exits_cleanly() {
    let mut daemon = Daemon::start("sigterm-at-ready", &TestConfig::default());
    daemon.stop_cleanly();
    for _ in 0..4 {
        daemon.launch();
        daemon.stop_cleanly();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn camera_lost_mid_session_is_reported_and_the_pipeline_recovers() {
    let dir = common::temp_dir("camera-loss-media");
    // A 4 s clip with no face in it: no photo can ever be taken, so the stream
    // ends inside the session whenever the session starts (no timing to win).
    let clip = dir.join("clip.avi");
    let made = std::process::Command::new("gst-launch-1.0")
        .args(["-q", "videotestsrc", "num-buffers=120", "pattern=ball", "!"])
        .args(["video/x-raw,width=640,height=480,framerate=30/1", "!", "avenc_mpeg4", "!", "avimux", "!", "filesink"])
        .arg(format!("location={}", clip.display()))
        .status()
        .expect("gst-launch-1.0 (gstreamer1.0-tools)");
    assert!(made.success(), "could not render the faceless clip");
    let spare = dir.join("spare.avi");
    std::fs::copy(&clip, &spare).unwrap();
    let config = TestConfig {
        source: format!("file:{}", clip.display()),
        loop_replay: false,
        camera_grace: "3s",
        ..TestConfig::default()
    };
    let daemon = Daemon::start("camera-loss", &config);
    // The open pipeline keeps playing the deleted file to its end; every restart
    // after that fails until the file is back — a camera unplugged mid-session.
    std::fs::remove_file(&clip).unwrap();
    let id = daemon.start_verification("nonce-camera-loss-1").await["id"].as_str().unwrap().to_string();
    let events = daemon.follow_events(&id, Duration::from_secs(30)).await;

    let lost = events.iter().position(|e| e["type"] == "camera" && e["available"] == false).expect("camera lost event");
    assert!(events[lost..].iter().any(|e| e["prompt"] == "camera_unavailable"));
    let last = events.last().unwrap();
    assert_eq!(last["decision"], "rejected", "{events:?}");
    assert_eq!(last["reasons"][0], "camera_lost");

    // /healthz says only up or down; the camera's state is in the (authenticated) metrics.
    let metrics_url = format!("{}/metrics", daemon.url);
    let metrics = daemon.client().get(&metrics_url).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("idverifd_camera_up 0"), "{metrics}");
    let restarts: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("idverifd_camera_restarts_total "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(restarts >= 2, "{metrics}");

    // The camera comes back: the supervisor's next attempt streams again.
    std::fs::copy(&spare, &clip).unwrap();
    let client = daemon.client();
    let mut streaming = false;
    for _ in 0..150 {
        let metrics = client.get(&metrics_url).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
        if metrics.contains("idverifd_camera_up 1") {
            streaming = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(streaming, "pipeline did not recover:\n{}", daemon.log_text());
    assert!(eventually(Duration::from_secs(1), || daemon.log_text().contains("camera pipeline ended; restarting")).await);
    std::fs::remove_dir_all(dir).unwrap();
}

/// ONNX Runtime is checked at start as a model is: a library missing, or not the one the
/// manifest pins (here a copy with one byte changed), stops the start with exit 2 and a
/// message naming the file, before anything is served.
#[test]
fn a_missing_or_altered_onnx_runtime_library_stops_the_start_naming_the_file() {
    let daemon = Daemon::prepare("onnxruntime-refused", &TestConfig::default());
    let library = daemon.dir.join(idverifd::vision::onnx_runtime::LIBRARY);
    let config = std::fs::read_to_string(&daemon.config_path).unwrap();
    let config = config.replacen("[models]\n", &format!("[models]\nonnxruntime = \"{}\"\n", library.display()), 1);
    std::fs::write(&daemon.config_path, config).unwrap();
    let start = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_idverifd"))
            .args(["run", "--config"])
            .arg(&daemon.config_path)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };

    let (code, stderr) = start();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&library.display().to_string()) && stderr.contains("scripts/setup"), "{stderr}");

    let mut bytes = std::fs::read(common::repo().join("models").join(idverifd::vision::onnx_runtime::LIBRARY)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&library, bytes).unwrap();
    let (code, stderr) = start();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&library.display().to_string()) && stderr.contains("manifest says"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
