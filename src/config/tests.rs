//! The shipped configs are valid, every problem is reported at once, and test-only
//! settings are refused outside tests.

use super::*;

#[test]
fn embedded_demo_and_production_configs_are_valid() {
    parse(DEMO_CONFIG, DEMO_CONFIG_NAME).expect("demo config");
    let production = include_str!("../../config/idverifd.toml");
    // The shipped production file only lacks a credential, which the installer adds.
    let with_token = production
        .replace(
            "client_token_sha256 = []",
            "client_token_sha256 = [\"0000000000000000000000000000000000000000000000000000000000000000\"]",
        )
        .replace("# password_hash = \"<the line printed by idverifd hash-password>\"", &format!("password_hash = \"{}\"", hash_password("x")));
    parse(&with_token, "idverifd.toml").expect("production config");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = DEMO_CONFIG
        .replace("listen = \"127.0.0.1:8443\"", "listen = \"localhost\"\ncolour = \"blue\"")
        .replace("countdown_seconds = 3", "countdown_seconds = 0");
    let Err(ConfigError::Invalid(problems)) = parse(&text, "x.toml") else { panic!("must fail") };
    let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
    assert!(fields.contains(&"api.listen"), "{problems:?}");
    assert!(fields.contains(&"api.colour"), "{problems:?}");
    assert!(fields.contains(&"session.countdown_seconds"), "{problems:?}");
    assert!(problems.iter().all(|p| p.file == "x.toml"));
}

#[test]
fn match_threshold_defaults_and_must_lie_between_0_and_2() {
    let demo = parse(DEMO_CONFIG, DEMO_CONFIG_NAME).unwrap();
    assert_eq!(demo.face.match_threshold, crate::vision::embedding::DEFAULT_MATCH_THRESHOLD);
    let unset = parse(&DEMO_CONFIG.replace("match_threshold = 1.0\n", ""), "x.toml").unwrap();
    assert_eq!(unset.face.match_threshold, crate::vision::embedding::DEFAULT_MATCH_THRESHOLD);
    for bad in ["0.0", "2.0", "-1.0", "nan"] {
        let text = DEMO_CONFIG.replace("match_threshold = 1.0", &format!("match_threshold = {bad}"));
        let Err(ConfigError::Invalid(problems)) = parse(&text, "x.toml") else { panic!("{bad} must fail") };
        assert_eq!(problems[0].field, "face.match_threshold", "{problems:?}");
    }
}

#[test]
fn replay_sources_need_explicit_permission() {
    let text = DEMO_CONFIG.replace("allow_replay = true", "allow_replay = false");
    let Err(ConfigError::Invalid(problems)) = parse(&text, "x.toml") else { panic!("must fail") };
    assert_eq!(problems[0].field, "camera.source");
}

#[test]
fn a_fixed_date_is_only_for_replayed_test_sources() {
    let pinned = DEMO_CONFIG.replace("[session]", "[session]\nfixed_date = \"2026-11-21\"");
    let config = parse(&pinned, "x.toml").expect("a replayed source may pin the day");
    assert_eq!(config.session.calendar().today().to_string(), "2026-11-21");
    let live = pinned.replace("allow_replay = true", "allow_replay = false");
    let Err(ConfigError::Invalid(problems)) = parse(&live, "x.toml") else { panic!("must fail") };
    assert!(problems.iter().any(|p| p.field == "session.fixed_date"), "{problems:?}");
    let bad = DEMO_CONFIG.replace("[session]", "[session]\nfixed_date = \"2026-02-30\"");
    assert!(parse(&bad, "x.toml").is_err(), "not a real day");
}

#[test]
fn the_ncie_example_is_a_valid_centre_wording() {
    let example = include_str!("../../config/centre-ncie.toml");
    let config = parse(&format!("{DEMO_CONFIG}\n{example}"), "x.toml").expect("the example parses and validates");
    let title = config.kiosk.centre.idle_title.expect("the example sets the idle title");
    assert!(title.ru.contains("независимой экзаменации"), "{}", title.ru);
    let empty = example.replacen("en = \"", "en = \" \" # ", 1);
    assert!(parse(&format!("{DEMO_CONFIG}\n{empty}"), "x.toml").is_err(), "an empty text is refused");
}

#[test]
fn the_test_camera_needs_the_test_suites_environment_and_allow_replay() {
    let text = DEMO_CONFIG.replace("source = \"file:", "source = \"test:videotestsrc\"\n# was \"file:");
    let config = parse_unchecked(&text);
    assert_eq!(config.camera.source, SourceSpec::Test("videotestsrc".into()));
    let fields = |problems: Vec<(&'static str, String)>| problems.into_iter().map(|(f, _)| f).collect::<Vec<_>>();
    assert_eq!(fields(config.problems(false)), ["camera.source"], "a config alone never enables it");
    assert!(config.problems(true).is_empty());
    let not_replay = Config { camera: CameraConfig { allow_replay: false, ..config.camera.clone() }, ..config };
    assert!(fields(not_replay.problems(true)).contains(&"camera.source"), "it injects video: allow_replay too");
}

#[test]
fn lockstep_frames_are_only_for_the_test_suites_replays() {
    let text = DEMO_CONFIG.replace("allow_replay = true", "allow_replay = true\nlockstep = true");
    let config = parse_unchecked(&text);
    assert!(config.camera.lockstep);
    let fields = |problems: Vec<(&'static str, String)>| problems.into_iter().map(|(f, _)| f).collect::<Vec<_>>();
    assert_eq!(fields(config.problems(false)), ["camera.lockstep"], "a config alone never enables it");
    assert!(config.problems(true).is_empty(), "{:?}", config.problems(true));
    let camera = CameraConfig { source: "v4l2:/dev/video0".parse().unwrap(), ..config.camera.clone() };
    assert_eq!(fields(Config { camera, ..config }.problems(true)), ["camera.lockstep"], "never a real camera");
}

/// The config as typed, before the semantic checks.
fn parse_unchecked(text: &str) -> Config {
    toml::from_str(text).expect("well-typed")
}

#[test]
fn a_fixed_draw_seed_is_only_for_replayed_test_sources() {
    let seeded = DEMO_CONFIG.replace("[session]", "[session]\ndraw_seed = 7");
    assert_eq!(parse(&seeded, "x.toml").unwrap().session.draw_seed, Some(7));
    let live = seeded.replace("allow_replay = true", "allow_replay = false");
    let Err(ConfigError::Invalid(problems)) = parse(&live, "x.toml") else { panic!("must fail") };
    assert!(problems.iter().any(|p| p.field == "session.draw_seed"), "{problems:?}");
}

#[test]
fn a_source_with_an_unknown_scheme_is_refused_as_the_config_is_read() {
    let text = DEMO_CONFIG.replacen("source = \"file:", "source = \"rtsp:", 1);
    let Err(ConfigError::Invalid(problems)) = parse(&text, "x.toml") else { panic!("must fail") };
    assert!(problems.iter().any(|p| p.field.starts_with("camera") && p.why.contains("unknown scheme \"rtsp\"")), "{problems:?}");
}
