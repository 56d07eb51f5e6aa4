//! Arbitrary bytes, read as lossy UTF-8, must never make the MRZ or IIN
//! parsers or the name comparison panic, and what they accept must keep their
//! invariants.

#![no_main]

// The daemon's own identity module, compiled here from its source files.
#[path = "../../src/identity/mod.rs"]
#[allow(dead_code, unused_imports)]
mod identity;

use identity::date::Date;
use identity::iin::Iin;
use identity::mrz::Mrz;
use identity::translit::{self, NameMatch};
use libfuzzer_sys::fuzz_target;

// A fixed reference date instead of `Mrz::parse`'s "today" keeps every run
// reproducible from its input alone.
const REFERENCE: Date = Date::new(2026, 1, 1).expect("a real day");

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    let as_one_string = Mrz::parse_on(&[text.as_ref()], REFERENCE);
    let as_lines = Mrz::parse_on(&text.split('\n').collect::<Vec<_>>(), REFERENCE);
    assert_eq!(as_one_string, as_lines, "splitting lines first changes nothing");
    match as_one_string {
        Ok(mrz) => {
            assert_eq!(mrz.lines.len(), mrz.format.line_count());
            assert!(mrz.lines.iter().all(|line| line.len() == mrz.format.line_length()));
            assert!(mrz.corrections.is_empty() || mrz.checks.composite);
            if let Some(candidate) = mrz.iin_candidate() {
                let _ = Iin::parse(candidate);
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }

    match Iin::parse(&text) {
        Ok(iin) => {
            assert_eq!(iin.as_str(), text.trim());
            let _ = (iin.birth_date(), iin.sex());
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }

    // Any text against any MRZ name: a verdict, never a panic.
    let (left, right) = text.split_at(text.char_indices().nth(text.chars().count() / 2).map_or(text.len(), |(i, _)| i));
    let _ = translit::compare(left, right, true);
    let _ = translit::compare(left, right, false);
    // A name of letters the table knows agrees with its own transliteration.
    let name: String = text
        .chars()
        .filter(|&c| c == ' ' || translit::latin(c).is_some() || c.is_ascii_uppercase())
        .collect();
    assert_eq!(translit::compare(&name, &translit::transliterate(&name), false), NameMatch::Agree, "{name:?}");
});
