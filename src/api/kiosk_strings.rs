//! Every word the kiosk shows, per language: `kiosk/strings.json`, with the exam
//! centre's own wording (`kiosk.centre` in the config) laid over it, written into
//! the kiosk script once at start. The test below walks every prompt and
//! decision the daemon can send, so the page and the daemon cannot drift apart.

use serde_json::{Map, Value};

use crate::config::CentreWording;

const STRINGS_JSON: &str = include_str!("kiosk/strings.json");
const PLACEHOLDER: &str = "/*KIOSK_STRINGS*/{}";

/// The languages the kiosk offers, in its order.
pub const LANGUAGES: [&str; 3] = ["kk", "ru", "en"];

/// The text table: language → key → text, the centre's wording applied.
pub fn table(centre: &CentreWording) -> Map<String, Value> {
    let Ok(Value::Object(mut table)) = serde_json::from_str::<Value>(STRINGS_JSON) else {
        unreachable!("kiosk/strings.json is checked by the tests below")
    };
    for (key, texts) in centre.entries() {
        for (lang, text) in [("kk", &texts.kk), ("ru", &texts.ru), ("en", &texts.en)] {
            if let Some(Value::Object(strings)) = table.get_mut(lang) {
                strings.insert(key.to_string(), Value::String(text.clone()));
            }
        }
    }
    table
}

/// The kiosk script with its text table filled in.
pub fn script(template: &str, centre: &CentreWording) -> String {
    let table = Value::Object(table(centre)).to_string();
    // `</` inside a string could end an inline script; the file is served as its
    // own script, but keep the table inert wherever it lands.
    template.replacen(PLACEHOLDER, &table.replace("</", "<\\/"), 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Localised;
    use crate::session::{Decision, Prompt, Reason};

    fn code<T: serde::Serialize>(v: T) -> String {
        serde_json::to_value(v).unwrap().as_str().unwrap().to_string()
    }

    #[test]
    fn every_prompt_and_decision_has_a_text_in_every_language() {
        let table = table(&CentreWording::default());
        let mut missing = Vec::new();
        let keys = Prompt::ALL
            .iter()
            .map(|p| format!("p_{}", code(p)))
            .chain(Decision::ALL.iter().map(|d| format!("d_{}", d.as_str())));
        for key in keys {
            for lang in LANGUAGES {
                let text = table.get(lang).and_then(|t| t.get(&key)).and_then(Value::as_str).unwrap_or("");
                if text.trim().is_empty() {
                    missing.push(format!("{lang}.{key}"));
                }
            }
        }
        assert!(missing.is_empty(), "the kiosk has no text for: {missing:?}");
    }

    /// A rejection tells the subject what to do next for every reason the daemon can
    /// give, and each next step has its text.
    #[test]
    fn every_reason_has_a_next_step_with_a_text_in_every_language() {
        let script = include_str!("kiosk/kiosk.js");
        let start = script.find("const NEXT_STEPS = {").expect("NEXT_STEPS in kiosk.js");
        let map = &script[start..start + script[start..].find("};").unwrap()];
        let table = table(&CentreWording::default());
        for reason in Reason::ALL {
            let code = code(reason);
            let entry = map.find(&format!("{code}: '")).unwrap_or_else(|| panic!("kiosk.js NEXT_STEPS has no {code}"));
            let key = map[entry + code.len() + 3..].split('\'').next().unwrap();
            for lang in LANGUAGES {
                let text = table[lang].get(key).and_then(Value::as_str).unwrap_or("");
                assert!(!text.trim().is_empty(), "{lang}.{key} (next step for {code}) has no text");
            }
        }
    }

    /// The page listens for every event that changes what it shows; the two it causes
    /// itself (consent, the guardian's declaration) come back only for the record.
    #[test]
    fn the_kiosk_listens_for_every_event_it_must_show() {
        use crate::session::{EventKind, Stage, Status};
        let script = include_str!("kiosk/kiosk.js");
        let start = script.find("const EVENT_NAMES = [").expect("EVENT_NAMES in kiosk.js");
        let listened = &script[start..start + script[start..].find("];").unwrap()];
        // No wildcard: a new event must be placed on one side or the other.
        let shown = |kind: &EventKind| match kind {
            EventKind::Status { .. }
            | EventKind::Stage { .. }
            | EventKind::Prompt { .. }
            | EventKind::Camera { .. }
            | EventKind::Flash { .. }
            | EventKind::Decision { .. } => true,
            EventKind::Consent { .. } | EventKind::GuardianDeclaration => false,
        };
        let every = [
            EventKind::Status { status: Status::WaitingForSubject },
            EventKind::Stage { stage: Stage::FaceCapture },
            EventKind::Prompt { prompt: Prompt::ShowFace, value: None },
            EventKind::Camera { available: true },
            EventKind::Consent { language: crate::session::Language::En },
            EventKind::GuardianDeclaration,
            EventKind::Flash { color: None },
            EventKind::Decision { decision: Decision::Verified, reasons: Vec::new() },
        ];
        for kind in every.iter().filter(|k| shown(k)) {
            assert!(listened.contains(&format!("'{}'", kind.name())), "kiosk.js does not listen for {:?} events", kind.name());
        }
    }

    #[test]
    fn every_language_has_the_same_keys() {
        let table = table(&CentreWording::default());
        let keys = |lang: &str| table[lang].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        for lang in LANGUAGES {
            assert_eq!(keys(lang), keys("kk"), "{lang} differs from kk");
        }
    }

    #[test]
    fn the_centre_wording_replaces_the_default_in_each_language() {
        let centre = CentreWording {
            idle_title: Some(Localised { kk: "ҰТО".into(), ru: "НЦНЭ".into(), en: "NCIE".into() }),
            ..CentreWording::default()
        };
        let table = table(&centre);
        assert_eq!(table["ru"]["idle_title"], "НЦНЭ");
        assert_eq!(table["en"]["idle_title"], "NCIE");
        assert_eq!(table["kk"]["idle_text"], super::table(&CentreWording::default())["kk"]["idle_text"]);
        let js = script("const T = /*KIOSK_STRINGS*/{};", &centre);
        assert!(js.starts_with("const T = {") && js.contains("НЦНЭ"), "{js}");
    }
}
