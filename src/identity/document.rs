//! One identity document from what was read off its sides: the front's printed
//! fields (Cyrillic names, IIN, birth date) and the MRZ. Decides which source each
//! field comes from and lists every inconsistency as a problem. Problem messages
//! name fields, never their values: they end up in logs and operator screens.

use serde::Serialize;

use super::{Date, Iin, IinError, Mrz, MrzFormat, Sex, age_on};
use super::spelling::could_be_spelled;

/// What OCR found on a card's front (or a passport page's printed zone).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontFields {
    pub surname: Option<String>,
    pub given_names: Option<String>,
    pub patronymic: Option<String>,
    pub birth_date: Option<Date>,
    /// The IIN digits as printed (not yet validated).
    pub iin: Option<String>,
    /// Which values were read confidently (two independent reads agreed): only
    /// these may accuse the document of disagreeing with itself.
    pub confirmed: Confirmed,
}

/// Per printed field: read confidently or not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confirmed {
    pub surname: bool,
    pub given_names: bool,
    pub patronymic: bool,
    pub birth_date: bool,
    pub iin: bool,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    KzIdCard,
    Passport,
    Unknown,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldSource {
    Mrz,
    Front,
    Both,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MrzChecksView {
    pub document_number: bool,
    pub birth_date: bool,
    pub expiry_date: bool,
    pub composite: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MrzView {
    pub format: Option<MrzFormat>,
    pub lines: Vec<String>,
    pub valid: bool,
    pub checks: Option<MrzChecksView>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Sources {
    pub iin: Option<FieldSource>,
}

/// The contract's `document read` result.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DocumentRead {
    pub document_type: DocumentType,
    pub issuing_country: Option<String>,
    pub iin: Option<String>,
    pub iin_valid: bool,
    pub surname: Option<String>,
    pub given_names: Option<String>,
    pub patronymic: Option<String>,
    pub birth_date: Option<Date>,
    pub sex: Option<Sex>,
    pub document_number: Option<String>,
    pub expiry_date: Option<Date>,
    pub nationality: Option<String>,
    pub minor: Option<bool>,
    pub expired: Option<bool>,
    pub mrz: MrzView,
    pub sources: Sources,
    pub problems: Vec<Problem>,
    /// Where the document's own sources disagree on a value after re-reading:
    /// both values, never silently resolved. (Values live here, never in
    /// problem messages, which reach logs.)
    pub disagreements: Vec<Disagreement>,
}

/// One field read differently from the printed zone and from the MRZ.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Disagreement {
    pub field: &'static str,
    /// As printed (Cyrillic names, the printed digits).
    pub front: String,
    /// As in the MRZ (Latin names).
    pub mrz: String,
}

impl DocumentRead {
    /// True when nothing contradicts anything and every checked field holds.
    pub fn consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Whether a name printed in Cyrillic and the MRZ's Latin form of it are the
/// same name ([`super::translit::compare`], known variant spellings accepted).
/// A read no name could be spelled as (ЧЕРНЫЬШЕВ) agrees with nothing: the MRZ
/// drops soft signs, so it cannot tell.
pub fn printed_name_agrees(printed: &str, mrz: &Mrz, latin: &str) -> bool {
    could_be_spelled(printed) && super::translit::compare(printed, latin, mrz_names_may_be_truncated(mrz)).agrees()
}

/// Letters a document's fonts draw so alike that OCR takes one for the other,
/// and whose ICAO spellings differ (Ш SH, Щ SHCH): a printed name one such swap
/// away from the MRZ's, or missing a letter or two at either end (a crop that
/// lost them), is a misread until read otherwise, never another name.
const LOOKALIKES: [(char, char); 6] = [('Ш', 'Щ'), ('Ц', 'Щ'), ('И', 'Й'), ('Е', 'Ё'), ('Ь', 'Ъ'), ('Ь', 'Ы')];

/// Whether a printed name that disagrees with the MRZ may still be a misread of
/// the same name ([`LOOKALIKES`]): then it may not accuse the document.
pub fn printed_name_nearly_agrees(printed: &str, mrz: &Mrz, latin: &str) -> bool {
    let letters: Vec<char> = printed.chars().collect();
    let swapped = (0..letters.len()).any(|i| {
        LOOKALIKES.iter().filter_map(|&(a, b)| (letters[i] == a).then_some(b).or((letters[i] == b).then_some(a))).any(|other| {
            let mut name = letters.clone();
            name[i] = other;
            printed_name_agrees(&name.iter().collect::<String>(), mrz, latin)
        })
    });
    let latin = latin.trim_end_matches(['<', ' ']);
    let ascii = latin.is_ascii();
    let cut = ascii
        && (1..=4.min(latin.len().saturating_sub(2))).any(|k| {
            super::translit::compare(printed, &latin[k..], false).agrees() || super::translit::compare(printed, &latin[..latin.len() - k], false).agrees()
        });
    swapped || cut
}

/// Letters drawn alike but for a tail below the baseline (Щ is Ш with one, Ц is
/// П with one), whose ICAO spellings differ: the MRZ says which was printed,
/// and only the image can say whether the read lost the tail.
const TAILED: [(char, char); 2] = [('Ш', 'Щ'), ('П', 'Ц')];

/// The one letter of a printed name that, given the tail the read may have lost
/// ([`TAILED`]), makes the name agree with the MRZ: its index and the name so
/// spelled. `None` when the name agrees already, or no such letter or more than
/// one would do.
pub fn missing_tail(printed: &str, mrz: &Mrz, latin: &str) -> Option<(usize, String)> {
    if printed_name_agrees(printed, mrz, latin) {
        return None;
    }
    let letters: Vec<char> = printed.chars().collect();
    let mut fixes = (0..letters.len()).filter_map(|i| {
        let &(_, tailed) = TAILED.iter().find(|(plain, _)| *plain == letters[i])?;
        let mut name = letters.clone();
        name[i] = tailed;
        let name: String = name.into_iter().collect();
        printed_name_agrees(&name, mrz, latin).then_some((i, name))
    });
    let fix = fixes.next()?;
    fixes.next().is_none().then_some(fix)
}

/// The MRZ's name field is full, so its names may be cut off.
fn mrz_names_may_be_truncated(m: &Mrz) -> bool {
    let names_line = if m.format == MrzFormat::Td1 { m.lines.last() } else { m.lines.first() };
    names_line.is_some_and(|l| !l.ends_with('<'))
}

fn problem(code: &'static str, message: impl Into<String>) -> Problem {
    Problem { code, message: message.into() }
}

fn iin_problem(source: &str, e: &IinError) -> Problem {
    let code = match e {
        IinError::CheckDigit { .. } => "iin_check_digit",
        _ => "iin_invalid",
    };
    problem(code, format!("the IIN on the {source}: {e}"))
}

/// Combines the sides read. `on` is the day against which age and expiry are judged.
pub fn assemble(front: Option<&FrontFields>, mrz: Option<&Mrz>, on: Date) -> DocumentRead {
    let mut problems = Vec::new();
    let mut disagreements = Vec::new();
    let document_type = match mrz {
        Some(m) if m.format == MrzFormat::Td3 && m.document_code.starts_with('P') => DocumentType::Passport,
        Some(m) if m.format == MrzFormat::Td1 && m.issuing_state == "KAZ" => DocumentType::KzIdCard,
        Some(_) => DocumentType::Unknown,
        None if front.is_some() => DocumentType::KzIdCard,
        None => DocumentType::Unknown,
    };
    // Where the printed fields are, in what the operator is told.
    let printed_on = if document_type == DocumentType::Passport { "on the data page" } else { "on the front" };

    // The MRZ's own checks. Failing ones accuse the document only when the reader
    // vouched for every character; otherwise the zone was misread, and only what
    // its passing check digits cover is kept ([`Mrz::vouched`]).
    if mrz.is_some_and(Mrz::misread) {
        problems.push(problem("unreadable_field", "the MRZ could not be read with certainty: its check digits fail"));
    } else if let Some(m) = mrz {
        for (ok, field) in [
            (m.checks.document_number, "document number"),
            (m.checks.birth_date, "birth date"),
            (m.checks.expiry_date, "expiry date"),
            (m.checks.composite, "composite"),
        ] {
            if !ok {
                problems.push(problem("mrz_check_digit", format!("the MRZ check digit of the {field} does not match")));
            }
        }
        if m.checks.personal_number == Some(false) {
            problems.push(problem("mrz_check_digit", "the MRZ check digit of the personal number does not match"));
        }
    }
    let vouched = mrz.map(Mrz::vouched);
    let mrz = vouched.as_ref();
    let mrz_trusted = mrz.filter(|m| m.valid());

    // The IIN: from the MRZ's optional data or personal number, and from the front.
    // A front value read only once, or two reads that differ, is a misread until
    // shown otherwise: it may not accuse the document, and the MRZ's value stands.
    let mut mrz_iin = mrz.and_then(|m| m.iin_candidate().map(str::to_string));
    // An MRZ whose own check digits over the IIN fail was misread there (they are
    // reported above): an IIN check digit that fails too cannot tell a misread
    // from a forgery, and the value is not kept.
    let mrz_iin_checked = mrz.is_some_and(|m| m.checks.composite && m.checks.personal_number != Some(false));
    if !mrz_iin_checked && mrz_iin.as_deref().is_some_and(|i| matches!(Iin::parse(i), Err(IinError::CheckDigit { .. }))) {
        problems.push(problem("unreadable_field", "the IIN in the MRZ could not be read with certainty"));
        mrz_iin = None;
    }
    let mut front_iin = front.and_then(|f| f.iin.clone());
    // A card front read without its IIN: the MRZ's stands, but the two were not
    // compared, and the server is told so (a tampered printed IIN goes unseen).
    if document_type == DocumentType::KzIdCard && mrz_iin.is_some() && front.is_some_and(|f| f.iin.is_none()) {
        problems.push(problem("unreadable_field", format!("the IIN printed {printed_on} could not be read; it was not compared with the MRZ")));
    }
    let front_sure = front.is_some_and(|f| f.confirmed.iin);
    // With no MRZ to confirm it, an unsure read is not kept either.
    let front_fits = |i: &str| Iin::parse(i).is_ok() && mrz_iin.as_deref() == Some(i);
    // With no MRZ to compare with, a check digit that fails cannot tell a misread
    // from a forgery either: the printed IIN is then unreadable, not accused.
    let unsure = !front_sure || mrz_iin.is_none() && front_iin.as_deref().is_some_and(|i| Iin::parse(i).is_err());
    if unsure && front_iin.as_deref().is_some_and(|i| !front_fits(i)) {
        problems.push(problem("unreadable_field", format!("the IIN printed {printed_on} could not be read with certainty")));
        front_iin = None;
    }
    let (iin, source) = match (&mrz_iin, &front_iin) {
        (Some(a), Some(b)) if a == b => (Some(a.clone()), Some(FieldSource::Both)),
        (Some(a), Some(b)) => {
            problems.push(problem("iin_mismatch", format!("the IIN printed {printed_on} differs from the IIN in the MRZ")));
            disagreements.push(Disagreement { field: "iin", front: b.clone(), mrz: a.clone() });
            // The MRZ value is covered by the composite check digit; prefer it when that holds.
            if mrz_trusted.is_some() {
                (Some(a.clone()), Some(FieldSource::Mrz))
            } else {
                (front_iin.clone(), Some(FieldSource::Front))
            }
        }
        (Some(a), None) => (Some(a.clone()), Some(FieldSource::Mrz)),
        (None, Some(b)) => (Some(b.clone()), Some(FieldSource::Front)),
        (None, None) => {
            problems.push(problem("unreadable_field", "the IIN could not be read"));
            (None, None)
        }
    };
    // Every IIN that was read must be valid, not just the one kept.
    for (value, side) in [(&front_iin, "front"), (&mrz_iin, "MRZ")] {
        if let Some(Err(e)) = value.as_deref().map(Iin::parse) {
            problems.push(iin_problem(side, &e));
        }
    }
    let parsed_iin = iin.as_deref().and_then(|s| Iin::parse(s).ok());

    // Birth date and sex: MRZ (checked) first, else the front. A front date that
    // differs from the MRZ accuses the document only when read confidently.
    let mut front_birth = front.and_then(|f| f.birth_date);
    if let (Some(m), Some(f)) = (mrz.and_then(|m| m.birth_date), front_birth)
        && m != f
    {
        if front.is_some_and(|f| f.confirmed.birth_date) {
            problems.push(problem("birth_date_mismatch", format!("the birth date {printed_on} differs from the MRZ")));
            disagreements.push(Disagreement { field: "birth_date", front: f.to_string(), mrz: m.to_string() });
        } else {
            problems.push(problem("unreadable_field", format!("the birth date printed {printed_on} could not be read with certainty")));
            front_birth = None;
        }
    }
    let birth_date = mrz_trusted.and_then(|m| m.birth_date).or(front_birth).or(mrz.and_then(|m| m.birth_date));
    let sex = mrz.and_then(|m| m.sex).or(parsed_iin.as_ref().map(Iin::sex));
    if let Some(i) = &parsed_iin {
        if let Some(b) = birth_date
            && b != i.birth_date()
        {
            problems.push(problem("iin_birth_date_mismatch", "the birth date encoded in the IIN differs from the document's"));
        }
        if let Some(s) = mrz.and_then(|m| m.sex)
            && s != i.sex()
        {
            problems.push(problem("iin_sex_mismatch", "the sex encoded in the IIN differs from the MRZ"));
        }
    }

    // Names: as printed on the front in Cyrillic, else the MRZ's Latin form. The
    // two are the same name written twice: one that disagrees after re-reading is
    // reported with both values; if its reads did not even agree with each other
    // it is a misread, and the MRZ's form stands.
    let mut names = [
        (
            front.and_then(|f| f.surname.clone()),
            front.is_some_and(|f| f.confirmed.surname),
            mrz.map(|m| &m.primary_identifier),
            "surname",
        ),
        (
            front.and_then(|f| f.given_names.clone()),
            front.is_some_and(|f| f.confirmed.given_names),
            mrz.map(|m| &m.secondary_identifiers),
            "given_names",
        ),
    ];
    for (printed, sure, latin, field) in &mut names {
        let (Some(m), Some(latin)) = (mrz, latin.filter(|l| !l.is_empty())) else { continue };
        let Some(name) = printed.as_deref().filter(|p| !printed_name_agrees(p, m, latin)) else { continue };
        disagreements.push(Disagreement { field, front: name.to_string(), mrz: latin.clone() });
        let what = field.replace('_', " ");
        if *sure {
            problems.push(problem("name_mismatch", format!("the {what} printed {printed_on} differs from the MRZ")));
        } else {
            problems.push(problem("unreadable_field", format!("the {what} printed {printed_on} could not be read with certainty")));
            *printed = None;
        }
    }
    let [(surname, ..), (given_names, ..)] = names;
    let surname = surname.or(mrz.map(|m| m.primary_identifier.clone()).filter(|s| !s.is_empty()));
    let given_names = given_names.or(mrz.map(|m| m.secondary_identifiers.clone()).filter(|s| !s.is_empty()));
    // No MRZ carries a patronymic: one not read surely is not reported, and the
    // operator is told it could not be read rather than shown a likely misread.
    let patronymic = front.and_then(|f| f.patronymic.clone().filter(|_| f.confirmed.patronymic));
    if front.is_some_and(|f| f.patronymic.is_some() && !f.confirmed.patronymic) {
        problems.push(problem("unreadable_field", format!("the patronymic printed {printed_on} could not be read with certainty")));
    }
    for (missing, field) in
        [(surname.is_none(), "surname"), (given_names.is_none(), "given names"), (birth_date.is_none(), "birth date")]
    {
        if missing {
            problems.push(problem("unreadable_field", format!("the {field} could not be read")));
        }
    }

    let expiry_date = mrz.and_then(|m| m.expiry_date);
    let expired = expiry_date.map(|e| e < on);
    if expired == Some(true) {
        problems.push(problem("expired", "the document has expired"));
    }
    if mrz.is_some() && expiry_date.is_none() {
        problems.push(problem("unreadable_field", "the expiry date could not be read"));
    }
    let minor = birth_date.map(|b| age_on(b, on) < 18);

    DocumentRead {
        document_type,
        issuing_country: mrz.map(|m| m.issuing_state.clone()).or(front.map(|_| "KAZ".to_string())),
        iin_valid: parsed_iin.is_some(),
        iin,
        surname,
        given_names,
        patronymic,
        birth_date,
        sex,
        document_number: mrz.map(|m| m.document_number.clone()).filter(|n| !n.is_empty()),
        expiry_date,
        nationality: mrz.map(|m| m.nationality.clone()),
        minor,
        expired,
        mrz: MrzView {
            format: mrz.map(|m| m.format),
            lines: mrz.map(|m| m.lines.clone()).unwrap_or_default(),
            valid: mrz.is_some_and(Mrz::valid),
            checks: mrz.map(|m| MrzChecksView {
                document_number: m.checks.document_number,
                birth_date: m.checks.birth_date,
                expiry_date: m.checks.expiry_date,
                composite: m.checks.composite,
            }),
        },
        sources: Sources { iin: source },
        problems,
        disagreements,
    }
}

/// The document as if `iin` had been read from its front: the IIN a subject types
/// when none could be read goes through every check a read one does — check
/// digit, birth date (and so the century digit) and sex against the document.
pub fn with_typed_iin(front: Option<&FrontFields>, mrz: Option<&Mrz>, iin: &str, on: Date) -> DocumentRead {
    let mut typed = front.cloned().unwrap_or_default();
    typed.iin = Some(iin.to_string());
    // Typed and confirmed by the subject: no misread to forgive, every check applies,
    // its own check digit too (a printed one failing without an MRZ is forgiven).
    typed.confirmed.iin = true;
    let mut read = assemble(Some(&typed), mrz, on);
    if let Err(e) = Iin::parse(iin) {
        let problem = iin_problem("typed number", &e);
        if !read.problems.iter().any(|p| p.code == problem.code) {
            read.problems.push(problem);
        }
    }
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    // A fictitious Kazakh ID card, built so every check digit holds: IIN
    // 050624533556 (born 2005-06-24, male), document 072343742, expiry 2031-10-17.
    const TD1: [&str; 3] = ["IDKAZ0723437422050624533556<<<", "0506247M3110175KAZ<<<<<<<<<<<0", "KASYMOV<<MURAT<<<<<<<<<<<<<<<<"];
    fn on() -> Date {
        "2026-11-21".parse().unwrap()
    }
    fn mrz() -> Mrz {
        Mrz::parse_on(&TD1, on()).expect("valid TD1")
    }
    fn front() -> FrontFields {
        FrontFields {
            surname: Some("ҚАСЫМОВ".into()),
            given_names: Some("МҰРАТ".into()),
            patronymic: Some("БОЛАТОВИЧ".into()),
            birth_date: Some("2005-06-24".parse().unwrap()),
            iin: Some("050624533556".into()),
            confirmed: Confirmed { surname: true, given_names: true, patronymic: true, birth_date: true, iin: true },
        }
    }
    fn codes(d: &DocumentRead) -> Vec<&'static str> {
        d.problems.iter().map(|p| p.code).collect()
    }

    #[test]
    fn both_sides_agree_and_cyrillic_names_win() {
        let d = assemble(Some(&front()), Some(&mrz()), on());
        assert_eq!(codes(&d), Vec::<&str>::new());
        assert_eq!(d.document_type, DocumentType::KzIdCard);
        assert_eq!(d.surname.as_deref(), Some("ҚАСЫМОВ"));
        assert_eq!(d.sources.iin, Some(FieldSource::Both));
        assert!(d.iin_valid && d.mrz.valid);
        assert_eq!((d.minor, d.expired), (Some(false), Some(false)));
        assert_eq!(d.sex, Some(Sex::Male));
    }

    #[test]
    fn a_patronymic_not_read_surely_is_said_unreadable_not_reported() {
        let mut f = front();
        f.confirmed.patronymic = false;
        let d = assemble(Some(&f), Some(&mrz()), on());
        assert_eq!(d.patronymic, None);
        assert_eq!(codes(&d), vec!["unreadable_field"]);
        assert!(d.problems[0].message.contains("patronymic"), "{:?}", d.problems);
    }

    #[test]
    fn back_alone_gives_latin_names_from_the_mrz() {
        let d = assemble(None, Some(&mrz()), on());
        assert_eq!(d.surname.as_deref(), Some("KASYMOV"));
        assert_eq!(d.sources.iin, Some(FieldSource::Mrz));
        assert!(d.patronymic.is_none());
        assert!(d.problems.is_empty(), "{:?}", d.problems);
    }

    #[test]
    fn a_changed_iin_digit_on_the_front_is_flagged_twice() {
        let mut f = front();
        f.iin = Some("050624533557".into());
        let d = assemble(Some(&f), Some(&mrz()), on());
        assert_eq!(codes(&d), vec!["iin_mismatch", "iin_check_digit"]);
        // The MRZ's IIN, covered by the composite check, is the one kept.
        assert_eq!(d.iin.as_deref(), Some("050624533556"));
        assert!(d.problems.iter().all(|p| !p.message.contains("0506245335")), "no digits in messages");
    }

    #[test]
    fn expired_and_minor_are_judged_on_the_given_day() {
        let d = assemble(Some(&front()), Some(&mrz()), "2031-10-18".parse().unwrap());
        assert_eq!(d.expired, Some(true));
        assert!(codes(&d).contains(&"expired"));
        let d = assemble(Some(&front()), Some(&mrz()), "2023-06-23".parse().unwrap());
        assert_eq!(d.minor, Some(true));
    }

    #[test]
    fn front_birth_date_that_disagrees_with_the_iin_is_flagged() {
        let mut f = front();
        f.birth_date = Some("2005-06-25".parse().unwrap());
        let d = assemble(Some(&f), None, on());
        assert_eq!(codes(&d), vec!["iin_birth_date_mismatch"]);
        let d = assemble(None, None, on());
        assert_eq!(d.document_type, DocumentType::Unknown);
        assert!(codes(&d).contains(&"unreadable_field"));
    }

    /// A valid IIN (check digit and all) for an 11-digit body.
    fn iin_with_body(body: &str) -> String {
        let digits: [u8; 11] = body.bytes().map(|b| b - b'0').collect::<Vec<_>>().try_into().unwrap();
        let check = crate::identity::iin::compute_check_digit(&digits).expect("a body with a check digit");
        format!("{body}{check}")
    }

    #[test]
    fn a_typed_iin_must_agree_with_the_document_birth_date_century_and_sex() {
        let mut unread = front();
        unread.iin = None;
        // The IIN was not read from the MRZ either (a worn optional-data field).
        let mut unread_mrz = mrz();
        unread_mrz.optional_data_1 = None;
        let mrz = Some(unread_mrz);
        let typed = |iin: &str| codes(&with_typed_iin(Some(&unread), mrz.as_ref(), iin, on()));
        assert_eq!(typed("050624533556"), Vec::<&str>::new(), "the right number");
        let wrong_day = iin_with_body("05062553355");
        assert!(typed(&wrong_day).contains(&"iin_birth_date_mismatch"), "{:?}", typed(&wrong_day));
        // Century digit 3 = male born in the 1900s: same day and month, other century.
        let wrong_century = iin_with_body("05062433355");
        assert!(typed(&wrong_century).contains(&"iin_birth_date_mismatch"), "{:?}", typed(&wrong_century));
        let female = iin_with_body("05062463355");
        assert!(typed(&female).contains(&"iin_sex_mismatch"), "{:?}", typed(&female));
        assert!(typed("050624533557").contains(&"iin_check_digit"));
        // With the front alone the birth date still decides.
        assert!(codes(&with_typed_iin(Some(&unread), None, &wrong_day, on())).contains(&"iin_birth_date_mismatch"));
    }

    #[test]
    fn a_front_iin_read_unsurely_is_unreadable_not_a_forgery() {
        let mut f = front();
        f.iin = Some("050624533557".into());
        f.confirmed.iin = false;
        let d = assemble(Some(&f), Some(&mrz()), on());
        assert_eq!(codes(&d), vec!["unreadable_field"]);
        assert_eq!((d.iin.as_deref(), d.sources.iin), (Some("050624533556"), Some(FieldSource::Mrz)));
        assert!(d.disagreements.is_empty());
        // Read confidently, the same digits accuse the document, with both values kept.
        f.confirmed.iin = true;
        let d = assemble(Some(&f), Some(&mrz()), on());
        assert_eq!(codes(&d), vec!["iin_mismatch", "iin_check_digit"]);
        assert_eq!(d.disagreements, [Disagreement { field: "iin", front: "050624533557".into(), mrz: "050624533556".into() }]);
        // An unsure read that agrees with the MRZ is simply confirmed by it.
        let mut f = front();
        f.confirmed.iin = false;
        assert_eq!(codes(&assemble(Some(&f), Some(&mrz()), on())), Vec::<&str>::new());
    }

    #[test]
    fn an_mrz_misread_over_its_iin_is_unreadable_not_a_forgery() {
        // The IIN's first digit misread in the MRZ (6 for 0): the composite check
        // digit over it fails, so the failing IIN check digit is the misread's too.
        let mut lines = TD1.map(str::to_string);
        lines[0] = lines[0].replacen("050624533556", "650624533556", 1);
        let misread = Mrz::parse_on(&lines, on()).expect("parses");
        assert!(!misread.checks.composite);
        let mut f = front();
        f.confirmed.iin = false;
        let d = assemble(Some(&f), Some(&misread), on());
        assert!(codes(&d).contains(&"mrz_check_digit"));
        assert!(codes(&d).contains(&"unreadable_field"));
        assert!(!codes(&d).iter().any(|c| c.starts_with("iin_")), "{:?}", codes(&d));
        assert_eq!(d.iin, None, "never a wrong value");
        // The front read confidently stands in for it.
        let d = assemble(Some(&front()), Some(&misread), on());
        assert_eq!((d.iin.as_deref(), d.sources.iin), (Some("050624533556"), Some(FieldSource::Front)));
    }

    #[test]
    fn a_zone_its_reader_could_not_vouch_for_is_unreadable_where_its_check_digits_fail() {
        // The document number's last digit slipped (9 for 2) in a read by Tesseract
        // alone: its check digit and the composite fail.
        let mut lines = TD1.map(str::to_string);
        lines[0] = lines[0].replacen("IDKAZ072343742", "IDKAZ072343749", 1);
        let mut slipped = Mrz::parse_on(&lines, on()).expect("parses");
        assert!(!slipped.checks.document_number && !slipped.checks.composite);
        // Vouched for by two readers, the failing digits are the document's: accused.
        let d = assemble(None, Some(&slipped), on());
        assert!(codes(&d).contains(&"mrz_check_digit"), "{:?}", codes(&d));
        slipped.read_uncertain = true;
        let d = assemble(None, Some(&slipped), on());
        assert!(!codes(&d).contains(&"mrz_check_digit"), "{:?}", codes(&d));
        assert!(d.problems.iter().any(|p| p.code == "unreadable_field" && p.message.contains("MRZ")), "{:?}", d.problems);
        // What no passing check digit covers is not reported: no wrong number, no
        // name or IIN the slip may have touched; the dates whose digits hold stand.
        assert_eq!((d.document_number.as_deref(), d.surname.as_deref(), d.iin.as_deref()), (None, None, None));
        assert_eq!(d.birth_date, Some("2005-06-24".parse().unwrap()));
        assert_eq!(d.expiry_date, Some("2031-10-17".parse().unwrap()));
        assert!(!d.mrz.valid);
        // The printed side, read surely, stands in for it, and nothing is compared
        // with the slipped zone's names or IIN.
        let d = assemble(Some(&front()), Some(&slipped), on());
        assert_eq!((d.surname.as_deref(), d.iin.as_deref()), (Some("ҚАСЫМОВ"), Some("050624533556")));
        assert_eq!(codes(&d), vec!["unreadable_field"]);
        // A zone read uncertainly whose check digits all pass is simply read.
        let mut read = mrz();
        read.read_uncertain = true;
        assert_eq!(assemble(Some(&front()), Some(&read), on()), assemble(Some(&front()), Some(&mrz()), on()));
    }

    #[test]
    fn names_two_readers_read_otherwise_are_not_reported_nor_compared() {
        let mut m = mrz();
        m.letters_uncertain = true;
        // The back alone: every number stands, no name or sex from the MRZ.
        let d = assemble(None, Some(&m), on());
        assert_eq!((d.surname.as_deref(), d.given_names.as_deref(), d.sex), (None, None, Some(Sex::Male)), "sex from the IIN");
        assert_eq!((d.iin.as_deref(), d.document_number.as_deref()), (Some("050624533556"), Some("072343742")));
        assert!(d.mrz.valid);
        // A printed surname read surely and unlike the MRZ's is not accused by it.
        let mut f = front();
        f.surname = Some("ҚАСЕНОВ".into());
        let d = assemble(Some(&f), Some(&m), on());
        assert_eq!(d.surname.as_deref(), Some("ҚАСЕНОВ"));
        assert!(!codes(&d).contains(&"name_mismatch"), "{:?}", codes(&d));
    }

    #[test]
    fn a_card_front_read_without_its_iin_says_the_iin_was_not_compared() {
        let mut f = front();
        f.iin = None;
        let d = assemble(Some(&f), Some(&mrz()), on());
        assert_eq!(codes(&d), vec!["unreadable_field"]);
        assert_eq!((d.iin.as_deref(), d.sources.iin), (Some("050624533556"), Some(FieldSource::Mrz)));
        // The back alone was never a front to compare.
        assert!(codes(&assemble(None, Some(&mrz()), on())).is_empty());
    }

    #[test]
    fn a_front_birth_date_read_unsurely_gives_way_to_the_mrz() {
        let mut f = front();
        f.birth_date = Some("2005-06-21".parse().unwrap());
        f.confirmed.birth_date = false;
        let d = assemble(Some(&f), Some(&mrz()), on());
        assert_eq!(codes(&d), vec!["unreadable_field"]);
        assert_eq!(d.birth_date, Some("2005-06-24".parse().unwrap()));
        f.confirmed.birth_date = true;
        assert!(codes(&assemble(Some(&f), Some(&mrz()), on())).contains(&"birth_date_mismatch"));
    }

    #[test]
    fn a_name_misread_by_one_letter_is_caught_by_the_mrz_and_never_reported() {
        // ҚАСЫМОВ read as ҚАСЫНОВ: the MRZ says KASYMOV. Unconfirmed by re-reads, it is
        // a misread: the printed surname is unreadable and the MRZ's form stands.
        let mut f = front();
        f.surname = Some("ҚАСЫНОВ".into());
        f.confirmed.surname = false;
        let d = assemble(Some(&f), Some(&mrz()), on());
        assert_eq!(codes(&d), vec!["unreadable_field"]);
        assert_eq!(d.surname.as_deref(), Some("KASYMOV"));
        assert_eq!(d.disagreements, [Disagreement { field: "surname", front: "ҚАСЫНОВ".into(), mrz: "KASYMOV".into() }]);
        // Read alike every way, it is what the card prints: reported, both values kept.
        f.confirmed.surname = true;
        let d = assemble(Some(&f), Some(&mrz()), on());
        assert_eq!((codes(&d), d.surname.as_deref()), (vec!["name_mismatch"], Some("ҚАСЫНОВ")));
        // The Kazakh letters transliterate to the MRZ's form: no disagreement.
        assert!(assemble(Some(&front()), Some(&mrz()), on()).disagreements.is_empty());
    }

    #[test]
    fn a_lookalike_letter_or_a_lost_end_letter_is_a_misread_not_another_name() {
        let m = mrz();
        // ҚАСЫМОВ with Й for И would not do; Ш for Щ, Ь for Ы and lost end letters do.
        assert!(printed_name_nearly_agrees("ҚАСЬМОВ", &m, "KASYMOV"));
        assert!(printed_name_nearly_agrees("АСЫМОВ", &m, "KASYMOV"), "the first letter cut off");
        assert!(printed_name_nearly_agrees("ҚАСЫМО", &m, "KASYMOV"), "the last letter cut off");
        assert!(printed_name_nearly_agrees("ШЕРБАЕВА", &m, "SHCHERBAEVA"));
        // Another letter altogether is another name: it may be reported.
        assert!(!printed_name_nearly_agrees("ҚАСЫНОВ", &m, "KASYMOV"));
        assert!(!printed_name_nearly_agrees("ПЕТРОВ", &m, "KASYMOV"));
    }

    #[test]
    fn only_a_lost_tail_the_mrz_asks_for_is_offered_back() {
        let m = mrz();
        assert_eq!(missing_tail("ШЕРБАЕВА", &m, "SHCHERBAEVA"), Some((0, "ЩЕРБАЕВА".into())));
        assert_eq!(missing_tail("ПОЙ", &m, "TSOI"), Some((0, "ЦОЙ".into())));
        // Agreeing already, another name, or a tail the MRZ does not ask for: nothing.
        assert_eq!(missing_tail("ЩЕРБАЕВА", &m, "SHCHERBAEVA"), None);
        assert_eq!(missing_tail("ШЕРБАКОВА", &m, "SHCHERBAEVA"), None);
        assert_eq!(missing_tail("ШУБИН", &m, "SHUBIN"), None);
    }

    #[test]
    fn an_unsure_front_iin_without_an_mrz_is_not_kept() {
        let mut f = front();
        f.confirmed.iin = false;
        let d = assemble(Some(&f), None, on());
        assert_eq!((d.iin.as_deref(), codes(&d)), (None, vec!["unreadable_field", "unreadable_field"]));
    }
}
