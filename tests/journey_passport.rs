//! The passport variant of the kiosk journey, in a real headless Chromium, on a
//! replayed session video (tests/fixtures/gen_session_video.py --passport): the face,
//! then a Kazakh passport's data page held up to the camera. The registration server asked for a passport, so the
//! kiosk frames a passport page (not a card) and asks for it; the IIN is read from
//! the MRZ, so nothing is typed.
//!
//! The page's portrait is a stock photo, not the man in the clip: the comparison
//! fails, honestly, and the end screen is a rejection that says what to do next, in
//! the subject's language. In Russian the registration server also expected another
//! IIN, and the end screen names both next steps.
//!
//! Screenshots: tests/artifacts/journey-<lang>-<nn>-<step>.png, each checked by
//! axe-core (the report printed, no serious or critical violation allowed).

mod common;

use std::time::Instant;

use common::axe::AxeReport;
use common::browser::Browser;
use common::journey::{DOCUMENT, Walk, history, session_video, strings};
use common::{Daemon, TestConfig};
use serde_json::{Value, json};

/// The passport page, its framing prompt, and the end: returns the session's id.
async fn passport_walk(walk: &mut Walk<'_>, body: Value) -> String {
    let id = walk.start(body).await;
    walk.face(false).await;
    // The guide is the passport page's shape (ID-3, 125 x 88 mm), not a card's.
    let page = format!("document.querySelector('#frame').classList.contains('doc') && {}", walk.prompt_is("p_show_passport"));
    walk.wait("passport page asked for", &page, DOCUMENT).await;
    let guide = walk.browser.eval("const r = document.querySelector('#card').getBoundingClientRect(); return r.width / r.height").await;
    walk.shot("passport-page").await;
    let aspect = guide.as_f64().unwrap();
    assert!((aspect - 125.0 / 88.0).abs() < 0.02, "the guide's shape is a passport page's: {aspect:.3}");
    // Held well, the page is to be kept so: the guide turns green with the prompt. A
    // loaded machine may read the page before that prompt settles (300 ms), so it is
    // shot when it shows, not required.
    let held = format!("{} && document.querySelector('#card').classList.contains('ok')", walk.prompt_is("p_hold_card_flat"));
    let ended = Browser::visible("result");
    walk.wait("the page held well, or the end", &format!("({held}) || {ended}"), DOCUMENT).await;
    if walk.browser.eval(&format!("return {held}")).await == json!(true) {
        walk.shot("passport-held-well").await;
    }
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_candidate_shows_a_passport_page_and_a_rejection_says_what_to_do_next_in_kazakh_and_russian() {
    let began = Instant::now();
    // A 12 s face (a photo, no Retake), then the page for 6 s; 10 frames a second (a
    // third less to render than 15). The card journey shows the framing prompts.
    let (video, truth) = session_video(&["--seed", "1", "--passport", "--face-seconds", "12", "--doc-seconds", "6", "--fps", "10"]);
    println!("journey passport: session video ready after {:.1} s", began.elapsed().as_secs_f32());
    let expected = &truth["expected"];
    assert_eq!(expected["document_type"], "passport");
    let config = TestConfig {
        source: format!("file:{}", video.display()),
        document_stages: true,
        size: (960, 720),
        subject_timeout: "120s",
        review: "15s",
        require_consent: true,
        ..TestConfig::default()
    };
    let browser = Browser::start("journey-passport").await;
    let daemon = Daemon::start("journey-passport", &config);
    let strings = strings();
    let mut axe = AxeReport::default();
    let iin = expected["iin"].as_str().unwrap();

    // Kazakh: the registration server expected this IIN; the portrait is another person's.
    let mut walk = Walk::new(&browser, &daemon, &mut axe, "kk", &strings, 80);
    let body = json!({"reference": "reg-passport", "nonce": "nonce-journey-passport-kk", "language": "ru", "document": "passport", "expected_iin": iin});
    let kk = passport_walk(&mut walk, body).await;
    walk.end("rejected", &["n_face_mismatch"]).await;
    let kk_time = walk.started.elapsed();
    let kk_framing = walk.framing_prompts().await;

    // Russian: another IIN expected too; both next steps, in the reasons' order.
    let mut walk = Walk::new(&browser, &daemon, &mut axe, "ru", &strings, 80);
    // A valid IIN (check digit right), not the passport's.
    let other = "900101300007";
    assert_ne!(iin, other);
    let body = json!({"reference": "reg-passport", "nonce": "nonce-journey-passport-ru", "language": "kk", "document": "passport", "expected_iin": other});
    let ru = passport_walk(&mut walk, body).await;
    walk.end("rejected", &["n_iin_mismatch", "n_face_mismatch"]).await;
    let ru_framing = walk.framing_prompts().await;

    for (id, reasons) in [(&kk, json!(["face_mismatch"])), (&ru, json!(["expected_iin_mismatch", "face_mismatch"]))] {
        let (_, view) = daemon.get_json(&format!("/v1/verifications/{id}")).await;
        assert_eq!(view["decision"]["reasons"], reasons, "{}", view["decision"]);
        let stages = history(&daemon, id).await;
        assert!(stages.contains(&"passport_page".to_string()) && !stages.iter().any(|s| s.starts_with("document_") || s == "iin_entry"), "{stages:?}");
        // The portrait was compared and found another person's, not skipped.
        let checks = view["decision"]["checks"].as_array().unwrap();
        let matched = checks.iter().find(|c| c["name"] == "face_matches_document").unwrap_or_else(|| panic!("no face comparison: {checks:?}"));
        assert_eq!(matched["passed"], false, "{matched}");
    }

    println!("{}", axe.render());
    println!("journey passport framing prompts shown: kk {kk_framing:?}, ru {ru_framing:?}");
    println!("journey passport: a whole journey (kk, server's start to the end screen) {:.1} s; both walks {:.1} s in all", kk_time.as_secs_f32(), began.elapsed().as_secs_f32());
    let blocking = axe.blocking();
    assert!(blocking.is_empty(), "serious or critical accessibility violations: {blocking:#?}");
    browser.close().await;
}
