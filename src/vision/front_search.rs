//! Finding a printed value by what it must say when its label could not be read:
//! a surname or given name the MRZ spells in Latin, a patronymic by its ending,
//! the IIN by its twelve digits.
//! Labels in small print (a passport page's two-line labels, a card's label in
//! three languages) often read as nothing, while the value under them is larger
//! and reads well. No layout is assumed: every text line of the side is a
//! candidate, kept by its proportions, and read top first until one says what
//! the value must say.

use opencv::core::Mat;

use super::VisionError;
use super::front::{DIGITS_LOOK, FrontReader, Look, NAME_LOOK, SECOND_LOOK, SHARP_LOOK, Value, merge_reads};
use super::labels::{Field, edit_distance, label_of};
use super::text::{Line, Printed};
use super::value_text::line_name;
use crate::identity::FrontFields;
use crate::identity::iin::IIN_LENGTH;
use crate::identity::spelling::is_patronymic;

/// At most this many lines are read looking for one value: the search costs a
/// Tesseract line read (10–30 ms) per candidate.
const MAX_READS: usize = 8;

/// The looks a search reads its candidates with, in turn: as names are first
/// read, then sharpened, for a blurred photo.
const SEARCH_LOOKS: [Look; 2] = [NAME_LOOK, SHARP_LOOK];

/// How wide a capital letter is, in letter heights, in the narrowest and the
/// widest fonts a document prints names in (condensed sans to bold serif).
pub(super) const LETTER_WIDTH: (f64, f64) = (0.5, 1.3);

/// How wide a digit is, in digit heights, in the fonts documents print numbers in.
pub(super) const DIGIT_WIDTH: (f64, f64) = (0.45, 1.2);

impl FrontReader {
    /// The line, not among `taken`, whose text is a name `accept` takes (it gets
    /// the grey side, the line and its read, and returns the name to keep), with
    /// room for `letters` (fewest, most) letters; lines in larger print than the
    /// side's smallest (its labels) only, largest print first.
    pub(super) fn find_name(
        &mut self,
        printed: &Printed,
        taken: &[Line],
        letters: (usize, usize),
        accept: impl Fn(&Mat, Line, &str) -> Result<Option<String>, VisionError>,
    ) -> Result<Option<(String, Value)>, VisionError> {
        let (gray, ink) = (&printed.gray, &printed.ink);
        let fits = |l: &Line| has_room(l, letters, LETTER_WIDTH);
        let free = printed.free(taken);
        // Values are printed larger than labels: only lines in larger print than
        // the side's labels, largest print first (top first among alike), so a
        // page's many small labels do not use up the reads before its names, nor
        // a card's larger IIN keep its names out. The labels' print is taken from
        // every line, not only from those shaped like the name: a label in three
        // languages is no name's shape, and the name itself would then set it.
        let label_print = label_print(&free);
        let mut fitting: Vec<Line> = free.into_iter().filter(|l| fits(l) && l.letters * 20 >= label_print * 23).collect();
        fitting.sort_by_key(|l| (std::cmp::Reverse(l.letters), l.rect.y));
        let values: Vec<Value> = fitting.into_iter().take(MAX_READS).map(|l| Value::of(ink, l)).collect::<Result<_, _>>()?;
        // First what was read of these lines already, at any look: a search for
        // the IIN reads every line shaped for twelve digits, names among them,
        // and that look may read a blurred name the name looks do not.
        for &value in &values {
            for read in self.names_read(printed, value) {
                if let Some(name) = accept(gray, value.line, &read)? {
                    return Ok(Some((name, value)));
                }
            }
        }
        // Sharpened only when no line read as the name: a blurred photo.
        for look in SEARCH_LOOKS {
            for &value in &values {
                if let Some(read) = line_name(&self.read_line(printed, value.line, look)?, value.words)
                    && let Some(name) = accept(gray, value.line, &read)?
                {
                    return Ok(Some((name, value)));
                }
            }
        }
        // The Kazakh model can misread a letter in every look that the Russian
        // model reads right (ЬГ as Ы in ОЛЬГА, bold serif, a moderate page of
        // tuning seed 61): its first read with the Russian model's letters
        // ([`merge_reads`]), which the MRZ must still accept.
        // Only a first read with as many letters as the name (the MRZ drops Ь
        // and Ъ) is asked about: 10-30 ms a read.
        let as_long = |name: &str| (letters.0..=letters.1).contains(&name.chars().filter(|c| c.is_alphabetic() && !matches!(c, 'Ь' | 'Ъ')).count());
        for &value in &values {
            let Some(first) = self.names_read(printed, value).into_iter().next().filter(|n| as_long(n)) else { continue };
            if let Some(russian) = self.russian_name(printed, value)?
                && let Some(merged) = merge_reads(&first, &russian)
                && let Some(name) = accept(gray, value.line, &merged)?
            {
                return Ok(Some((name, value)));
            }
        }
        Ok(None)
    }

    /// The printed IIN when its label was not read (a card's ЖСН / ИИН in print
    /// too small to read): a line among `lines`, not among `taken`, shaped for
    /// twelve digits, that reads as twelve digits; largest print first. Returns
    /// where it was and what [`FrontReader::read_value`] returns; the value is
    /// stored in `fields` and confirmed like one found under its label.
    pub(super) fn find_iin(
        &mut self,
        printed: &Printed,
        taken: &[Line],
        fields: &mut FrontFields,
    ) -> Result<Option<(Value, Look, f32)>, VisionError> {
        let fits = |l: &Line| has_room(l, (IIN_LENGTH, IIN_LENGTH), DIGIT_WIDTH);
        let mut fitting: Vec<Line> = printed.free(taken).into_iter().filter(fits).collect();
        fitting.sort_by_key(|l| (std::cmp::Reverse(l.letters), l.rect.y));
        // A card front prints five values alike in size (three names, the birth
        // date, the IIN) and any of them fits twelve digits: enough reads to reach
        // each, wherever the layout puts the IIN (the fifth and last on tuning seed
        // 19's cards, whose labels read as nothing).
        for line in fitting.into_iter().take(MAX_READS) {
            let value = Value::of(&printed.ink, line)?;
            if let Some((look, least)) = self.read_value(printed, Field::Iin, value, &[DIGITS_LOOK], fields)? {
                return Ok(Some((value, look, least)));
            }
            // Digits, but not twelve: a narrow font's run together when squeezed
            // (620320479733 as 60032047973, tuning seed 37). Read at their own width.
            if reads_as_digits(&self.read_line(printed, value.line, DIGITS_LOOK)?)
                && let Some((look, least)) = self.read_value(printed, Field::Iin, value, &[SECOND_LOOK], fields)?
            {
                return Ok(Some((value, look, least)));
            }
        }
        Ok(None)
    }

    /// The patronymic printed under the given names (`given`, whose Latin form the
    /// MRZ spells `latin`): the nearest line below it in the same column, in print
    /// about as large, that reads as one word with a patronymic's ending. None
    /// found, `fields` says whether one may be printed there, misread
    /// ([`Self::patronymic_misread_under`]).
    pub(super) fn find_patronymic(
        &mut self,
        printed: &Printed,
        taken: &[Line],
        given: Line,
        latin: &str,
        fields: &mut FrontFields,
    ) -> Result<Option<(String, Value)>, VisionError> {
        let below = |l: &Line| where_patronymic_is_printed(given, l);
        let values: Vec<Value> =
            printed.free(taken).into_iter().filter(below).take(MAX_READS / 2).map(|l| Value::of(&printed.ink, l)).collect::<Result<_, _>>()?;
        // A slash parts a line's languages (a nationality, a place of birth): a line
        // read with one at the first look is no patronymic, and is not read again.
        let mut parted = vec![false; values.len()];
        // First what was read of these lines already, at any look ([`Self::find_name`]),
        // the words counted in the read: blur breaks a word's ink apart (a
        // patronymic in four pieces on a moderate tuning photo, seed 41).
        for &value in &values {
            let one_name = |n: &String| n.split_whitespace().count() <= 2 && is_patronymic(n);
            if let Some(name) = self.names_read(printed, value).into_iter().find(one_name) {
                return Ok(Some((name, value)));
            }
        }
        for look in SEARCH_LOOKS {
            for (i, &value) in values.iter().enumerate() {
                // Three words are a place or an authority, never a patronymic. Two
                // are a father's name and ҰЛЫ or ҚЫЗЫ, or one word whose blurred
                // letter broke apart in the ink (С and the stem of an Е, tuning seed
                // 13), which Tesseract, seeing the grey, reads as one.
                if value.words > 2 || parted[i] {
                    continue;
                }
                let read = self.read_line(printed, value.line, look)?;
                parted[i] = read.contains('/');
                if let Some(name) = line_name(&read, value.words).filter(|n| is_patronymic(n)) {
                    return Ok(Some((name, value)));
                }
            }
        }
        fields.patronymic_unknown = self.patronymic_misread_under(printed, taken, given, latin)?;
        Ok(None)
    }
}

impl FrontReader {
    /// `first`, the patronymic first read on `value`, stored in `fields` as read
    /// surely ([`Self::sure_patronymic`]) and confirmed; else as first read, not.
    pub(super) fn settle_patronymic(&mut self, printed: &Printed, value: Value, first: String, fields: &mut FrontFields) -> Result<(), VisionError> {
        let sure = self.sure_patronymic(printed, value, &first)?;
        fields.confirmed.patronymic = sure.is_some();
        fields.patronymic = Some(sure.unwrap_or(first));
        Ok(())
    }

    /// The names the Kazakh model has read on `value` so far, at any look.
    pub(super) fn names_read(&self, printed: &Printed, value: Value) -> Vec<String> {
        self.texts_read(printed, value).into_iter().filter_map(|text| line_name(text, value.words)).collect()
    }

    /// Whether the nearest line under the given names (`given`), where a
    /// patronymic is printed, was read ([`Self::find_patronymic`]) as a name's
    /// letters but not as a patronymic (ЖАНДОСҚЫ for ЖАНДОСҚЫЗЫ on a hard tuning
    /// card): one is printed there, misread, and null would say none is. A
    /// date or a number there, a label, a place in two languages (a slash), or
    /// a line never read, says none is printed. A line reading as the given
    /// names' Latin form (`latin`, the MRZ's), printed under them on a passport
    /// page, is passed over.
    fn patronymic_misread_under(&self, printed: &Printed, taken: &[Line], given: Line, latin: &str) -> Result<bool, VisionError> {
        let mut under: Vec<Line> = printed.free(taken).into_iter().filter(|l| where_patronymic_is_printed(given, l)).collect();
        under.sort_by_key(|l| l.rect.y);
        for line in under {
            let reads = self.texts_read(printed, Value::of(&printed.ink, line)?);
            if reads.iter().any(|text| reads_as_latin(text, latin)) {
                continue;
            }
            let other = |text: &&str| text.chars().any(|c| c.is_ascii_digit() || c == '/') || label_of(text).is_some();
            let letters = |text: &&str| text.chars().filter(|c| c.is_alphabetic()).count();
            return Ok(!reads.iter().any(other) && reads.iter().any(|text| letters(text) >= PATRONYMIC_LETTERS));
        }
        Ok(false)
    }
}

/// Whether a read of the Kazakh model, its Cyrillic letters taken for the Latin
/// ones they look like or stand for when a Cyrillic model reads Latin (Д for
/// D), is `latin` with three in five of its letters or fewer misread: УНАМІВЕК
/// for ZHANIBEK, КОНАІДІ for KURALAI (a clean tuning page, its Latin print
/// smaller than the Cyrillic and read by a Cyrillic model), 8НҮМАН for SHYNAR.
fn reads_as_latin(text: &str, latin: &str) -> bool {
    const LOOKALIKES: [(char, char); 15] = [
        ('А', 'A'), ('В', 'B'), ('Д', 'D'), ('Е', 'E'), ('К', 'K'), ('М', 'M'), ('Н', 'H'), ('О', 'O'),
        ('Р', 'P'), ('С', 'C'), ('Т', 'T'), ('У', 'Y'), ('Ү', 'Y'), ('Х', 'X'), ('І', 'I'),
    ];
    let read: Vec<char> = text
        .to_uppercase()
        .chars()
        .filter(|c| c.is_alphabetic())
        .map(|c| LOOKALIKES.iter().find(|(cyrillic, _)| *cyrillic == c).map_or(c, |(_, l)| *l))
        .collect();
    let latin: Vec<char> = latin.chars().filter(char::is_ascii_alphabetic).collect();
    !latin.is_empty() && !read.is_empty() && edit_distance(&read, &latin) * 5 <= latin.len() * 3
}

/// The fewest letters of a patronymic (ӘЛИ ҰЛЫ).
const PATRONYMIC_LETTERS: usize = 5;

/// Whether `line` is where a patronymic is printed, given the given names' line:
/// below it in the same column, within eight letter heights, in print about as large.
pub(super) fn where_patronymic_is_printed(given: Line, line: &Line) -> bool {
    let h = given.letters;
    line.rect.y > given.rect.y
        && line.letters * 4 >= h * 3
        && line.letters <= h * 3 / 2
        && (line.rect.x - given.rect.x).abs() <= 3 * h
        && line.rect.y - given.rect.y <= 8 * h
}

/// Whether a read is a number, whatever its length: digits (nine or more) and
/// nothing that is a letter.
fn reads_as_digits(text: &str) -> bool {
    text.chars().filter(char::is_ascii_digit).count() >= 9 && !text.chars().any(char::is_alphabetic)
}

/// Whether `line` is as wide as `count` (fewest, most) characters, give or take
/// one, each `width` (narrowest, widest) letter heights wide.
pub(super) fn has_room(line: &Line, count: (usize, usize), width: (f64, f64)) -> bool {
    let aspect = f64::from(line.rect.width) / f64::from(line.letters.max(1));
    aspect >= width.0 * (count.0 as f64 - 1.0) && aspect <= width.1 * (count.1 as f64 + 1.0)
}

/// How tall a side's smallest print (its labels) is: the lower quartile of its
/// lines' letters, so a speck or a rule read as a line does not set it.
fn label_print(lines: &[Line]) -> i32 {
    let mut letters: Vec<i32> = lines.iter().map(|l| l.letters).collect();
    letters.sort_unstable();
    letters.get(letters.len() / 4).copied().unwrap_or(0)
}

/// How many Cyrillic letters a name the MRZ spells `latin` has, at fewest and at
/// most: ICAO 9303 writes some letters as two or four (Ж → ZH, Щ → SHCH, Я → IA).
pub fn cyrillic_letters(latin: &str) -> (usize, usize) {
    let most = latin.chars().filter(char::is_ascii_alphabetic).count();
    let pairs = ["ZH", "KH", "TS", "CH", "SH", "IU", "IA"].iter().map(|p| latin.matches(p).count()).sum::<usize>();
    (most.saturating_sub(pairs + latin.matches("SHCH").count()), most)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_printed_in_latin_read_by_a_cyrillic_model_is_told_from_a_misread_patronymic() {
        // The given names' Latin form under them on tuning pages, as the Kazakh model reads it.
        assert!(reads_as_latin("УНАМІВЕК", "ZHANIBEK"));
        assert!(reads_as_latin("КОНАІДІ", "KURALAI"));
        assert!(reads_as_latin("МОВАТ", "MURAT"));
        // Ү for Y (a moderate tuning page turned a quarter, seed 43).
        assert!(reads_as_latin("8НҮМАН", "SHYNAR"));
        // Patronymics misread on hard tuning cards, under given names whose Latin is another word.
        assert!(!reads_as_latin("ЖАНДОСҚЫ", "ASEL"));
        assert!(!reads_as_latin("СЕРГЕРЕН", "NATALIA"));
        assert!(!reads_as_latin("АСҚАРҮлЛЫ", "ALIKHAN"));
        assert!(!reads_as_latin("", "ALIKHAN"));
    }

    #[test]
    fn a_latin_name_says_how_many_cyrillic_letters_to_expect() {
        assert_eq!(cyrillic_letters("SHCHERBAEVA"), (8, 11)); // ЩЕРБАЕВА: 8
        assert_eq!(cyrillic_letters("ZHUKOV"), (5, 6)); // ЖУКОВ: 5
        assert_eq!(cyrillic_letters("ANNA MARIIA"), (9, 10)); // АННА МАРИЯ: 9 letters
    }
}
