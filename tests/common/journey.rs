//! The kiosk journey's walk, shared by the journey tests: one subject's session seen
//! in Chromium step by step, each step a screenshot (tests/artifacts/
//! journey-<lang>-<nn>-<step>.png) checked by axe-core; the replayed session videos
//! the fixture tools render, kept between runs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Daemon;
use super::axe::AxeReport;
use super::browser::Browser;

pub const LONG: Duration = Duration::from_secs(45);
/// A document side comes round once per loop of the 21-28 s video.
pub const DOCUMENT: Duration = Duration::from_secs(75);

/// Each challenge's picture (classes of #challenge) and the prompt it illustrates.
pub const PICTURES: [(&str, &str); 5] =
    [("arrow left", "p_turn_left"), ("arrow right", "p_turn_right"), ("arrow up", "p_look_up"), ("eye", "p_blink"), ("closer", "p_move_closer")];

/// The framing prompts of the document stages.
pub const FRAMING: [&str; 4] = ["p_hold_card_flat", "p_move_card_closer", "p_too_blurry", "p_glare"];

/// Records every change of what the subject sees (screen, prompt line, picture,
/// flash colour and its prompt), so transient prompts are not missed between polls.
const RECORDER: &str = r#"
window.__seen = []; let last = '';
const q = (s) => document.querySelector(s);
setInterval(() => {
  const screen = [...document.querySelectorAll('section.screen')].find((e) => !e.hidden);
  const flash = q('#flash');
  const rec = { screen: screen ? screen.dataset.testid : '', prompt: q('#prompt').textContent,
    picture: q('#challenge').hidden ? '' : q('#challenge').className.replace('challenge', '').trim(),
    flash: flash.hidden ? '' : flash.style.backgroundColor, flash_prompt: q('#flash-prompt').textContent,
    document: q('#frame').classList.contains('doc') };
  const key = JSON.stringify(rec);
  if (key !== last) { last = key; window.__seen.push(rec); }
}, 40);
"#;

/// The kiosk's texts, language → key → text, as the page has them.
pub fn strings() -> Value {
    serde_json::from_str(&std::fs::read_to_string(super::repo().join("src/api/kiosk/strings.json")).unwrap()).unwrap()
}

/// Renders a session video (face, then a card or a passport page) and returns it with
/// its truth. The render takes a CPU-minute: it is kept under the target directory,
/// keyed by the arguments and the generators' source, and made again only when
/// either changes.
pub fn session_video(args: &[&str]) -> (PathBuf, Value) {
    use sha2::{Digest, Sha256};
    let fixtures = super::repo().join("tests/fixtures");
    let mut key = Sha256::new();
    key.update(args.join(" "));
    let mut sources: Vec<_> = std::fs::read_dir(&fixtures).unwrap().filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "py")).collect();
    sources.sort();
    for source in sources {
        key.update(std::fs::read(source).unwrap());
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("session-videos").join(&hex::encode(key.finalize())[..16]);
    let (video, truth) = (dir.join("session.webm"), dir.join("session.json"));
    if !truth.exists() {
        let partial = dir.with_extension(format!("partial-{}", std::process::id()));
        let out = Command::new("python3").arg(fixtures.join("gen_session_video.py")).arg("--out").arg(&partial).args(args).output().expect("python3");
        assert!(out.status.success(), "video generator: {}", String::from_utf8_lossy(&out.stderr));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&partial, &dir).unwrap();
    }
    (video, serde_json::from_str(&std::fs::read_to_string(truth).unwrap()).unwrap())
}

/// Points a stopped daemon's replayed source at another video and starts it again.
pub fn replay_instead(daemon: &mut Daemon, from: &std::path::Path, to: &std::path::Path) {
    daemon.terminate();
    let text = std::fs::read_to_string(&daemon.config_path).unwrap().replace(&from.display().to_string(), &to.display().to_string());
    std::fs::write(&daemon.config_path, text).unwrap();
    daemon.launch();
}

/// One language's walk: numbered screenshots, each checked by axe-core.
pub struct Walk<'a> {
    pub browser: &'a Browser,
    pub daemon: &'a Daemon,
    pub axe: &'a mut AxeReport,
    pub lang: &'static str,
    pub strings: &'a Value,
    step: usize,
    /// When the registration server started the session.
    pub started: Instant,
    /// Only the steps a test names itself are shot (a walk repeated for its challenge).
    pub quiet: bool,
}

impl<'a> Walk<'a> {
    pub fn new(browser: &'a Browser, daemon: &'a Daemon, axe: &'a mut AxeReport, lang: &'static str, strings: &'a Value, first: usize) -> Self {
        Walk { browser, daemon, axe, lang, strings, step: first, started: Instant::now(), quiet: false }
    }

    /// The kiosk's text for `key` in this walk's language.
    pub fn t(&self, key: &str) -> String {
        self.strings[self.lang][key].as_str().unwrap_or_else(|| panic!("no {key} in {}", self.lang)).to_string()
    }

    pub async fn shot(&mut self, name: &str) {
        self.step += 1;
        let label = format!("{}-{:02}-{name}", self.lang, self.step);
        self.browser.screenshot(&format!("journey-{label}")).await;
        self.axe.check(self.browser, &label).await;
        println!("journey {label}: {:.1} s", self.started.elapsed().as_secs_f32());
    }

    /// A step every session has (language, consent, the face): not shot when quiet.
    async fn routine_shot(&mut self, name: &str) {
        if !self.quiet {
            self.shot(name).await;
        }
    }

    pub async fn wait(&self, what: &str, expression: &str, limit: Duration) {
        self.browser.wait_for(&format!("{}-{what}", self.lang), expression, limit).await;
    }

    pub fn prompt_is(&self, key: &str) -> String {
        format!("document.querySelector('#prompt').textContent === {}", json!(self.t(key)))
    }

    /// Whether the prompt `key` was ever shown in this page load.
    pub fn was_shown(&self, key: &str) -> String {
        format!("(window.__seen || []).some((r) => r.prompt === {})", json!(self.t(key)))
    }

    pub async fn seen(&self) -> Vec<Value> {
        self.browser.eval("return window.__seen || []").await.as_array().cloned().unwrap_or_default()
    }

    /// The idle kiosk, a session started by the registration server, the language
    /// chosen on the kiosk (the server asked for another), and consent given.
    pub async fn start(&mut self, body: Value) -> String {
        let v = Browser::visible;
        self.browser.goto(&self.daemon.kiosk_page).await;
        self.browser.eval(RECORDER).await;
        self.wait("idle", &v("idle"), LONG).await;
        let id = self.daemon.start_verification_with(body).await["id"].as_str().unwrap().to_string();
        self.started = Instant::now();
        self.wait("language", &v("language"), LONG).await;
        self.routine_shot("language").await;
        self.browser.click(&format!("lang-{}", self.lang)).await;
        self.wait("consent", &v("consent"), LONG).await;
        assert_eq!(self.browser.eval("return document.documentElement.lang").await, json!(self.lang));
        self.routine_shot("consent").await;
        if self.lang == "en" {
            self.consent_by_keyboard().await;
        } else {
            self.browser.click("consent-checkbox").await;
            self.browser.click("consent-continue").await;
        }
        id
    }

    /// Consent with the keyboard alone: Tab to the box, Space, Tab to Continue, Enter.
    async fn consent_by_keyboard(&self) {
        let focused = |id: &str| format!("return document.activeElement && document.activeElement.id === '{id}'");
        for (target, key) in [("consent-checkbox", " "), ("consent-continue", "\u{E007}")] {
            let mut tabs = 0;
            while self.browser.eval(&focused(target)).await != json!(true) {
                tabs += 1;
                assert!(tabs <= 6, "{target} not reached with Tab");
                self.browser.press("\u{E004}").await;
            }
            self.browser.press(key).await;
        }
    }

    /// The face in the oval, the countdown, the photo; `retake` once, then Continue.
    pub async fn face(&mut self, retake: bool) {
        let v = Browser::visible;
        let photo = format!("{} && (i => i.complete && i.naturalWidth > 0)(document.querySelector('#captured-photo'))", v("review"));
        self.wait("green oval", "document.querySelector('#oval').classList.contains('ok')", LONG).await;
        self.routine_shot("face-oval").await;
        self.wait("countdown", &v("countdown"), LONG).await;
        self.routine_shot("face-countdown").await;
        self.wait("captured photo", &photo, LONG).await;
        self.routine_shot("face-captured").await;
        if retake {
            self.browser.click("retake").await;
            self.wait("framing again", &format!("!{} && {}", v("review"), v("preview")), LONG).await;
            self.wait("second photo", &photo, LONG).await;
        }
        self.browser.click("continue").await;
    }

    /// The end screen: its text is the decision's in this language, and a rejection
    /// says what to do next (`next`: the next steps' keys, in order).
    pub async fn end(&mut self, decision: &str, next: &[&str]) {
        let shown = format!("{} && document.querySelector('#result').dataset.decision === '{decision}'", Browser::visible("result"));
        self.wait(&format!("end {decision}"), &shown, DOCUMENT).await;
        assert_eq!(self.browser.text("result").await, self.t(&format!("d_{decision}")));
        let steps: Vec<String> = next.iter().map(|k| self.t(k)).collect();
        let said = self.browser.text("result-next").await;
        let said: Vec<&str> = said.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        assert_eq!(said, steps, "what to do next after {decision}");
        self.routine_shot(&format!("end-{decision}")).await;
        println!("journey {}: {decision} after {:.1} s from the server's start", self.lang, self.started.elapsed().as_secs_f32());
    }

    /// Waits for a challenge's picture and shoots it, named by the challenge.
    pub async fn challenge_shot(&mut self, limit: Duration) {
        self.wait("challenge picture", &Browser::visible("challenge"), limit).await;
        let picture = self.browser.eval("return document.querySelector('#challenge').className.replace('challenge', '').trim()").await;
        let (_, key) = PICTURES.iter().find(|(p, _)| json!(p) == picture).unwrap_or_else(|| panic!("unknown picture {picture}"));
        // The subject sees himself while asked: the live picture did not go black.
        let live = self.browser.eval("const i = document.querySelector('#preview'); return i.naturalWidth > 0 && !i.classList.contains('broken')").await;
        assert_eq!(live, json!(true), "the preview under the {picture} picture");
        self.shot(&format!("challenge-{}", key.trim_start_matches("p_"))).await;
    }

    /// The challenge pictures shown in this page load, in order, each checked to
    /// carry the prompt it illustrates in the walk's language.
    pub async fn pictures_seen(&self) -> Vec<String> {
        let mut shown = Vec::new();
        for record in self.seen().await {
            let picture = record["picture"].as_str().unwrap_or_default();
            if picture.is_empty() {
                continue;
            }
            let (_, key) = PICTURES.iter().find(|(p, _)| *p == picture).unwrap_or_else(|| panic!("unknown picture {picture}"));
            assert_eq!(record["prompt"], json!(self.t(key)), "the prompt under the {picture} picture");
            shown.push(picture.to_string());
        }
        shown.dedup();
        shown
    }

    /// Framing prompts the subject saw while a document was in view.
    pub async fn framing_prompts(&self) -> Vec<String> {
        let framing: Vec<String> = FRAMING.iter().map(|k| self.t(k)).collect();
        let seen = self.seen().await;
        let mut shown: Vec<String> = seen.iter().filter(|r| r["document"] == true).filter_map(|r| r["prompt"].as_str()).filter(|p| framing.iter().any(|f| f == p)).map(str::to_string).collect();
        shown.dedup();
        shown
    }
}

/// The stages a session went through, as the registration server sees them.
pub async fn history(daemon: &Daemon, id: &str) -> Vec<String> {
    let (_, view) = daemon.get_json(&format!("/v1/verifications/{id}")).await;
    view["history"].as_array().unwrap().iter().map(|h| h["stage"].as_str().unwrap().to_string()).collect()
}
