//! Shared helpers for the whole-path tests: a real daemon process on a temporary
//! state directory and port, a real HTTPS client pinned to the daemon's own
//! certificate, and the media fetched by `scripts/setup`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub mod axe;
pub mod browser;
pub mod documents;
pub mod journey;

pub const TOKEN: &str = "test-client-token-0123456789abcdef";
pub const TECHNICIAN_PASSWORD: &str = "technician-password-for-tests";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file fetched by `scripts/setup`; a clear failure if setup was not run.
pub fn media(name: &str) -> PathBuf {
    let path = repo().join("models/media").join(name);
    assert!(path.exists(), "{} is missing: run scripts/setup (or scripts/test) first", path.display());
    path
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("idverifd-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Renders fictitious documents with tests/fixtures/gen_documents.py into `dir`.
pub fn render_documents(dir: &Path, args: &[&str]) {
    run_generator("gen_documents.py", dir, args);
}

/// Runs one of tests/fixtures' Python generators with `--out dir` and `args`.
fn run_generator(script: &str, dir: &Path, args: &[&str]) {
    let out = Command::new("python3")
        .arg(repo().join("tests/fixtures").join(script))
        .args(["--out", dir.to_str().unwrap()])
        .args(args)
        .output()
        .expect("python3");
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Renders a session video (face, then a card: tests/fixtures/gen_session_video.py) and
/// returns it with its truth.
pub fn session_video(name: &str, args: &[&str]) -> (PathBuf, serde_json::Value) {
    let media = temp_dir(name);
    run_generator("gen_session_video.py", &media, args);
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(media.join("session.json")).unwrap()).unwrap();
    let video = std::fs::read_dir(&media)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_stem().is_some_and(|s| s == "session") && p.extension().is_some_and(|e| e != "json"))
        .unwrap();
    (video, truth)
}

/// Settings a test varies; everything else is the demo's, so the replayed clip
/// passes the gates the way it does in the demo.
pub struct TestConfig {
    pub source: String,
    pub loop_replay: bool,
    /// `camera.lockstep`: every frame analysed and the session timed by the frames, so
    /// a replay is judged the same on a loaded machine (the daemon then runs with
    /// `IDVERIFD_TEST_CAMERA=1`; the `test:` camera is always so).
    pub lockstep: bool,
    pub subject_timeout: &'static str,
    /// How long the captured photo waits on Retake / Continue before going on.
    pub review: &'static str,
    pub camera_grace: &'static str,
    pub client_cert_sha256: Vec<String>,
    /// Headless tests have no subject to tick the consent box on the kiosk.
    pub require_consent: bool,
    /// Face only unless a test replays a document too.
    pub document_stages: bool,
    pub size: (u32, u32),
    /// Active liveness challenges after the photo (a recorded clip cannot pass them).
    pub liveness_challenges: usize,
    /// The kiosk colour sequence (a recorded clip cannot reflect it).
    pub screen_flash: bool,
    /// Overrides face.match_threshold (tests whose card portrait is another person).
    pub match_threshold: Option<f32>,
    /// `session.fixed_date`: the day age and expiry are judged on (None: system clock).
    pub fixed_date: Option<&'static str>,
    /// `session.draw_seed`: the challenges and flash colours drawn (None: unpredictable).
    pub draw_seed: Option<u64>,
    /// More bearer tokens accepted besides [`TOKEN`] (other registration servers).
    pub other_tokens: Vec<&'static str>,
    /// The `/metrics` scrape token, if any.
    pub metrics_token: Option<&'static str>,
    pub extra: &'static str,
}

impl Default for TestConfig {
    fn default() -> Self {
        Self {
            source: format!("file:{}", media("carphone_pristine.mp4").display()),
            loop_replay: true,
            lockstep: false,
            subject_timeout: "40s",
            review: "1s",
            camera_grace: "4s",
            client_cert_sha256: vec![],
            require_consent: false,
            document_stages: false,
            size: (640, 480),
            liveness_challenges: 0,
            match_threshold: None,
            screen_flash: false,
            // The generated people's ages and card expiry are judged on this day,
            // so the tests stay true whatever the system clock says.
            fixed_date: Some("2026-11-21"),
            // The same challenges and flash colours in every run: a test fails for
            // what the code does, not for what was drawn. IDVERIFD_TEST_DRAW_SEED
            // picks another seed, or `random` for unpredictable draws.
            draw_seed: test_draw_seed(),
            other_tokens: vec![],
            metrics_token: None,
            extra: "",
        }
    }
}

/// The draw seed tests run with: `IDVERIFD_TEST_DRAW_SEED` (a number, or `random`
/// for none), else a fixed one.
fn test_draw_seed() -> Option<u64> {
    match std::env::var("IDVERIFD_TEST_DRAW_SEED") {
        Ok(v) if v == "random" => None,
        Ok(v) => Some(v.parse().expect("IDVERIFD_TEST_DRAW_SEED is a number or `random`")),
        Err(_) => Some(20261121),
    }
}

impl TestConfig {
    pub fn render(&self, state_dir: &Path) -> String {
        let demo = std::fs::read_to_string(repo().join("config/demo.toml")).unwrap();
        // Keep the demo's [face] tuning; replace the sections a test varies.
        let face = &demo[demo.find("[face]").unwrap()..demo.find("[session]").unwrap()];
        let face: String = face
            .lines()
            .map(|l| match self.match_threshold {
                Some(t) if l.starts_with("match_threshold") => format!("match_threshold = {t}\n"),
                _ => format!("{l}\n"),
            })
            .collect();
        let hash = |t: &str| format!("\"{}\"", hex::encode(Sha256::digest(t.as_bytes())));
        let token_hash = std::iter::once(TOKEN).chain(self.other_tokens.iter().copied()).map(hash).collect::<Vec<_>>().join(", ");
        let metrics = self.metrics_token.map(|t| format!("metrics_token_sha256 = {}", hash(t))).unwrap_or_default();
        let pins = self.client_cert_sha256.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", ");
        format!(
            r#"[device]
id = "test-device"
state_dir = "{state}"
demo = false

[camera]
source = "{source}"
width = {width}
height = {height}
loop_replay = {loop_replay}
allow_replay = true
lockstep = {lockstep}
frame_timeout = "1500ms"

[api]
listen = "127.0.0.1:0"
client_token_sha256 = [{token_hash}]
client_cert_sha256 = [{pins}]
{metrics}

{face}
[session]
subject_timeout = "{timeout}"
settle = "500ms"
countdown_seconds = 3
countdown_tolerance = "400ms"
review = "{review}"
camera_grace = "{grace}"
document_stages = {documents}
liveness_challenges = {challenges}
challenge_timeout = "4s"
screen_flash = {flash}
{fixed_date}
{draw_seed}

[models]
dir = "{models}"

[kiosk]
listen = "127.0.0.1:0"
require_consent = {consent}

[status]
listen = "127.0.0.1:0"
password_hash = "{password_hash}"
{extra}"#,
            state = state_dir.display(),
            source = self.source.replace('\\', "\\\\").replace('"', "\\\""),
            loop_replay = self.loop_replay,
            lockstep = self.lockstep,
            timeout = self.subject_timeout,
            review = self.review,
            grace = self.camera_grace,
            models = repo().join("models").display(),
            consent = self.require_consent,
            documents = self.document_stages,
            challenges = self.liveness_challenges,
            flash = self.screen_flash,
            fixed_date = self.fixed_date.map(|d| format!("fixed_date = \"{d}\"")).unwrap_or_default(),
            draw_seed = self.draw_seed.map(|s| format!("draw_seed = {s}")).unwrap_or_default(),
            width = self.size.0,
            height = self.size.1,
            password_hash = idverifd::config::hash_password(TECHNICIAN_PASSWORD),
            extra = self.extra,
        )
    }
}

/// The daemon under test: a real process.
pub struct Daemon {
    child: Option<Child>,
    pub dir: PathBuf,
    pub config_path: PathBuf,
    pub url: String,
    pub kiosk_url: String,
    /// The kiosk page's URL with this boot's key, as `idverifd kiosk-url` prints it.
    pub kiosk_page: String,
    pub kiosk_key: String,
    pub status_url: String,
    pub log: Arc<Mutex<String>>,
    /// Extra environment for the process (e.g. a systemd credentials directory).
    pub env: Vec<(String, String)>,
}

impl Daemon {
    pub fn start(name: &str, config: &TestConfig) -> Daemon {
        let mut d = Self::prepare(name, config);
        d.launch();
        d
    }

    /// The config written, the process not yet started (a test may mount a file
    /// system on the state directory first).
    pub fn prepare(name: &str, config: &TestConfig) -> Daemon {
        let dir = temp_dir(name);
        let config_path = dir.join("idverifd.toml");
        std::fs::write(&config_path, config.render(&dir.join("state"))).unwrap();
        let mut env = Vec::new();
        if config.lockstep || config.source.starts_with("test:") {
            env.push((idverifd::config::TEST_CAMERA_ENV.to_string(), "1".to_string()));
        }
        Daemon {
            child: None,
            dir,
            config_path,
            url: String::new(),
            kiosk_url: String::new(),
            kiosk_page: String::new(),
            kiosk_key: String::new(),
            status_url: String::new(),
            log: Arc::default(),
            env,
        }
    }

    /// Starts the process (again) on the same config and state.
    pub fn launch(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_idverifd"))
            .args(["run", "--config"])
            .arg(&self.config_path)
            .env("IDVERIFD_LOG", "info,idverifd=debug")
            // Every API response goes to a log that `check_responses` holds against the OpenAPI document.
            .env("IDVERIFD_RESPONSE_LOG", self.response_log())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start idverifd");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::clone(&self.log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(" ready ") {
                    let _ = tx.send(line.clone());
                }
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let ready = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
            panic!("daemon did not log ready within 60 s:\n{}", self.log.lock().unwrap())
        });
        let field = |name: &str| {
            let prefix = format!("{name}=");
            ready.split_whitespace().find_map(|w| w.strip_prefix(prefix.as_str())).unwrap_or_else(|| panic!("{name}= in {ready}")).to_string()
        };
        self.url = field("url");
        self.kiosk_url = field("kiosk");
        self.status_url = field("status");
        self.kiosk_page = std::fs::read_to_string(self.state().join("kiosk.url")).expect("kiosk.url written at start").trim().to_string();
        self.kiosk_key = self.kiosk_page.split("key=").nth(1).expect("key= in the kiosk URL").to_string();
        self.child = Some(child);
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// A plain HTTP client for the kiosk listener that sends this boot's kiosk key.
    pub fn kiosk_client(&self) -> reqwest::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-kiosk-key", self.kiosk_key.parse().unwrap());
        reqwest::Client::builder().default_headers(headers).timeout(Duration::from_secs(30)).build().unwrap()
    }

    pub fn response_log(&self) -> PathBuf {
        self.dir.join("api-responses.jsonl")
    }

    /// Checks every API response this daemon gave (over all its starts) against the
    /// OpenAPI document `idverifd openapi` prints; panics naming each violation.
    /// Returns the checker's summary line. Runs at drop too.
    pub fn check_responses(&self) -> String {
        let log = self.response_log();
        if !log.exists() {
            return "no API responses".into();
        }
        let doc = self.dir.join("openapi.json");
        let out = Command::new(env!("CARGO_BIN_EXE_idverifd")).arg("openapi").output().expect("idverifd openapi");
        assert!(out.status.success(), "idverifd openapi failed: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::write(&doc, &out.stdout).unwrap();
        let out = Command::new("python3")
            .arg(repo().join("tests/tools/check_responses.py"))
            .args([&doc, &log])
            .output()
            .expect("python3 (installed by scripts/setup)");
        let summary = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success(),
            "API responses disagree with the OpenAPI document ({summary}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        summary
    }

    pub fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    pub fn cert_pem(&self) -> Vec<u8> {
        std::fs::read(self.state().join("tls/server.crt")).unwrap()
    }

    /// An HTTPS client that trusts only this daemon's certificate.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        let cert = reqwest::Certificate::from_pem(&self.cert_pem()).unwrap();
        reqwest::Client::builder().use_rustls_tls().add_root_certificate(cert).timeout(Duration::from_secs(120))
    }

    pub fn client(&self) -> reqwest::Client {
        self.client_builder().build().unwrap()
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM and wait: the graceful path systemd takes.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        c.wait().unwrap()
    }

    /// SIGTERM, and the exit must be 0; else the panic shows the status and the
    /// daemon's last log lines (the stderr reader may lag the exit by a moment).
    pub fn stop_cleanly(&mut self) {
        let exit = self.terminate();
        if !exit.success() {
            std::thread::sleep(Duration::from_millis(500));
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            panic!("SIGTERM ended the daemon with {exit}; its last log lines:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub async fn start_verification(&self, nonce: &str) -> serde_json::Value {
        self.start_verification_with(serde_json::json!({"reference": "reg-42", "nonce": nonce, "language": "kk"})).await
    }

    pub async fn start_verification_with(&self, body: serde_json::Value) -> serde_json::Value {
        let r = self.client().post(format!("{}/v1/verifications", self.url)).bearer_auth(TOKEN).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201, "start: {}", r.text().await.unwrap());
        r.json().await.unwrap()
    }

    /// Follows the SSE stream of a session to its end; returns the events' data.
    pub async fn follow_events(&self, id: &str, limit: Duration) -> Vec<serde_json::Value> {
        // The stream may outlast the client's usual 120 s time-out (a lockstep session).
        let client = self.client_builder().timeout(limit + Duration::from_secs(30)).build().unwrap();
        collect_events(&client, &self.url, id, limit).await
    }

    /// The technician's `status.json`, as text.
    pub async fn status_text(&self) -> String {
        let request = self.client().get(format!("{}/status.json", self.status_url));
        request.basic_auth("technician", Some(TECHNICIAN_PASSWORD)).send().await.unwrap().text().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.client().get(format!("{}{path}", self.url)).bearer_auth(TOKEN).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let r = self.client().get(format!("{}{path}", self.url)).bearer_auth(TOKEN).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
        if !std::thread::panicking() {
            self.check_responses();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the independent JOSE check (Python joserfc) on a result.
pub fn verify_with_joserfc(jwks: &str, jws: &str, nonce: &str, dir: &Path) -> serde_json::Value {
    let (jwks_path, jws_path) = (dir.join("jwks.json"), dir.join("result.jws"));
    std::fs::write(&jwks_path, jwks).unwrap();
    std::fs::write(&jws_path, jws).unwrap();
    let out = Command::new("python3")
        .arg(repo().join("tests/tools/verify_jws.py"))
        .args([&jwks_path, &jws_path])
        .arg(nonce)
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("python3 (installed by scripts/setup)");
    assert!(out.status.success(), "joserfc refused the result: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits until `check` holds or `limit` passes.
pub async fn eventually<F: FnMut() -> bool>(limit: Duration, mut check: F) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check()
}

/// Follows the SSE stream of session `id` at `url` to its end (or `limit`).
pub async fn collect_events(client: &reqwest::Client, url: &str, id: &str, limit: Duration) -> Vec<serde_json::Value> {
    use futures_util::StreamExt;
    let r = client.get(format!("{url}/v1/verifications/{id}/events")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut stream = r.bytes_stream();
    let (mut buf, mut events) = (String::new(), Vec::new());
    let deadline = Instant::now() + limit;
    while let Ok(Some(chunk)) = tokio::time::timeout_at(deadline.into(), stream.next()).await {
        buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            for line in block.lines() {
                if let Some(data) = line.strip_prefix("data: ") {
                    events.push(serde_json::from_str(data).unwrap());
                }
            }
        }
    }
    events
}
