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
    /// No patronymic was read where one is printed, though the line there reads
    /// as a name's letters: whether the document gives one is not known.
    pub patronymic_unknown: bool,
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
    /// `front` (Cyrillic, as printed), `both` (as printed, and agreeing with the
    /// MRZ's Latin form) or `mrz` (the MRZ's Latin form: the print not read).
    pub surname: Option<FieldSource>,
    pub given_names: Option<FieldSource>,
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
    if let Some(m) = mrz.filter(|m| m.misread()) {
        let why = if m.valid() { "it names a state no state has" } else { "its check digits fail" };
        problems.push(problem("unreadable_field", format!("the MRZ could not be read with certainty: {why}")));
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
    // Names the print was looked at for and never gave: the MRZ's Latin form
    // stands in, and the operator is told (below), or it would pass for the print.
    let print_looked_at = front.is_some() || document_type == DocumentType::Passport;
    let mut never_read = Vec::new();
    for (printed, sure, latin, field) in &mut names {
        let (Some(m), Some(latin)) = (mrz, latin.filter(|l| !l.is_empty())) else { continue };
        let what = field.replace('_', " ");
        let Some(name) = printed.as_deref() else {
            never_read.extend(print_looked_at.then_some(what));
            continue;
        };
        if printed_name_agrees(name, m, latin) {
            // The MRZ spells some letters alike (Қ and К as K): a name it confirms
            // but that the reader read two ways is not known letter for letter.
            if !*sure {
                problems.push(problem("unreadable_field", format!("the {what} printed {printed_on} could not be read with certainty")));
                *printed = None;
            }
            continue;
        }
        disagreements.push(Disagreement { field, front: name.to_string(), mrz: latin.clone() });
        if *sure {
            problems.push(problem("name_mismatch", format!("the {what} printed {printed_on} differs from the MRZ")));
        } else {
            problems.push(problem("unreadable_field", format!("the {what} printed {printed_on} could not be read with certainty")));
            *printed = None;
        }
    }
    let [(surname, .., latin_surname, _), (given_names, .., latin_given, _)] = names;
    let (surname, surname_source) = name_and_source(surname, mrz.zip(latin_surname));
    let (given_names, given_names_source) = name_and_source(given_names, mrz.zip(latin_given));
    // No MRZ carries a patronymic: one not read surely is not reported, and the
    // operator is told it could not be read rather than shown a likely misread.
    let patronymic = front.and_then(|f| f.patronymic.clone().filter(|_| f.confirmed.patronymic));
    if front.is_some_and(|f| f.patronymic.is_some() && !f.confirmed.patronymic) {
        problems.push(problem("unreadable_field", format!("the patronymic printed {printed_on} could not be read with certainty")));
    } else if patronymic.is_none() && (front.is_some() || document_type == DocumentType::Passport) {
        // It is printed under the given names: where they were not read, neither
        // was it, and null would say the document gives none; nor where a name
        // under them did not read as one.
        if !matches!(given_names_source, Some(FieldSource::Both | FieldSource::Front)) {
            problems.push(problem("unreadable_field", format!("the names printed {printed_on} could not be read: whether it gives a patronymic is not known")));
            never_read.clear();
        } else if front.is_some_and(|f| f.patronymic_unknown) {
            let message = format!("the line printed {printed_on} under the given names did not read as a patronymic: whether it gives one is not known");
            problems.push(problem("unreadable_field", message));
        }
    }
    for what in never_read {
        problems.push(problem("unreadable_field", format!("the {what} printed {printed_on} could not be read: it is given as the MRZ spells it")));
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
    // A front read with no MRZ beside it: the output's nulls for the number and
    // expiry, and its exit code, said "no problems" (a card's back unread).
    if mrz.is_none() && front.is_some() {
        problems.push(problem(
            "unreadable_field",
            "no MRZ was read: the document number and expiry date are not known, and nothing printed was checked against it",
        ));
    }
    let minor = birth_date.map(|b| age_on(b, on) < 18);

    DocumentRead {
        document_type,
        issuing_country: mrz.map(|m| m.issuing_state.clone()).filter(|s| !s.is_empty()).or(front.map(|_| "KAZ".to_string())),
        iin_valid: parsed_iin.is_some(),
        iin,
        surname,
        given_names,
        patronymic,
        birth_date,
        sex,
        document_number: mrz.map(|m| m.document_number.clone()).filter(|n| !n.is_empty()),
        expiry_date,
        nationality: mrz.map(|m| m.nationality.clone()).filter(|s| !s.is_empty()),
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
        sources: Sources { iin: source, surname: surname_source, given_names: given_names_source },
        problems,
        disagreements,
    }
}

/// A name as printed (read in Cyrillic: `both` where the MRZ's Latin form spells
/// the same name), else the MRZ's Latin form.
fn name_and_source(printed: Option<String>, latin: Option<(&Mrz, &String)>) -> (Option<String>, Option<FieldSource>) {
    let latin = latin.filter(|(_, l)| !l.is_empty());
    match (printed, latin) {
        (Some(name), Some((m, l))) if printed_name_agrees(&name, m, l) => (Some(name), Some(FieldSource::Both)),
        (Some(name), _) => (Some(name), Some(FieldSource::Front)),
        (None, Some((_, l))) => (Some(l.clone()), Some(FieldSource::Mrz)),
        (None, None) => (None, None),
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
mod tests;
