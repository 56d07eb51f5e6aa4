//! A passport page's printed zone read the way its MRZ, read first, says it
//! must read: value lines top first, each read once, kept where a read says
//! what the MRZ says (the surname and given names in their Latin form, the IIN,
//! the birth date) or, under the given names, reads as a patronymic.
//! Labels are then read only for what this did not find. Two independent
//! sources agreeing need no label to say what a line is: on a page whose print
//! reads well, this is a third of the Tesseract reads the labels cost (a
//! page's labels are two or three lines each and small, and often read only in
//! full). A value that says something else (a misread, or a forgery) is left to
//! the labels, which find it under its label and check it as ever: agreeing is
//! the only thing this pass can conclude, so it can accuse nothing.

use super::VisionError;
use super::front_search::{DIGIT_WIDTH, LETTER_WIDTH, cyrillic_letters, has_room, where_patronymic_is_printed};
use super::front::{FrontReader, Look, NAME_LOOK, Value, value_under};
use super::labels::{Field, edit_distance};
use super::tails::restore_tail;
use super::text::{Line, Printed};
use super::value_text::{date_value, iin_value, line_name};
use crate::identity::document::printed_name_agrees;
use crate::identity::spelling::is_patronymic;
use crate::identity::iin::IIN_LENGTH;
use crate::identity::{Date, FrontFields, Mrz};

/// At most this many lines are read: a page prints its names, birth date and
/// IIN in its first eight to ten value lines, and each read costs 3-8 ms.
const MAX_READS: usize = 10;

/// How many letters a patronymic has, at fewest and at most (ӘЛИ ҰЛЫ, ВЯЧЕСЛАВОВНА;
/// a father's name and ҰЛЫ or ҚЫЗЫ, as two words, up to twenty).
const PATRONYMIC_LETTERS: (usize, usize) = (5, 20);

/// How far apart the widths of a surname and given names printed alike may be
/// from their letters' counts' ratio: their letters differ in width (Ш, І).
const NAME_WIDTHS_SLACK: f64 = 1.4;

/// A printed date, 01.02.1990: eight digits and two narrow dots.
const DATE_CHARACTERS: (usize, usize) = (9, 10);

/// What the MRZ-led pass found.
pub(super) struct Led {
    /// Each field found, the line it was read from and the look it was read with.
    pub(super) found: Vec<(Field, Value, Look)>,
    /// Every field is settled: found, or the patronymic looked for where pages
    /// print it and not there.
    pub(super) settled: bool,
    /// Lines were read ([`MIN_READS_TO_JUDGE`] or more), none said what the MRZ
    /// says, and under a quarter looked like print ([`looks_printed`]; noise reads
    /// as a run of capitals now and then): the page's print is too small or blurred
    /// for Tesseract, and its labels and searches would read noise too (40-60
    /// reads, 200-500 ms, on 10 of 54 moderate tuning passports; 8 now stop). A page whose
    /// print reads as print but says something else is read on by its labels.
    pub(super) illegible: bool,
}

/// So many value lines read as no print before a page's print is judged illegible.
const MIN_READS_TO_JUDGE: usize = 4;

/// Whether Tesseract's read of a value line looks like print: names are printed
/// in capitals, four of them in a row at least, and numbers have eight digits or
/// more. Noise reads as lower case, punctuation and short fragments ("шоямтғеігков",
/// "../", "ітыта" on tuning passports photographed small or blurred). Print of any
/// name, forged or not, looks like print: this judges legibility, never content.
fn looks_printed(text: &str) -> bool {
    let mut run = 0;
    let mut longest = 0;
    for c in text.chars() {
        run = if c.is_alphabetic() && c.is_uppercase() { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest >= 4 || text.chars().filter(char::is_ascii_digit).count() >= 8
}

/// [`Led::illegible`], from how many value lines were read, how many of those
/// looked like print, and how many said what the MRZ says.
fn judged_illegible(reads: usize, looked_printed: usize, agreed: usize) -> bool {
    reads >= MIN_READS_TO_JUDGE && agreed == 0 && looked_printed * 4 < reads
}

/// Which of the value lines `lines` (top first) the surname likely is: the first
/// with room for it whose next line in its column has room for the given names,
/// the two as wide as their letters say against each other (the same font, so
/// whatever the font); 0 (the top) when none is.
fn names_start(lines: &[Line], names: [(usize, usize); 2]) -> usize {
    let [surname, given] = names;
    if surname.1 == 0 || given.1 == 0 {
        return 0;
    }
    let aspect = |l: &Line| f64::from(l.rect.width) / f64::from(l.letters.max(1));
    let (low, high) = (surname.0 as f64 / given.1 as f64 / NAME_WIDTHS_SLACK, surname.1 as f64 / given.0 as f64 * NAME_WIDTHS_SLACK);
    (0..lines.len())
        .find(|&i| {
            let a = &lines[i];
            let below = lines[i + 1..].iter().find(|b| b.rect.x < a.rect.x + a.rect.width && a.rect.x < b.rect.x + b.rect.width);
            below.is_some_and(|b| {
                has_room(a, surname, LETTER_WIDTH) && has_room(b, given, LETTER_WIDTH) && (low..=high).contains(&(aspect(a) / aspect(b)))
            })
        })
        .unwrap_or(0)
}

impl FrontReader {
    /// The values of `printed` that read as `mrz` says, stored in `fields` as
    /// confirmed (names, the IIN and the birth date).
    pub(super) fn read_as_mrz_says(
        &mut self,
        printed: &Printed,
        mrz: &Mrz,
        fields: &mut FrontFields,
    ) -> Result<Led, VisionError> {
        // Lines under a label, as their shapes say (never a title row, nor a
        // name's Latin form printed under it), top first.
        let mut under: Vec<usize> = (0..printed.lines.len()).filter_map(|i| value_under(&printed.lines, i, true)).collect();
        under.sort_unstable();
        under.dedup();
        let mut lines: Vec<Line> = under.into_iter().map(|i| printed.lines[i]).collect();
        lines.sort_by_key(|l| (l.rect.y, l.rect.x));
        let mut found: Vec<(Field, Value, Look)> = Vec::new();
        let has = |found: &[(Field, Value, Look)], field: Field| found.iter().any(|(f, ..)| *f == field);
        // Only lines as wide as something the MRZ says is printed and not yet
        // found, or as a patronymic under the given names, are read (not a page's
        // type and country codes, nor its long places and authorities, nor its
        // nationality once the names are found).
        let names = [&mrz.primary_identifier, &mrz.secondary_identifiers].map(|latin| cyrillic_letters(latin));
        let shaped = |l: &Line, found: &[(Field, Value, Look)]| {
            let wanted = |field: Field| !has(found, field);
            [Field::Surname, Field::Given].into_iter().zip(names).any(|(field, n)| wanted(field) && n.1 > 0 && has_room(l, n, LETTER_WIDTH))
                || (wanted(Field::Iin) && has_room(l, (IIN_LENGTH, IIN_LENGTH), DIGIT_WIDTH))
                || (wanted(Field::Birth) && has_room(l, DATE_CHARACTERS, DIGIT_WIDTH))
        };
        let line_of = |found: &[(Field, Value, Look)], field: Field| found.iter().find(|(f, ..)| *f == field).map(|(_, v, _)| v.line);
        let (mut reads, mut printed_seen) = (0, 0);
        // Names first: a page's type, country code and number, printed above them,
        // are lines read for nothing (two or three a page, 10-20 ms). Where the
        // line taken for the surname does not read as it, top first after all.
        let start = names_start(&lines, names);
        let mut order: Vec<usize> = (start..lines.len()).chain(0..start).collect();
        let (mut visited, mut guessed) = (vec![false; lines.len()], start > 0);
        let mut k = 0;
        while k < order.len() {
            if guessed && k == 1 {
                guessed = false;
                if !has(&found, Field::Surname) {
                    order = (0..lines.len()).collect();
                    k = 0;
                }
            }
            let at = order[k];
            k += 1;
            if std::mem::replace(&mut visited[at], true) {
                continue;
            }
            let line = lines[at];
            // Everything but the patronymic found: a line is read only where pages
            // print one (as find_patronymic, below, looks for it), not the
            // authority, dates and numbers further down (3-5 reads, 20-40 ms, on a
            // tuning page with none).
            if found.len() == Field::ALL.len() - 1
                && !has(&found, Field::Patronymic)
                && line_of(&found, Field::Given).is_some_and(|given| !where_patronymic_is_printed(given, &line))
            {
                continue;
            }
            // A patronymic is printed under the given names, or, before they are
            // found, under the surname (a name ending as patronymics do, ДАНИЛОВИЧ,
            // may be a surname).
            let below = |field: Field| found.iter().any(|(f, v, _)| *f == field && v.line.rect.y < line.rect.y);
            let below_given = below(Field::Given) || (!has(&found, Field::Given) && below(Field::Surname));
            let maybe_patronymic = below_given && !has(&found, Field::Patronymic) && has_room(&line, PATRONYMIC_LETTERS, LETTER_WIDTH);
            if !shaped(&line, &found) && !maybe_patronymic {
                continue;
            }
            let value = Value::of(&printed.ink, line)?;
            // Three words or more are a place or an authority, never a patronymic
            // (as find_patronymic has it): not read for one.
            let maybe_patronymic = maybe_patronymic && value.words <= 2;
            if !shaped(&line, &found) && !maybe_patronymic {
                continue;
            }
            if reads == MAX_READS {
                break;
            }
            reads += 1;
            let text = self.read_line(printed, value.line, NAME_LOOK)?;
            printed_seen += usize::from(looks_printed(&text));
            let name = line_name(&text, value.words);
            let surname = if has(&found, Field::Surname) { None } else { says(printed, value.line, name.as_deref(), mrz, &mrz.primary_identifier)? };
            let given =
                if has(&found, Field::Given) || surname.is_some() { None } else { says(printed, value.line, name.as_deref(), mrz, &mrz.secondary_identifiers)? };
            let iin = iin_value(&text);
            let field = if surname.is_some() {
                fields.surname = surname;
                fields.confirmed.surname = true;
                Field::Surname
            } else if given.is_some() {
                fields.given_names = given;
                fields.confirmed.given_names = true;
                Field::Given
            } else if maybe_patronymic && name.as_deref().is_some_and(is_patronymic) {
                fields.patronymic = name;
                Field::Patronymic
            } else if !has(&found, Field::Iin) && self.reads_iin_as_mrz(printed, value, iin.as_deref(), &text, mrz)? {
                fields.iin = mrz.iin_candidate().map(str::to_string);
                fields.confirmed.iin = true;
                Field::Iin
            } else if !has(&found, Field::Birth) && self.reads_birth_as_mrz(printed, value, &text, mrz)? {
                fields.birth_date = mrz.birth_date;
                fields.confirmed.birth_date = true;
                Field::Birth
            } else {
                continue;
            };
            found.push((field, value, NAME_LOOK));
            if found.len() == Field::ALL.len() {
                break;
            }
        }
        // Every field but the patronymic found: it is looked for where pages print
        // it, under the given names, and not found there it is taken to be
        // printed nowhere (many Kazakh names have none), without reading a label;
        // unless a name's letters there read as no patronymic: then not known.
        let given = line_of(&found, Field::Given);
        let mut settled = false;
        if found.len() == Field::ALL.len() - 1
            && !has(&found, Field::Patronymic)
            && let Some(given) = given
        {
            let taken: Vec<Line> = found.iter().map(|(_, v, _)| v.line).collect();
            settled = true;
            if let Some((name, value)) = self.find_patronymic(printed, &taken, given, &mrz.secondary_identifiers, fields)? {
                fields.patronymic = Some(name);
                found.push((Field::Patronymic, value, NAME_LOOK));
            }
        }
        Ok(Led { illegible: judged_illegible(reads, printed_seen, found.len()), found, settled })
    }
}

impl FrontReader {
    /// Whether the IIN on `value` (read as `text`, `iin` its twelve digits if it
    /// has them) is the MRZ's: as read, or, read nearly so ([`nearly_alike`]: 3 as
    /// 5, a digit lost, in some fonts), as readers independent of the first read
    /// it (Russian and English digits) read it.
    fn reads_iin_as_mrz(&mut self, printed: &Printed, value: Value, iin: Option<&str>, text: &str, mrz: &Mrz) -> Result<bool, VisionError> {
        let Some(checked) = mrz.iin_candidate() else { return Ok(false) };
        if iin == Some(checked) {
            return Ok(true);
        }
        if !nearly_alike(&digits_of(text), checked) {
            return Ok(false);
        }
        Ok(self.independent_iin(&printed.gray, value, checked)?.as_deref() == Some(checked))
    }

    /// [`Self::reads_iin_as_mrz`] for the birth date.
    fn reads_birth_as_mrz(&mut self, printed: &Printed, value: Value, text: &str, mrz: &Mrz) -> Result<bool, VisionError> {
        let Some(birth) = mrz.birth_date else { return Ok(false) };
        if date_value(text) == Some(birth) {
            return Ok(true);
        }
        if !nearly_alike(&digits_of(text), &day_first(birth)) {
            return Ok(false);
        }
        self.english_reads_date(&printed.gray, value, birth)
    }
}

fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// How a date is printed, its digits day first (DDMMYYYY).
fn day_first(date: Date) -> String {
    let iso = digits_of(&date.to_string());
    format!("{}{}{}", &iso[6..8], &iso[4..6], &iso[0..4])
}

/// Whether a read's digits are one or two slips (a digit read as another, lost
/// or doubled) from a number, or the number with one digit read as another
/// wherever it was misread (a font's habit: PT Sans Narrow's 3 as 5, four times
/// in 780328350338): worth a second opinion, not another number.
fn nearly_alike(read: &str, number: &str) -> bool {
    let (read, number): (Vec<char>, Vec<char>) = (read.chars().collect(), number.chars().collect());
    (1..=2).contains(&edit_distance(&read, &number)) || one_digit_misread(&read, &number)
}

/// The same length, and every place that differs has the same digit read as the
/// same other digit.
fn one_digit_misread(read: &[char], number: &[char]) -> bool {
    if read.len() != number.len() {
        return false;
    }
    let mut slips = read.iter().zip(number).filter(|(r, n)| r != n).map(|(r, n)| (*n, *r));
    slips.next().is_some_and(|first| slips.all(|slip| slip == first))
}

/// `read`, the name on `line`, as the MRZ spells it `latin`: as read, or with the
/// one tail the read lost (Щ read as Ш) where the image shows it. `None` when it
/// says something else.
fn says(printed: &Printed, line: Line, read: Option<&str>, mrz: &Mrz, latin: &str) -> Result<Option<String>, VisionError> {
    let Some(read) = read.filter(|_| !latin.is_empty()) else { return Ok(None) };
    if printed_name_agrees(read, mrz, latin) {
        return Ok(Some(read.to_string()));
    }
    restore_tail(&printed.gray, line, read, mrz, latin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencv::core::Rect;

    #[test]
    fn a_page_is_illegible_when_its_reads_are_noise_with_a_fluke_not_when_they_disagree() {
        // Nine reads of noise, one a run of capitals by chance (tuning seed 41, p01).
        assert!(judged_illegible(9, 1, 0));
        // Print that reads as print and says something else than the MRZ (a visual
        // zone from another person): its labels must be read, to accuse it.
        assert!(!judged_illegible(9, 9, 0));
        // One value said what the MRZ says: the print is legible there.
        assert!(!judged_illegible(9, 1, 1));
        // Too few reads to judge.
        assert!(!judged_illegible(3, 0, 0));
    }

    #[test]
    fn a_number_a_digit_or_two_from_the_mrz_is_a_slip_to_ask_about_not_another_number() {
        // 3 read as 5 (a tuning font at the first look), once and twice.
        assert!(nearly_alike("880119599117", "880119399117"));
        assert!(nearly_alike("780528550558", "780328550558"));
        assert!(!nearly_alike("880119399117", "880119399117"), "the same: nothing to ask");
        assert!(!nearly_alike("880155599117", "880119399117"), "three places, three slips: another number");
        assert!(nearly_alike("780528550558", "780328350338"), "every 3 read as 5");
        assert!(!nearly_alike("780528550558", "780328350339"), "and a 9 as 8: another number");
        assert!(nearly_alike("1121980", "11121980"), "a digit lost");
        assert!(!nearly_alike("96913246", "801211364300"), "a document number: another number");
        assert_eq!(day_first("1978-03-28".parse().unwrap()), "28031978");
    }

    #[test]
    fn the_surname_is_taken_to_be_the_line_over_one_as_wide_as_the_given_names_letters_say() {
        let line = |y: i32, x: i32, width: i32| Line { rect: Rect::new(x, y, width, 30), letters: 24, slope: 0.0 };
        // Tuning seed 5 p01's page, as the line finder gives it: country code KAZ,
        // number N76647131, then ЩЕРБАЕВА over ҒАЗИЗА, nationality, birth date.
        let names = [cyrillic_letters("SHCHERBAEVA"), cyrillic_letters("GAZIZA")];
        let page = [line(100, 700, 70), line(150, 700, 176), line(200, 700, 211), line(250, 700, 157), line(300, 700, 522), line(350, 700, 174)];
        assert_eq!(names_start(&page, names), 2);
        // ЖУКОВ over ИГОРЬ: the number over the surname is as wide, against it, as
        // they are, so the number is read first; the country code still is not.
        let names = [cyrillic_letters("ZHUKOV"), cyrillic_letters("IGOR")];
        let page = [line(100, 700, 76), line(150, 700, 183), line(200, 700, 133), line(250, 700, 117)];
        assert_eq!(names_start(&page, names), 1);
        // A line as wide as ИГОРЬ beside ЖУКОВ, in another column, is not under it.
        let page = [line(100, 700, 76), line(150, 700, 133), line(160, 100, 117), line(260, 700, 30)];
        assert_eq!(names_start(&page, names), 0);
        // Nothing known of the names: top first.
        assert_eq!(names_start(&page, [(0, 0), names[1]]), 0);
    }

    #[test]
    fn print_is_told_from_noise_by_its_capitals_and_digits() {
        // Reads of legible print, right or wrong.
        for read in ["ШУБИН", "ІШЕРРБАЕВА", "ЖТҰҒвИН", "831106396165", "06.11.1983", "М43632971"] {
            assert!(looks_printed(read), "{read}");
        }
        // Reads of print too small or blurred to read (tuning seeds 13 and 17).
        for read in ["шоямтғеігков", "../", "ітыта", "ТЕП", "Алексей", "104312", "", "ш--.-е-е"] {
            assert!(!looks_printed(read), "{read}");
        }
    }
}
