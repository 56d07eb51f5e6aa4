//! A real headless Chromium driven over W3C WebDriver (Debian's chromium and
//! chromium-driver, installed by scripts/setup). A dozen HTTP calls is all the
//! tests need, so they speak the protocol directly.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    profile: PathBuf,
    pub artifacts: PathBuf,
}

impl Browser {
    pub async fn start(name: &str) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut driver = Command::new("chromedriver");
        // Chromium cannot run with libfaketime loaded: when the suite runs under `faketime`
        // (the clock two years ahead), the browser keeps the real clock.
        if std::env::var_os("FAKETIME").is_some() {
            driver.env_remove("LD_PRELOAD");
        }
        let driver = driver
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian chromium-driver, installed by scripts/setup)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let profile = super::temp_dir(&format!("chromium-{name}"));
        let artifacts = super::repo().join("tests/artifacts");
        std::fs::create_dir_all(&artifacts).unwrap();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-quic", "--no-first-run", "--window-size=1280,800",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let deadline = Instant::now() + Duration::from_secs(20);
        let session = loop {
            match http.post(format!("{base}/session")).json(&capabilities).send().await {
                Ok(r) => {
                    let body: Value = r.json().await.unwrap();
                    let id = body["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {body}"));
                    break id.to_string();
                }
                Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => panic!("chromedriver did not answer: {e}"),
            }
        };
        Browser { driver, base, session, http, profile, artifacts }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let v: Value = request.send().await.unwrap().json().await.unwrap();
        if let Some(err) = v["value"].get("error") {
            panic!("WebDriver {path}: {err} {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn eval(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// Runs a script that calls its last argument (the WebDriver callback) with the result.
    pub async fn eval_async(&self, script: &str) -> Value {
        self.call(reqwest::Method::POST, "/execute/async", Some(json!({"script": script, "args": []}))).await
    }

    /// Sets the window's outer size (e.g. a phone's width).
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    /// Presses and releases a key as the keyboard would (WebDriver key codes: Tab is
    /// "\u{E004}", Enter "\u{E007}", Space " ").
    pub async fn press(&self, key: &str) {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]});
        self.call(reqwest::Method::POST, "/actions", Some(actions)).await;
    }

    /// Polls a JavaScript expression until it is truthy.
    pub async fn wait_for(&self, what: &str, expression: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        let script = format!("return !!({expression});");
        while Instant::now() < deadline {
            if self.eval(&script).await == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.screenshot(&format!("timeout-{}", what.replace(' ', "-"))).await;
        let text = self.eval("return document.body.innerText").await;
        panic!("timed out waiting for {what} ({expression}); page says:\n{text}");
    }

    /// Whether the element with this test id is displayed.
    pub fn visible(test_id: &str) -> String {
        format!("(e => e && e.offsetParent !== null && getComputedStyle(e).visibility !== 'hidden')(document.querySelector('[data-testid=\"{test_id}\"]'))")
    }

    pub async fn click(&self, test_id: &str) {
        let el = self
            .call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": format!("[data-testid=\"{test_id}\"]")})))
            .await;
        let id = el[ELEMENT_KEY].as_str().unwrap().to_string();
        self.call(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({}))).await;
    }

    pub async fn text(&self, test_id: &str) -> String {
        self.eval(&format!("return (document.querySelector('[data-testid=\"{test_id}\"]') || {{}}).innerText || ''")).await.as_str().unwrap_or_default().to_string()
    }

    /// Saves a PNG under tests/artifacts/ and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap();
        let path = self.artifacts.join(format!("{name}.png"));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub fn artifacts_dir(&self) -> &Path {
        &self.artifacts
    }
}

impl Browser {
    /// Ends the WebDriver session, which closes Chromium.
    pub async fn close(self) {
        let _ = self.http.delete(format!("{}/session/{}", self.base, self.session)).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
