//! Two readers' reads of one MRZ judged together: what the glyph matcher
//! ([`super::mrz_glyphs`]) and Tesseract each read, and what their agreement
//! and the zone's own check digits vouch for. [`super::ocr`] reads; this decides.

use crate::identity::iin::Iin;
use crate::identity::mrz::digit_for_confusable_letter;
use crate::identity::{CharClass, Mrz, MrzFormat, char_classes, names_columns};

/// An MRZ as read, and whether its reader vouches for every character.
#[derive(Debug, Clone, PartialEq)]
pub struct MrzText {
    pub lines: Vec<String>,
    /// Every check digit passes, or two independent readers read every character
    /// alike (the glyph matcher sure of each glyph, and Tesseract). Only then can
    /// a failing check digit be the document's and not the reader's.
    pub certain: bool,
    /// Its names (which no check digit covers) were read alike by both readers,
    /// or by the glyph matcher alone and sure of each. (Its codes are judged by
    /// whether they name states: [`Mrz::codes_known`].)
    pub letters_certain: bool,
}

impl MrzText {
    pub(super) fn sure(lines: Vec<String>) -> Self {
        Self { lines, certain: true, letters_certain: true }
    }
}

/// What a zone reads as, once Tesseract has read it too (`tesseract`), beside
/// the glyph matcher's reads: `checked`, one whose every check digit passed but
/// whose letters were unsure, and `failing_sure`, one sure of every glyph whose
/// check digits failed.
/// - The checked glyph read, when Tesseract reads its letters alike: whole and sure.
/// - Tesseract's read, when its own check digits pass; its names are sure only
///   when no checked glyph read spells them otherwise.
/// - Else the checked glyph read, its digits vouched for by its check digits and
///   its names only if Tesseract spells them alike (a state's code slipped),
///   when Tesseract reads all but one of its other characters alike
///   ([`digits_nearly_alike`]): two slips can cancel in a check digit.
/// - Else Tesseract's read, failing its check digits: certain only when it is
///   the sure glyph read's, character for character (the document's own digits).
///
/// Tesseract's read naming a state no state has ([`Mrz::codes_known`]) is not
/// certain for passing its check digits: two slips in one field can cancel in
/// its check digit (N and 2 read as M and 1 in a document number, a blurred
/// photo of tuning seed 19 whose nationality read `<AI`), and a read that
/// slipped where no check digit looks has likely slipped where one does too.
pub(super) fn settle(tesseract: Vec<String>, checked: Option<&Vec<String>>, failing_sure: Option<&Vec<String>>, format: MrzFormat) -> MrzText {
    if let Some(glyphs) = checked.filter(|g| same_letters(g, &tesseract, format)) {
        return MrzText::sure(glyphs.clone());
    }
    if Mrz::parse(&tesseract).is_ok_and(|m| m.valid() && m.codes_known()) {
        let letters_certain = checked.is_none_or(|g| same_names(g, &tesseract, format));
        return MrzText { lines: tesseract, certain: true, letters_certain };
    }
    if let Some(glyphs) = checked.filter(|g| digits_nearly_alike(g, &tesseract, format)) {
        return MrzText { lines: glyphs.clone(), certain: true, letters_certain: same_names(glyphs, &tesseract, format) };
    }
    let certain = failing_sure == Some(&tesseract);
    MrzText { lines: tesseract, certain, letters_certain: certain }
}

/// [`settle`] when Tesseract read only the lines whose letters the glyph read
/// (`checked`: every check digit passing) was unsure of, the rest being the
/// glyphs' own: Tesseract only vouches for those letters or not. It has no whole
/// read of its own to prefer, and the glyphs' digits are checked.
pub(super) fn settle_in_part(tesseract: Vec<String>, checked: &[String], format: MrzFormat) -> MrzText {
    let letters_certain = same_names(checked, &tesseract, format);
    MrzText { lines: checked.to_vec(), certain: true, letters_certain }
}

/// How much of a read zone its own check digits vouch for.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum DigitsVouched {
    None,
    /// The IIN (a passport's personal number) and the birth date pass theirs
    /// and agree: the IIN carries the birth date, its own check digit holding.
    IinAndBirth,
    /// Every check digit passes.
    All,
}

pub(super) fn digits_vouched(lines: &[String]) -> DigitsVouched {
    let Ok(m) = Mrz::parse(lines) else { return DigitsVouched::None };
    if m.valid() {
        return DigitsVouched::All;
    }
    let iin_and_birth = m.checks.birth_date
        && m.checks.personal_number == Some(true)
        && m.iin_candidate().and_then(|i| Iin::parse(i).ok()).is_some_and(|iin| m.birth_date == Some(iin.birth_date()));
    if iin_and_birth { DigitsVouched::IinAndBirth } else { DigitsVouched::None }
}

/// Whether two reads of one zone differ in at most one position that is not
/// letters only (numbers, dates, check digits), a letter read where only a digit
/// may stand counting as the digit it looks like. A check digit catches one
/// slip (all but a letter for a character 10, 20 or 30 values away, 8 for I,
/// which OCR-B does not draw alike), so a read that passes them all and differs
/// from another read in one such position is right there; two differences may
/// be two slips of the first read that cancel out (N and 8 read as H and A in a
/// document number, tuning seed 41, every check digit passing).
fn digits_nearly_alike(a: &[String], b: &[String], format: MrzFormat) -> bool {
    let classes = char_classes(format);
    let as_digit = |c: u8, kind: &CharClass| if *kind == CharClass::Numeric { digit_for_confusable_letter(c).unwrap_or(c) } else { c };
    let differing: usize = a
        .iter()
        .zip(b)
        .zip(&classes)
        .map(|((x, y), kinds)| {
            x.bytes()
                .zip(y.bytes())
                .zip(kinds)
                .filter(|((p, q), kind)| !matches!(kind, CharClass::Alpha | CharClass::Sex) && as_digit(*p, kind) != as_digit(*q, kind))
                .count()
        })
        .sum();
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.len() == y.len()) && differing <= 1
}

/// Whether two reads of one zone agree on every letter-only position (names,
/// codes): the positions no check digit covers.
fn same_letters(a: &[String], b: &[String], format: MrzFormat) -> bool {
    let classes = char_classes(format);
    a.len() == b.len()
        && a.iter().zip(b).zip(&classes).all(|((x, y), kinds)| {
            x.len() == y.len()
                && x.bytes().zip(y.bytes()).zip(kinds).all(|((p, q), kind)| *kind != CharClass::Alpha || p == q)
        })
}

/// `read`, whose names its readers spelled otherwise, with the names of the
/// glyph read `glyphs` and those vouched for when `again` (a second Tesseract
/// read of their row, fitted to a row's length) spells them alike; else as it was.
pub(super) fn names_vouched(read: MrzText, glyphs: &[String], again: Option<&str>, format: MrzFormat) -> MrzText {
    let (line, columns) = names_columns(format);
    let (Some(again), Some(glyph_row)) = (again, glyphs.get(line)) else { return read };
    if again.get(columns.clone()) != glyph_row.get(columns.clone()) || read.lines.get(line).is_none_or(|l| l.len() != glyph_row.len()) {
        return read;
    }
    let mut lines = read.lines;
    lines[line].replace_range(columns.clone(), &glyph_row[columns]);
    MrzText { lines, certain: read.certain, letters_certain: true }
}

/// Whether two reads of one zone spell its names alike (a slip in a state's
/// code, on another line or beside them, says nothing of them).
fn same_names(a: &[String], b: &[String], format: MrzFormat) -> bool {
    let (line, columns) = names_columns(format);
    let names = |read: &[String]| read.get(line).and_then(|l| l.get(columns.clone())).map(str::to_string);
    names(a).is_some() && names(a) == names(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_is_settled_by_what_both_readers_vouch_for() {
        let truth = vec!["P<KAZSHCHERBAEVA<<ASEL<<<<<<<<<<<<<<<<<<<<<<".to_string(), "N559075291KAZ8612238F2710028861223481948<<44".to_string()];
        // Tesseract on a blurred photo (tuning seed 23): N as M, an M inside a name.
        let tesseract = vec!["P<KAZSHMCHERBAEVA<<ASEL<<<<<<<<<<<<<<<<<<<<<".to_string(), "M559075291KAZB612238F2710028861223481948<<44".to_string()];
        let sure = |text: &MrzText| (text.certain, text.letters_certain);
        // A checked glyph read beats Tesseract's failing one; its letters alone were unsure.
        let text = settle(tesseract.clone(), Some(&truth), None, MrzFormat::Td3);
        assert_eq!((text.lines.clone(), sure(&text)), (truth.clone(), (true, false)));
        // Two digits read otherwise may be two slips of the glyph read that cancel out.
        let mut twice = tesseract.clone();
        twice[1] = "M559075291KAZ8612238F2710028861223481948<<45".into();
        assert_eq!(sure(&settle(twice, Some(&truth), None, MrzFormat::Td3)), (false, false));
        // Tesseract reading its letters alike makes the glyph read whole.
        assert_eq!(sure(&settle(truth.clone(), Some(&truth), None, MrzFormat::Td3)), (true, true));
        // Tesseract's failing read alone is a misread...
        assert_eq!(sure(&settle(tesseract.clone(), None, None, MrzFormat::Td3)), (false, false));
        // ...unless the sure glyph read is the same, character for character.
        assert_eq!(sure(&settle(tesseract.clone(), None, Some(&tesseract), MrzFormat::Td3)), (true, true));
        // Tesseract's valid read stands; its letters only if no glyph read says otherwise.
        let mut other = truth.clone();
        other[0] = "P<KAZSHCHERBAEVA<<ASEI<<<<<<<<<<<<<<<<<<<<<<".into();
        assert_eq!(sure(&settle(truth.clone(), None, None, MrzFormat::Td3)), (true, true));
        let text = settle(truth.clone(), Some(&other), None, MrzFormat::Td3);
        assert_eq!((text.lines.clone(), sure(&text)), (truth.clone(), (true, false)));
    }

    #[test]
    fn a_read_naming_no_state_is_not_believed_for_its_check_digits() {
        // A blurred photo of tuning seed 19 read by Tesseract: N and 2 of the
        // document number read as M and 1 cancel in its check digit, and every
        // check digit passes; its nationality reads `<AI`, a code no state has.
        let truth = vec!["P<KAZSHALGYNBAEV<<TOLEGEN<<<<<<<<<<<<<<<<<<<".to_string(), "N251090112KAZ6303219M3302255630321334010<<64".to_string()];
        let slipped = vec!["P<EAISHALGTHMBAEV<<TOLEGEN<<<<<<<<<<<<<<<<<<".to_string(), "MI5109011Z<AI6303219M3302255630321334010<<64".to_string()];
        let parsed = Mrz::parse(&slipped).unwrap();
        assert!(parsed.valid() && !parsed.codes_known());
        assert!(!settle(slipped.clone(), None, None, MrzFormat::Td3).certain);
        // The same read with the document's state is certain, as any valid read...
        let mut named = slipped.clone();
        named[1] = "MI5109011ZKAZ6303219M3302255630321334010<<64".into();
        named[0] = "P<KAZSHALGTHMBAEV<<TOLEGEN<<<<<<<<<<<<<<<<<<".into();
        assert!(settle(named, None, None, MrzFormat::Td3).certain);
        // ...and a code read alike by the glyph matcher, sure of every glyph, is the document's.
        assert!(settle(slipped.clone(), None, Some(&slipped), MrzFormat::Td3).certain);
        // Beside a checked glyph read two characters of its number away, neither is certain.
        let text = settle(slipped.clone(), Some(&truth), None, MrzFormat::Td3);
        assert_eq!((text.lines, text.certain), (slipped, false));
    }

    #[test]
    fn lines_read_in_part_vouch_for_the_glyphs_letters_or_leave_them_uncertain() {
        // Tuning seed 17: the glyphs unsure of the surname's O (read as D), every
        // check digit passing; Tesseract read the names line only.
        let glyphs = ["P<KAZKAIYRBEKDV<SHALGYNBAEV<<ASKAR<<<<<<<<<<", "N534306156KAZ8801199M3401309880119399117<<32"].map(String::from).to_vec();
        let text = settle_in_part(glyphs.clone(), &glyphs, MrzFormat::Td3);
        assert_eq!((text.lines, text.certain, text.letters_certain), (glyphs.clone(), true, true));
        // Read otherwise there (as it was: KAIYRPEKOV), neither reader's letters are
        // believed, and the glyphs' checked digits stand.
        let mut other = glyphs.clone();
        other[0] = "P<KAZKAIYRPEKOV<SHALGYNBAEV<<ASKAR<<<<<<<<<<".into();
        let text = settle_in_part(other, &glyphs, MrzFormat::Td3);
        assert_eq!((text.lines, text.certain, text.letters_certain), (glyphs, true, false));
    }

    #[test]
    fn the_check_digits_vouch_for_a_whole_zone_or_for_an_iin_and_birth_date_that_agree() {
        let lines = |second: &str| vec!["P<KAZGALYMZHANOVA<<SAULE<<<<<<<<<<<<<<<<<<<<".to_string(), second.to_string()];
        assert_eq!(digits_vouched(&lines("N295719073KAZ7012303F3312223701230419136<<52")), DigitsVouched::All);
        // A blurred page (tuning seed 61): KAZ as KXZ, the number's check digit 3
        // as 5: the IIN and the birth date still pass theirs and agree.
        let slipped = lines("N295719075KXZ7012303F3312223701230419136<<52");
        assert_eq!(digits_vouched(&slipped), DigitsVouched::IinAndBirth);
        // An IIN carrying another day than the birth date's, both checks passing.
        let other_day = lines("N295719075KXZ7012314F3312223701230419136<<52");
        assert!(Mrz::parse(&other_day).is_ok_and(|m| m.checks.birth_date && m.checks.personal_number == Some(true)), "the premise");
        assert_eq!(digits_vouched(&other_day), DigitsVouched::None);
        assert_eq!(digits_vouched(&lines("garbage")), DigitsVouched::None);
        assert!(DigitsVouched::All > DigitsVouched::IinAndBirth && DigitsVouched::IinAndBirth > DigitsVouched::None);
    }

    /// A TD3 names row: `start` filled to 44 characters.
    fn row(start: &str) -> String {
        format!("{start:<<44}")
    }

    #[test]
    fn names_the_two_readers_spelled_otherwise_are_vouched_by_a_read_at_another_scale_alike() {
        // A hard page of tuning seed 67: the glyphs read TOLEGENOVA, unsure of a
        // letter; Tesseract TOLEGEMNOVA; every check digit passing.
        let glyphs = vec![row("P<KAZTOLEGENOVA<<MOLDIR"), "N596213304KAZ9206241F3110108920624464601<<48".to_string()];
        let mut tesseract = glyphs.clone();
        tesseract[0] = row("P<KAZTOLEGEMNOVA<<MOLDIR");
        let read = settle(tesseract.clone(), Some(&glyphs), None, MrzFormat::Td3);
        assert_eq!((read.lines.clone(), read.certain, read.letters_certain), (tesseract.clone(), true, false));
        // Read again as the glyphs spell them (the state slipped: that says nothing
        // of the names): the glyphs' names, vouched for.
        let vouched = names_vouched(read.clone(), &glyphs, Some(&row("P<EAZTOLEGENOVA<<MOLDIR")), MrzFormat::Td3);
        assert_eq!((vouched.lines, vouched.letters_certain), (glyphs.clone(), true));
        // Read again otherwise, or not as a row at all: as it was.
        for again in [Some(row("P<KAZTOLEGENDVA<<MOLDIR")), None] {
            let unsure = names_vouched(read.clone(), &glyphs, again.as_deref(), MrzFormat::Td3);
            assert_eq!((unsure.lines, unsure.letters_certain), (tesseract.clone(), false));
        }
    }

    #[test]
    fn a_slip_in_a_states_code_says_nothing_of_the_names() {
        let glyphs = [row("P<KAZSHAIMERDENOV<<SHYNGYS"), "N654015329KAZ9006289M3307135900628333881<<30".to_string()];
        let mut other = glyphs.clone();
        other[0] = row("P<KXZSHAIMERDENOV<<SHYNGYS");
        other[1] = "N654015329<AZ9006289M3307135900628333881<<30".into();
        assert!(!same_letters(&glyphs, &other, MrzFormat::Td3));
        assert!(same_names(&glyphs, &other, MrzFormat::Td3));
        other[0] = row("P<KAZSHAIMERDENDV<<SHYNGYS");
        assert!(!same_names(&glyphs, &other, MrzFormat::Td3));
        // A TD1 zone's names are its third row.
        let card = ["IDKAZ0723437422050624533556<<<", "0506247M3110175KAZ<<<<<<<<<<<0", "KASYMOV<<MURAT<<<<<<<<<<<<<<<<"].map(String::from);
        let mut slipped = card.clone();
        slipped[0] = "IDKXZ0723437422050624533556<<<".into();
        assert!(same_names(&card, &slipped, MrzFormat::Td1));
        slipped[2] = "KASYMDV<<MURAT<<<<<<<<<<<<<<<<".into();
        assert!(!same_names(&card, &slipped, MrzFormat::Td1));
    }

    #[test]
    fn two_reads_agree_on_letters_whatever_their_digits() {
        let glyphs = ["P<KAZSHAIMERDENOV<<SHYNGYS<<<<<<<<<<<<<<<<<<".to_string(), "N654015329KAZ9006289M3307135900628333881<<30".to_string()];
        let mut other = glyphs.clone();
        // A digit misread (8 as B in the personal number) leaves the letters agreed...
        other[1] = "N654015329KAZ9006289M330713590062B333881<<30".into();
        assert!(same_letters(&glyphs, &other, MrzFormat::Td3));
        // ...one letter of a name does not, nor a line cut short.
        other[0] = "P<KAZSHAIMERDENDV<<SHYNGYS<<<<<<<<<<<<<<<<<<".into();
        assert!(!same_letters(&glyphs, &other, MrzFormat::Td3));
        assert!(!same_letters(&glyphs, &glyphs[..1], MrzFormat::Td3));
    }
}
