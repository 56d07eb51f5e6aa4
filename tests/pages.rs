//! The two faces of the appliance in a real headless Chromium: the candidate's
//! kiosk walked through a replayed session in Russian and in Kazakh, and the
//! technicians' status page, which must never show a subject's data.
//! Screenshots land in tests/artifacts/.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::browser::Browser;
use common::{Daemon, TECHNICIAN_PASSWORD, TestConfig};
use serde_json::{Value, json};

const KAZAKH_LETTERS: &[char] = &['ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'һ', 'і', 'Ә', 'Ғ', 'Қ', 'Ң', 'Ө', 'Ұ', 'Ү', 'І'];
const LONG: Duration = Duration::from_secs(30);

fn payload(jws: &str) -> Value {
    let part = jws.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// One subject through the kiosk: language, consent, framing, countdown, capture,
/// retake, capture again, continue, the end screen.
async fn walk_through(daemon: &Daemon, browser: &Browser, lang: &str, nonce: &str) -> (String, String) {
    let v = Browser::visible;
    browser.goto(&daemon.kiosk_page).await;
    browser.wait_for("idle screen", &v("idle"), LONG).await;
    let id = daemon
        .start_verification_with(json!({"reference": "reg-77", "nonce": nonce, "language": "ru", "expected_iin": "900101300017"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();

    browser.wait_for("language choice", &v("language"), LONG).await;
    browser.screenshot(&format!("kiosk-{lang}-1-language")).await;
    browser.click(&format!("lang-{lang}")).await;
    browser.wait_for("consent", &v("consent"), LONG).await;
    assert_eq!(browser.eval("return document.documentElement.lang").await, json!(lang));
    let consent_text = browser.text("consent").await;
    browser.screenshot(&format!("kiosk-{lang}-2-consent")).await;
    browser.click("consent-checkbox").await;
    browser.click("consent-continue").await;
    let consented = Instant::now();

    let preview_loaded = "(i => i && i.complete && i.naturalWidth > 0)(document.querySelector('[data-testid=\"preview\"]'))";
    browser.wait_for("first preview frame", preview_loaded, LONG).await;
    println!("kiosk {lang}: time from consent to first preview frame: {} ms", consented.elapsed().as_millis());
    browser.wait_for("green oval", "document.querySelector('[data-testid=\"oval\"]').classList.contains('ok')", LONG).await;
    browser.screenshot(&format!("kiosk-{lang}-3-oval-green")).await;
    browser.wait_for("countdown", &v("countdown"), LONG).await;
    browser.screenshot(&format!("kiosk-{lang}-4-countdown")).await;
    let photo_loaded = "(i => i && i.complete && i.naturalWidth > 0)(document.querySelector('[data-testid=\"captured-photo\"]'))";
    browser.wait_for("captured photo", &format!("{} && {photo_loaded}", v("review")), LONG).await;
    browser.screenshot(&format!("kiosk-{lang}-5-captured")).await;

    browser.click("retake").await;
    browser.wait_for("back to framing", &format!("!{} && {}", v("review"), v("preview")), LONG).await;
    browser.wait_for("second capture", &format!("{} && {photo_loaded}", v("review")), LONG).await;
    browser.click("continue").await;
    browser.wait_for("end screen", &v("result"), LONG).await;
    browser.screenshot(&format!("kiosk-{lang}-6-result")).await;
    let result_text = browser.text("result").await;

    // The server sees what the subject did: consent in the chosen language, one retake.
    let (status, jws) = daemon.get_text(&format!("/v1/verifications/{id}/result")).await;
    assert_eq!(status, 200);
    let p = payload(&jws);
    assert_eq!(p["face_retakes"], 1, "{p}");
    assert_eq!(p["decision"], "needs_review");
    let (_, view) = daemon.get_json(&format!("/v1/verifications/{id}")).await;
    let stages: Vec<&str> = view["history"].as_array().unwrap().iter().map(|h| h["stage"].as_str().unwrap()).collect();
    assert_eq!(stages, ["face_capture", "face_review", "face_capture", "face_review", "done"]);
    (consent_text, result_text)
}

#[tokio::test(flavor = "multi_thread")]
async fn kiosk_walks_a_subject_through_in_russian_and_kazakh_and_the_status_page_shows_no_personal_data() {
    // The photo waits for the subject's Retake or Continue: with the default 1 s it
    // could go on before a loaded machine's browser had shown it.
    let config = TestConfig { require_consent: true, subject_timeout: "90s", review: "15s", ..TestConfig::default() };
    let daemon = Daemon::start("pages", &config);
    let browser = Browser::start("pages").await;
    println!("kiosk page weight (HTML+CSS+JS): {} bytes", idverifd::api::kiosk::page_weight());

    let (ru_consent, ru_result) = walk_through(&daemon, &browser, "ru", "nonce-pages-ru-1").await;
    let (kk_consent, kk_result) = walk_through(&daemon, &browser, "kk", "nonce-pages-kk-1").await;
    assert!(ru_consent.chars().any(|c| ('а'..='я').contains(&c)), "Russian consent text: {ru_consent}");
    assert!(!ru_consent.contains(KAZAKH_LETTERS), "Russian text with Kazakh letters: {ru_consent}");
    assert!(kk_consent.contains(KAZAKH_LETTERS), "Kazakh consent text: {kk_consent}");
    assert!(kk_result.contains(KAZAKH_LETTERS) && !ru_result.contains(KAZAKH_LETTERS), "{ru_result} / {kk_result}");

    // Between sessions the kiosk shows nobody: no photo, no preview.
    browser.goto(&daemon.kiosk_page).await;
    browser.wait_for("idle screen", &Browser::visible("idle"), LONG).await;
    let r = daemon.kiosk_client().get(format!("{}/kiosk/preview.mjpeg", daemon.kiosk_url)).send().await.unwrap();
    assert_eq!(r.status(), 409);

    // The status page, as a technician sees it after those sessions.
    let status_url = daemon.status_url.replacen("https://", &format!("https://technician:{TECHNICIAN_PASSWORD}@"), 1);
    browser.goto(&status_url).await;
    browser.wait_for("status filled in", "document.querySelector('#camera') && document.querySelector('#camera').innerText.includes('streaming')", LONG).await;
    browser.wait_for("idle preview", "(i => i && !i.hidden && i.naturalWidth > 0)(document.querySelector('#preview'))", LONG).await;
    let shot = browser.screenshot("status-page").await;
    let page_text = browser.eval("return document.body.innerText").await.as_str().unwrap().to_string();
    let page_html = browser.eval("return document.documentElement.outerHTML").await.as_str().unwrap().to_string();
    assert!(page_text.contains("needs_review"), "today's counts are on the page:\n{page_text}");
    let json = daemon.status_text().await;
    for secret in ["900101300017", "reg-77", "nonce-pages-ru-1", "nonce-pages-kk-1"] {
        assert!(!page_text.contains(secret) && !page_html.contains(secret) && !json.contains(secret), "status shows {secret}");
    }
    // No photo on the page other than the idle camera preview.
    let images = browser.eval("return [...document.images].map(i => i.getAttribute('src'))").await;
    assert!(images.as_array().unwrap().iter().all(|s| s.as_str().unwrap_or("").contains("/preview.mjpeg")), "{images}");
    println!("status page screenshot: {}", shot.display());

    // Without the password: 401 and nothing else.
    let r = daemon.client().get(format!("{}/status.json", daemon.status_url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = daemon.client().get(format!("{}/status.json", daemon.status_url)).basic_auth("technician", Some("wrong")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    browser.close().await;
}
