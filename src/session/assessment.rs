//! The document judged: a read (both sides assembled), the request's expected IIN and
//! the live face's distance from the document's portrait, in; the verdict the session
//! machine decides on, with its checks, out. Pure: the engine reads, embeds and
//! measures; nothing here touches a frame or the store.

use crate::identity::DocumentRead;
use crate::identity::document::Problem;
use crate::record::Check;

use super::machine::DocumentVerdict;

/// Problem codes that make a document untrustworthy (as opposed to merely unread).
pub const INCONSISTENT: [&str; 7] = [
    "iin_check_digit",
    "iin_invalid",
    "iin_mismatch",
    "mrz_check_digit",
    "birth_date_mismatch",
    "iin_birth_date_mismatch",
    "iin_sex_mismatch",
];

/// Whether any of these problems makes the document untrustworthy.
pub fn inconsistent(problems: &[Problem]) -> bool {
    problems.iter().any(|p| INCONSISTENT.contains(&p.code))
}

/// The verdict on a document as read. `face_distance`: the live face against the
/// document's portrait (`None`: either was missing); `match_threshold`: the largest
/// distance that is the same person.
pub fn assess(read: &DocumentRead, expected_iin: Option<&str>, face_distance: Option<f32>, match_threshold: f32) -> DocumentVerdict {
    let expected_iin_mismatch = matches!((expected_iin, read.iin.as_deref()), (Some(e), Some(r)) if e != r);
    let inconsistent = inconsistent(&read.problems);
    let check = |name: &str, passed: bool| Check { name: name.into(), passed, score: None, threshold: None };
    let mut checks = vec![
        check("document_mrz_check_digits", read.mrz.valid),
        check("document_iin_check_digit", read.iin_valid),
        check("document_consistent", !inconsistent),
        check("document_not_expired", read.expired == Some(false)),
    ];
    if expected_iin.is_some() {
        checks.push(check("document_iin_matches_request", !expected_iin_mismatch && read.iin.is_some()));
    }
    checks.push(Check {
        name: "face_matches_document".into(),
        passed: face_distance.is_some_and(|d| d <= match_threshold),
        score: face_distance.map(|d| (f64::from(d) * 1000.0).round() / 1000.0),
        threshold: Some(f64::from(match_threshold)),
    });
    DocumentVerdict {
        iin_readable: read.iin.is_some() && read.iin_valid,
        expected_iin_mismatch,
        expired: read.expired == Some(true),
        inconsistent,
        minor: read.minor == Some(true),
        face_mismatch: face_distance.is_some_and(|d| d > match_threshold),
        portrait_not_compared: face_distance.is_none(),
        checks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::document::assemble;

    const IIN: &str = "900101300017";
    const THRESHOLD: f32 = 1.0;

    /// A read that holds together: IIN read and valid, not expired, an adult.
    fn good() -> DocumentRead {
        let mut read = assemble(None, None, "2026-12-02".parse().unwrap());
        read.iin = Some(IIN.into());
        read.iin_valid = true;
        read.expired = Some(false);
        read.minor = Some(false);
        read.mrz.valid = true;
        read.problems.clear();
        read
    }

    fn with(change: impl Fn(&mut DocumentRead)) -> DocumentRead {
        let mut read = good();
        change(&mut read);
        read
    }

    fn problem(code: &'static str) -> Problem {
        Problem { code, message: String::new() }
    }

    /// The verdict's flags in the order: iin_readable, expected_iin_mismatch, expired,
    /// inconsistent, minor, face_mismatch, portrait_not_compared.
    fn flags(v: &DocumentVerdict) -> [bool; 7] {
        [v.iin_readable, v.expected_iin_mismatch, v.expired, v.inconsistent, v.minor, v.face_mismatch, v.portrait_not_compared]
    }

    #[test]
    fn a_read_is_judged_as_the_table_says() {
        const F: bool = false;
        const T: bool = true;
        #[rustfmt::skip]
        let table: Vec<(&str, DocumentRead, Option<&str>, Option<f32>, [bool; 7])> = vec![
            ("all well", good(), Some(IIN), Some(0.4), [T, F, F, F, F, F, F]),
            ("no IIN expected", good(), None, Some(0.4), [T, F, F, F, F, F, F]),
            ("another IIN expected", good(), Some("000000000000"), Some(0.4), [T, T, F, F, F, F, F]),
            ("no IIN read: typed in later, never a mismatch", with(|r| r.iin = None), Some(IIN), Some(0.4), [F, F, F, F, F, F, F]),
            ("IIN read with a bad check digit", with(|r| { r.iin_valid = false; r.problems.push(problem("iin_check_digit")) }), None, Some(0.4), [F, F, F, T, F, F, F]),
            ("expired", with(|r| r.expired = Some(true)), None, Some(0.4), [T, F, T, F, F, F, F]),
            ("a minor", with(|r| r.minor = Some(true)), None, Some(0.4), [T, F, F, F, T, F, F]),
            ("sides disagree", with(|r| r.problems.push(problem("birth_date_mismatch"))), None, Some(0.4), [T, F, F, T, F, F, F]),
            ("a problem that is no contradiction", with(|r| r.problems.push(problem("field_unreadable"))), None, Some(0.4), [T, F, F, F, F, F, F]),
            ("another face", good(), None, Some(1.2), [T, F, F, F, F, T, F]),
            ("at the threshold: the same face", good(), None, Some(THRESHOLD), [T, F, F, F, F, F, F]),
            ("no portrait or no live face", good(), None, None, [T, F, F, F, F, F, T]),
        ];
        for (name, read, expected, distance, want) in table {
            assert_eq!(flags(&assess(&read, expected, distance, THRESHOLD)), want, "{name}");
        }
    }

    #[test]
    fn the_checks_say_what_was_compared() {
        let names = |v: DocumentVerdict| v.checks.into_iter().map(|c| (c.name, c.passed)).collect::<Vec<_>>();
        assert_eq!(
            names(assess(&with(|r| r.expired = Some(true)), Some(IIN), Some(0.4), THRESHOLD)),
            [
                ("document_mrz_check_digits".to_string(), true),
                ("document_iin_check_digit".into(), true),
                ("document_consistent".into(), true),
                ("document_not_expired".into(), false),
                ("document_iin_matches_request".into(), true),
                ("face_matches_document".into(), true),
            ]
        );
        let unread = assess(&with(|r| r.iin = None), Some(IIN), None, THRESHOLD);
        let request = unread.checks.iter().find(|c| c.name == "document_iin_matches_request").unwrap();
        assert!(!request.passed, "no IIN read does not match the request");
        let face = unread.checks.last().unwrap();
        assert_eq!((face.passed, face.score), (false, None));
    }
}
