//! Reading the printed front of a Kazakh ID card with Tesseract's Kazakh model.
//! Enters: the rectified front with its portraits blanked ([`super::reader`]).
//! Leaves: the five printed fields as text; judging them is `identity`'s work.
//! Never logs what it reads.
//!
//! The fast way reads single lines only. Text lines are found by their ink; a
//! line standing on top of one with taller letters is a label with its value;
//! the label's first word says which field it is, and only then is the value
//! read, each line turned level and shown to Tesseract no wider than it needs
//! (its LSTM's time grows with a line's width in line heights, so the title rows,
//! the specimen mark and the Russian halves of the labels are never read). A
//! value that does not parse, or an IIN that does not check out, gets a second
//! look, and the IIN and birth date are read twice: only a value two looks agree
//! on, one of them sure of every glyph, is confirmed (a birth date that reads as
//! the date of a confirmed IIN is confirmed by it). There is no slow way: a
//! whole-card block read cost a second and more.

use std::collections::HashSet;
use std::path::PathBuf;

use opencv::core::{Mat, Rect, Size};
use opencv::imgproc;

use super::VisionError;
use super::labels::{Field, LabelKind, label_of};
use super::ocr::gray_of;
use super::read_cache::ReadCache;
use super::tesseract::{Glyph, Layout, Tesseract};
use super::text::{Line, Printed, level_line, lines_under, words};
use super::value_text::{date_value, iin_value, line_name, name_value};
use crate::identity::spelling::is_patronymic;
use crate::identity::{FrontFields, Iin, Mrz};

/// The front's alphabet: Kazakh and Russian Cyrillic, digits and the date and
/// number punctuation; Latin letters on the front are only guilloche noise.
const FRONT_ALPHABET: &str = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя\
                              ӘәҒғҚқҢңӨөҰұҮүҺһІі0123456789./-№ ";
/// Where Debian's tesseract-ocr-kaz puts its model.
const SYSTEM_TESSDATA: [&str; 2] = ["/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata"];

/// Russian letters and digits: the second opinion's alphabet.
pub(super) const RUSSIAN_ALPHABET: &str = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ0123456789- ";

/// Reads the printed side of a Kazakh ID card.
pub struct FrontReader {
    pub(super) ocr: Tesseract,
    /// What the Kazakh model read of the page being read.
    seen: ReadCache,
    /// Tesseract's Russian model: trained on other fonts than the Kazakh one, it
    /// is an independent second read of a name the MRZ disagrees with (the Kazakh
    /// model takes a bold Щ for Ш, say). It has no Kazakh letters, so it is only
    /// asked about the letters the first read got wrong ([`merge_reads`]).
    pub(super) russian: Option<Tesseract>,
    /// Tesseract's English model, digits only: a third reader of a printed IIN the
    /// MRZ disagrees with (the Kazakh model reads PT Sans Narrow's 3 as 5 at every
    /// look, and the Russian one a 3 twice, on a clean page of tuning seed 29).
    /// Loaded when first needed ([`super::number_readers`]).
    pub(super) english: Option<Option<Tesseract>>,
    pub(super) tessdata: PathBuf,
}

/// What the line reader read.
pub struct LineRead {
    pub fields: FrontFields,
    /// Where each value was found, for a re-read.
    pub found: Vec<(Field, Value)>,
    /// The side as it was looked at, for the searches that may follow.
    pub printed: Printed,
    /// Whether its print could be read at all (a passport page's MRZ-led pass
    /// says; see [`super::mrz_led::Led::illegible`]): the searches skip a page
    /// whose print cannot.
    pub legible: bool,
    /// The printed IIN read alike by two looks sure of every digit, but no
    /// printed birth date read with its date: the MRZ's may vouch for it.
    pub iin_date_unvouched: bool,
}

/// How a line is shown to Tesseract: cut out with room for diacritics and
/// descenders, its letters scaled to `height` pixels and the whole drawn
/// `squeeze` times as wide. Tesseract brings every line to its network's height
/// before the LSTM, so a line's aspect, not its size, is its cost; the size only
/// matters to Tesseract's own thresholding, which wants letters well above 10 px.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) struct Look {
    height: f64,
    squeeze: f64,
    filter: Filter,
}

/// What is done to a line, once scaled, before Tesseract sees it.
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Filter {
    Grey,
    /// Binarised (Otsu on the line alone): another view of a faint or
    /// busy-backed line than Tesseract's own thresholding.
    Binary,
    /// Unsharp-masked: a blurred photo's strokes run into each other, and
    /// Tesseract reads them as other letters or as nothing (a tilted card under
    /// a lamp, tuning seed 17: ШЫҢҒЫС read as no name until sharpened).
    Sharpened,
}

/// Labels are only told apart, and a misread one is read again in full.
const LABEL_LOOK: Look = Look { height: 20.0, squeeze: 0.7, filter: Filter::Grey };
/// The words of a line that can make it a label: "ТУҒАН КҮНІ / ДАТА РОЖДЕНИЯ"
/// with its first word misread still names the birth date by its fifth. A line
/// read further is a title row or a header across the document (1850 px wide,
/// 100 ms a read on a card front of the tuning split).
const LABEL_WORDS: usize = 6;
/// So many lines in a row under which a value sits read as no label: the page's
/// labels are too small or blurred to read, and the rest would read as noise too
/// (30-40 reads, 80-120 ms, on a tuning passport photographed small). One label
/// read by chance among the noise no longer lets the rest be read.
const LABELS_TO_JUDGE: usize = 6;
/// No value or label is wider than this many letter heights (a double-barrelled
/// surname is 12, a label in three languages up to its sixth word 27); a wider
/// line is a header or a row of guilloche run together, and Tesseract's time
/// grows with width: 120 ms for one such read on a tuning passport (seed 13).
const MAX_READ_ASPECT: i32 = 32;
/// Names have no check digit: at their own proportions, as trained.
pub(super) const NAME_LOOK: Look = Look { height: 24.0, squeeze: 1.0, filter: Filter::Grey };
/// Digits stay distinct when narrowed, and the IIN's check digit and the birth
/// date it carries catch the rare misread.
pub(super) const DIGITS_LOOK: Look = Look { height: 24.0, squeeze: 0.7, filter: Filter::Grey };
/// The second look at a value that did not parse or check out: larger and at
/// full width, for blurred photos.
pub(super) const SECOND_LOOK: Look = Look { height: 32.0, squeeze: 1.0, filter: Filter::Grey };
/// A look unlike the first two, to confirm what the second one read.
pub(super) const THIRD_LOOK: Look = Look { height: 28.0, squeeze: 0.85, filter: Filter::Grey };
/// How sure Tesseract must be of every digit of a printed IIN or birth date, in
/// the surer of the two reads that agree, before the value may accuse a document.
/// Tuning set: the tuning split's ID cards (gen_documents.py seed 5, clean,
/// moderate and hard): of 35 agreeing pairs the surer read's least digit was
/// 99.1 or more, while the narrowed first look alone fell to 36 on right digits.
/// Check set: the held-out split, in `cargo bench --bench documents`.
const SURE_GLYPH: f32 = 90.0;
/// How sure one read must be of every letter of a patronymic to stand alone.
/// Clean print reads at 98.5-99 (tuning seeds 5/13/17/19/23, 138 patronymic
/// reads); the three misreads among them had their least letter at 88-93.
const SURE_NAME_LETTER: f32 = 97.0;
/// The Russian model's read of a name line, in the page's [`ReadCache`]: a key no
/// [`Look`] of the Kazakh model has (its filter slot holds no [`Filter`]).
const RUSSIAN_READ: [u64; 3] = [0, 0, u64::MAX];
/// Names the MRZ disagrees with are read again these ways.
const REREAD_LOOKS: [Look; 4] = [SECOND_LOOK, THIRD_LOOK, BINARY_LOOK, SHARP_LOOK];
/// Sharpened first: for blurred photos.
pub(super) const SHARP_LOOK: Look = Look { height: 28.0, squeeze: 1.0, filter: Filter::Sharpened };
/// Binarised first: a look unlike the other three.
const BINARY_LOOK: Look = Look { height: 28.0, squeeze: 1.0, filter: Filter::Binary };

impl FrontReader {
    pub fn load() -> Result<Self, VisionError> {
        let datapath = SYSTEM_TESSDATA.iter().map(PathBuf::from).find(|p| p.join("kaz.traineddata").exists()).ok_or_else(|| {
            VisionError::Model {
                path: "kaz.traineddata".into(),
                reason: "Tesseract's Kazakh model is missing; install tesseract-ocr-kaz (scripts/setup does)".into(),
            }
        })?;
        let mut ocr = Tesseract::new(&datapath, "kaz", FRONT_ALPHABET)?;
        // Tesseract reads a doubtful line a second time as white on black; the
        // card prints none, and a doubtful label is read again in full anyway.
        ocr.set_variable("tessedit_do_invert", "0")?;
        // Optional: without it a disagreeing name is only re-read the Kazakh model's ways.
        let russian = Tesseract::new(&datapath, "rus", RUSSIAN_ALPHABET)
            .inspect_err(|e| tracing::warn!(error = %e, "no second opinion on printed names (install tesseract-ocr-rus)"))
            .ok();
        Ok(Self { ocr, russian, english: None, tessdata: datapath, seen: ReadCache::default() })
    }

    /// The fast way (see the module comment), on the front or page with its
    /// portraits blanked. A passport page's MRZ, read before its printed zone,
    /// leads the way ([`super::mrz_led`]): labels are read only for what it did
    /// not find, and a printed IIN or birth date that reads as the MRZ says is two
    /// independent sources agreeing, confirmed without a second look.
    pub fn read_lines(&mut self, masked: &Mat, mrz: Option<&Mrz>) -> Result<LineRead, VisionError> {
        let printed = Printed::of(gray_of(masked)?)?;
        let (ink, lines) = (&printed.ink, &printed.lines);
        let mut fields = FrontFields::default();
        let (mut values, settled, legible): (Vec<(Field, Value, Look, f32)>, bool, bool) = match mrz {
            Some(mrz) => {
                let led = self.read_as_mrz_says(&printed, mrz, &mut fields)?;
                (led.found.into_iter().map(|(f, v, l)| (f, v, l, 100.0)).collect(), led.settled, !led.illegible)
            }
            None => (Vec::new(), false, true),
        };
        // Print too small or blurred to read: its labels and values would read as
        // noise too (40-70 reads, 100-300 ms a page on the tuning split). The
        // MRZ's fields stand; the printed names are reported unconfirmed.
        if !legible {
            self.confirm_patronymic(&printed, &values, &mut fields)?;
            return Ok(LineRead { fields, found: Vec::new(), printed, legible, iin_date_unvouched: false });
        }
        let (known_iin, known_birth) = (mrz.and_then(Mrz::iin_candidate), mrz.and_then(|m| m.birth_date));
        let found_at = |values: &[(Field, Value, Look, f32)], line: Line| values.iter().any(|(_, v, ..)| v.line.is_also(&line));
        // Value lines whose label has been read, and label lines known to say what
        // a label already read said.
        let (mut labelled, mut said): (HashSet<usize>, HashSet<usize>) = Default::default();
        let mut unnamed = 0;
        for i in 0..lines.len() {
            if settled || values.len() == Field::ALL.len() || unnamed == LABELS_TO_JUDGE {
                break;
            }
            if said.contains(&i) {
                continue;
            }
            let Some(at) = value_under(lines, i, false) else {
                continue;
            };
            // A label in three languages is three lines over one value: once one of
            // them is read as a label, the others say the same and are not read.
            if labelled.contains(&at) || found_at(&values, lines[at]) {
                continue;
            }
            let kind = self.read_label(&printed, lines[i])?;
            unnamed = if kind.is_some() { 0 } else { unnamed + 1 };
            match kind {
                Some(LabelKind::Field(_)) => _ = labelled.insert(at),
                // Another label's value may be smaller than a value of ours, and then
                // the line found under it is the next field's (a passport's nationality
                // over the birth date beside it): only the label's own other lines,
                // as large as it, are passed over.
                Some(LabelKind::Other) => said.extend(
                    lines_under_chain(&lines, i, false).into_iter().take_while(|&j| j != at && (lines[j].letters - lines[i].letters).abs() * 10 <= lines[i].letters),
                ),
                None => {}
            }
            let Some(LabelKind::Field(field)) = kind else {
                continue;
            };
            if values.iter().any(|(f, ..)| *f == field) {
                continue;
            }
            let value = Value::of(&ink, lines[at])?;
            let first = if matches!(field, Field::Birth | Field::Iin) { DIGITS_LOOK } else { NAME_LOOK };
            if let Some((look, least)) = self.read_value(&printed, field, value, &[first, SECOND_LOOK], &mut fields)? {
                values.push((field, value, look, least));
            }
            // Every field found (checked as the loop starts): the lines below
            // are other fields' (a page's issuing authority, dates of issue), not read.
        }
        if !values.iter().any(|(f, ..)| *f == Field::Iin) {
            let taken: Vec<Line> = values.iter().map(|(_, v, ..)| v.line).collect();
            if let Some((value, look, least)) = self.find_iin(&printed, &taken, &mut fields)? {
                values.push((Field::Iin, value, look, least));
            }
        }
        // Digits decide whether a document is accused: each is read a second way,
        // and only a value two reads agree on, one of them sure of every glyph,
        // counts as confirmed. The IIN first: a birth date that reads as the date a
        // confirmed, valid IIN carries is two lines agreeing, and needs no second look.
        let mut digits: Vec<_> = values.iter().filter(|(f, ..)| matches!(f, Field::Birth | Field::Iin)).collect();
        digits.sort_by_key(|(f, ..)| *f != Field::Iin);
        for (field, value, used, first_least) in digits {
            if *field == Field::Birth
                && fields.confirmed.iin
                && let Some(iin) = fields.iin.as_deref().and_then(|i| Iin::parse(i).ok())
                && fields.birth_date == Some(iin.birth_date())
            {
                fields.confirmed.birth_date = true;
                continue;
            }
            let as_known = match field {
                Field::Birth => known_birth.is_some() && fields.birth_date == known_birth,
                _ => known_iin.is_some() && fields.iin.as_deref() == known_iin,
            };
            if as_known {
                match field {
                    Field::Birth => fields.confirmed.birth_date = true,
                    _ => fields.confirmed.iin = true,
                }
                continue;
            }
            let mut again = FrontFields::default();
            let mut agreed = false;
            let mut least = *first_least;
            for other in [SECOND_LOOK, THIRD_LOOK].into_iter().filter(|l| l != used) {
                let again_least = self.read_value(&printed, *field, *value, &[other], &mut again)?.map_or(0.0, |(_, c)| c);
                let (first, second) = match field {
                    Field::Birth => (fields.birth_date.map(|d| d.to_string()), again.birth_date.map(|d| d.to_string())),
                    _ => (fields.iin.clone(), again.iin.clone()),
                };
                if second.is_some() && first == second {
                    agreed = least.max(again_least) >= SURE_GLYPH;
                    break;
                }
                least = again_least;
                // Two reads differ: the larger look is the likelier, a third decides.
                match field {
                    Field::Birth => fields.birth_date = again.birth_date.or(fields.birth_date),
                    _ => fields.iin = again.iin.take().or(fields.iin.take()),
                }
            }
            match field {
                Field::Birth => fields.confirmed.birth_date = agreed,
                _ => fields.confirmed.iin = agreed,
            }
            // An IIN whose check digit fails accuses the card: a binarised look,
            // unlike both, must read the same digits too.
            if *field == Field::Iin && agreed && fields.iin.as_deref().is_some_and(|i| Iin::parse(i).is_err()) {
                let mut third = FrontFields::default();
                self.read_value(&printed, Field::Iin, *value, &[BINARY_LOOK], &mut third)?;
                fields.confirmed.iin = third.iin == fields.iin;
            }
        }
        // Two looks at one crop can share a misread: the IIN and the birth date,
        // read from different lines, must also carry the same date to count.
        let iin_date = fields.iin.as_deref().and_then(|i| i.get(..6)).map(str::to_string);
        let printed_date = fields.birth_date.map(|d| d.yymmdd());
        let read_alike = fields.confirmed.iin;
        if iin_date.is_none() || iin_date != printed_date {
            fields.confirmed.iin = false;
            fields.confirmed.birth_date = false;
        }
        // One font can misread a digit alike on both lines (3 as 5 in the birth date
        // and in the IIN): a birth date accuses only beside an IIN confirmed too.
        fields.confirmed.birth_date &= fields.confirmed.iin;
        self.confirm_patronymic(&printed, &values, &mut fields)?;
        let found = values.iter().map(|(f, v, ..)| (*f, *v)).collect();
        Ok(LineRead { iin_date_unvouched: read_alike && !fields.confirmed.iin, fields, found, printed, legible })
    }

    /// The patronymic among `values` as read surely, confirmed ([`Self::sure_patronymic`]).
    fn confirm_patronymic(&mut self, printed: &Printed, values: &[(Field, Value, Look, f32)], fields: &mut FrontFields) -> Result<(), VisionError> {
        if let (Some(first), Some((_, value, ..))) = (fields.patronymic.clone(), values.iter().find(|(f, ..)| *f == Field::Patronymic)) {
            self.settle_patronymic(printed, *value, first, fields)?;
        }
        Ok(())
    }

    /// Which label a line is. Its first word is mostly enough and a third of its
    /// length; when that word names nothing, the line is read up to its
    /// [`LABEL_WORDS`]th word.
    fn read_label(&mut self, printed: &Printed, label: Line) -> Result<Option<LabelKind>, VisionError> {
        // Specks narrower than half a letter are not a word.
        let words: Vec<Line> = words(&printed.ink, label)?.into_iter().filter(|w| w.rect.width * 2 >= w.letters).collect();
        if let Some(&word) = words.first().filter(|w| **w != label)
            && let Some(kind) = label_of(&self.read_line(printed, word, LABEL_LOOK)?)
        {
            return Ok(Some(kind));
        }
        let line = match words.get(LABEL_WORDS - 1) {
            Some(last) => Line { rect: Rect::new(label.rect.x, label.rect.y, last.rect.x + last.rect.width - label.rect.x, label.rect.height), ..label },
            None => label,
        };
        Ok(label_of(&self.read_line(printed, line, LABEL_LOOK)?))
    }

    /// A value under its label, through `looks` until one reads as that kind of
    /// value; stores it and returns the look that did, with how sure Tesseract was
    /// of its least certain glyph ([`super::tesseract::Glyph::confidence`]).
    pub(super) fn read_value(
        &mut self,
        printed: &Printed,
        kind: Field,
        value: Value,
        looks: &[Look],
        fields: &mut FrontFields,
    ) -> Result<Option<(Look, f32)>, VisionError> {
        for look in looks {
            let (text, glyphs) = self.look_at(printed, value.line, *look)?;
            let text = text.trim();
            let found = match kind {
                Field::Surname => fill(&mut fields.surname, name_value(text, value.words)),
                Field::Given => fill(&mut fields.given_names, name_value(text, value.words)),
                // No MRZ checks a patronymic: a read that is none is not one.
                Field::Patronymic => fill(&mut fields.patronymic, name_value(text, value.words).filter(|n| is_patronymic(n))),
                Field::Birth => fill(&mut fields.birth_date, date_value(text)),
                Field::Iin => fill(&mut fields.iin, iin_value(text)),
            };
            if found {
                return Ok(Some((*look, least_sure(&glyphs))));
            }
        }
        Ok(None)
    }

    /// The patronymic on `value`, first read as `first`, read surely: `first` read
    /// by a look sure of every letter ([`SURE_NAME_LETTER`]), or else the name of
    /// that form most looks read, two at least, the Russian model deciding a tie;
    /// `None` when none is. No other source checks a patronymic, and a blurred one reads
    /// as another name with the same ending (СЕРГЕЕВИЧ as ЖТЕҒВИЧ, tuning seed
    /// 13), which is worse for the registration than none. A first read that
    /// slipped (БЛАДИМИРОВИЧ on a moderate page of tuning seed 37, two looks
    /// against two, ВЛАДИМИРОВИЧ to the Russian model) is not the patronymic for
    /// being first; two against two in a Kazakh letter (СЕРІКҰЛЫ and СЕРІҚҰЛЫ on a
    /// hard card of tuning seed 13) is not known. The looks a line was read with are kept
    /// ([`ReadCache`]): a sure first read costs nothing more.
    pub(super) fn sure_patronymic(&mut self, printed: &Printed, value: Value, first: &str) -> Result<Option<String>, VisionError> {
        let mut votes: Vec<(String, usize)> = Vec::new();
        for look in [NAME_LOOK, SHARP_LOOK, SECOND_LOOK, THIRD_LOOK] {
            let (text, glyphs) = self.look_at(printed, value.line, look)?;
            let Some(name) = line_name(text.trim(), value.words).filter(|n| is_patronymic(n)) else { continue };
            if name == first && least_sure(&glyphs) >= SURE_NAME_LETTER {
                return Ok(self.russian_allows(printed, value, &name)?.then_some(name));
            }
            match votes.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => *count += 1,
                None => votes.push((name, 1)),
            }
        }
        // The most read, twice at least; between as many, the Russian model
        // decides where it can (В and Б), and nothing where it cannot (К and Қ).
        let most = votes.iter().map(|(_, count)| *count).max().unwrap_or(0);
        let mut allowed = Vec::new();
        for (name, _) in votes.into_iter().filter(|(_, count)| *count == most && most >= 2) {
            if self.russian_allows(printed, value, &name)? {
                allowed.push(name);
            }
        }
        Ok(if allowed.len() == 1 { allowed.pop() } else { None })
    }

    /// The Kazakh model can be sure of a wrong letter in every look (В as Б,
    /// tuning seed 37): a patronymic of the Russian form (-ИЧ, -НА) must not read
    /// otherwise to the Russian model, which misreads the Kazakh form (-ҰЛЫ,
    /// -ҚЫЗЫ) as often as not.
    fn russian_allows(&mut self, printed: &Printed, value: Value, name: &str) -> Result<bool, VisionError> {
        if !(name.ends_with("ИЧ") || name.ends_with("НА")) {
            return Ok(true);
        }
        let russian = self.russian_name(printed, value)?;
        Ok(!russian.is_some_and(|r| super::signs::russian_contradicts(name, &r)))
    }

    /// Whether a look at `value` (a value of `field`) reads as `wanted` says, the
    /// looks tried in turn until one does. Not a confirmation on its own: how sure
    /// Tesseract is says little in a font whose 3 it reads as 5 (99.5 on the
    /// wrong digit, tuning seed 19); the caller has another source.
    pub(super) fn any_look_reads(
        &mut self,
        printed: &Printed,
        field: Field,
        value: Value,
        wanted: impl Fn(&FrontFields) -> bool,
    ) -> Result<bool, VisionError> {
        for look in [DIGITS_LOOK, SECOND_LOOK, THIRD_LOOK, BINARY_LOOK] {
            let mut read = FrontFields::default();
            self.read_value(printed, field, value, &[look], &mut read)?;
            if wanted(&read) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// One line's text, shown to Tesseract as `look` says.
    pub(super) fn read_line(&mut self, printed: &Printed, line: Line, look: Look) -> Result<String, VisionError> {
        Ok(self.look_at(printed, line, look)?.0.trim().to_string())
    }

    /// One line shown as `look` says, as Tesseract reads it, with its glyphs;
    /// read once per page and look ([`ReadCache`]).
    /// Only a line's first [`MAX_READ_ASPECT`] letter heights are read.
    fn look_at(&mut self, printed: &Printed, mut line: Line, look: Look) -> Result<(String, Vec<Glyph>), VisionError> {
        line.rect = read_rect(line);
        let Self { ocr, seen, .. } = self;
        let key = [look.height.to_bits(), look.squeeze.to_bits(), look.filter as u64];
        seen.get_or_read(printed.id, line.rect, key, || {
            let image = shown(&printed.gray, line, look)?;
            let read = ocr.read_glyphs(&image, Layout::Line)?;
            // A short word (КИМ, a clean card of tuning seed 41) can read as
            // nothing at all as a line, and read as a raw line.
            if read.0.trim().is_empty() { ocr.read_glyphs(&image, Layout::RawLine) } else { Ok(read) }
        })
    }

    /// What the Kazakh model has read of `value` so far, at any look.
    pub(super) fn texts_read(&self, printed: &Printed, value: Value) -> Vec<&str> {
        let kazakh = self.seen.reads_of(printed.id, read_rect(value.line)).into_iter().filter(|(look, _)| *look != RUSSIAN_READ);
        kazakh.map(|(_, text)| text.trim()).collect()
    }

    /// A name line as the Russian model reads it (`None` without that model).
    /// Read once per page and line ([`ReadCache`]): a name read again because the
    /// MRZ disagreed is asked about its Й and Ъ too ([`super::signs`]).
    pub(super) fn russian_name(&mut self, printed: &Printed, value: Value) -> Result<Option<String>, VisionError> {
        let Self { russian, seen, .. } = self;
        let Some(russian) = russian.as_mut() else { return Ok(None) };
        let (text, _) = seen.get_or_read(printed.id, value.line.rect, RUSSIAN_READ, || {
            // Larger than a first read: the tails of Щ and Ц are what it is asked about.
            let scaled = shown(&printed.gray, value.line, SECOND_LOOK)?;
            Ok::<_, VisionError>((russian.read(&scaled, Layout::Line)?, Vec::new()))
        })?;
        Ok(line_name(text.trim(), value.words))
    }

    /// A name line read again the other ways ([`REREAD_LOOKS`]), each read that
    /// gives a name, in order; then, when `first` (the first read) is given and the
    /// Russian model is there, `first` with the letters that model reads otherwise
    /// ([`merge_reads`]).
    pub fn reread_name(&mut self, printed: &Printed, value: Value, first: Option<&str>) -> Result<Vec<String>, VisionError> {
        let mut names = Vec::new();
        for look in REREAD_LOOKS {
            names.extend(line_name(&self.read_line(printed, value.line, look)?, value.words));
        }
        if let Some(first) = first
            && let Some(russian) = self.russian_name(printed, value)?
        {
            names.extend(merge_reads(first, &russian));
        }
        Ok(names)
    }
}

/// The part of `line` a look reads: its first [`MAX_READ_ASPECT`] letter heights.
fn read_rect(line: Line) -> Rect {
    Rect { width: line.rect.width.min(MAX_READ_ASPECT * line.letters.max(1)), ..line.rect }
}

/// How sure Tesseract was of the least certain character of a read.
fn least_sure(glyphs: &[Glyph]) -> f32 {
    glyphs.iter().filter(|g| !g.letter.is_whitespace()).map(|g| g.confidence).fold(100.0, f32::min)
}

/// A line cut out, levelled and scaled as `look` says.
pub(super) fn shown(gray: &Mat, line: Line, look: Look) -> Result<Mat, VisionError> {
    let level = level_line(gray, line)?;
    let scale = look.height / f64::from(line.letters);
    let interpolation = if scale > 1.0 { imgproc::INTER_CUBIC } else { imgproc::INTER_AREA };
    let mut scaled = Mat::default();
    imgproc::resize(&level, &mut scaled, Size::new(0, 0), scale * look.squeeze, scale, interpolation)?;
    match look.filter {
        Filter::Grey => {}
        Filter::Binary => {
            let mut binary = Mat::default();
            imgproc::threshold(&scaled, &mut binary, 0.0, 255.0, imgproc::THRESH_BINARY | imgproc::THRESH_OTSU)?;
            scaled = binary;
        }
        Filter::Sharpened => {
            // Twice the line less its blur over a fourteenth of a letter's height.
            let mut blurred = Mat::default();
            imgproc::gaussian_blur_def(&scaled, &mut blurred, Size::new(0, 0), look.height / 14.0)?;
            let mut sharp = Mat::default();
            opencv::core::add_weighted_def(&scaled, 2.0, &blurred, -1.0, 0.0, &mut sharp)?;
            scaled = sharp;
        }
    }
    Ok(scaled)
}

/// The Kazakh model's read with each letter the Russian model reads otherwise
/// taken from the Russian read, except where the Kazakh read has a Kazakh letter
/// drawn on the Russian one (Қ for К): the Russian model cannot see that
/// difference, so it has no say there. `None` when the reads differ in length
/// (they are not letter for letter) or the Russian read changes nothing.
pub(super) fn merge_reads(kazakh: &str, russian: &str) -> Option<String> {
    let (k, r): (Vec<char>, Vec<char>) = (kazakh.chars().collect(), russian.chars().collect());
    if k.len() != r.len() || k == r {
        return None;
    }
    let merged: Vec<char> = k.iter().zip(&r).map(|(&a, &b)| if a == b || drawn_on(a) == Some(b) { a } else { b }).collect();
    (merged != k).then(|| merged.into_iter().collect())
}

/// The Russian letter a Kazakh letter is drawn on.
pub(super) fn drawn_on(letter: char) -> Option<char> {
    Some(match letter {
        'Ә' => 'А',
        'Ғ' => 'Г',
        'Қ' => 'К',
        'Ң' => 'Н',
        'Ө' => 'О',
        'Ұ' | 'Ү' => 'У',
        'Һ' => 'Х',
        'І' => 'И',
        _ => return None,
    })
}

/// The value line that line `i`, as a label, governs, by the lines' shapes alone
/// (`marks`: see [`lines_under`]).
pub(super) fn value_under(lines: &[Line], i: usize, marks: bool) -> Option<usize> {
    let &under = lines_under(lines, i, marks).first()?;
    // A line over a much smaller one is a value over the next label.
    if lines[under].letters * 20 < lines[i].letters * 17 {
        return None;
    }
    // The value is the first line under the label in larger letters: a line like
    // the label's is more label (ТЕГІ over ФАМИЛИЯ over SURNAME). A line with
    // none under it is no label of ours.
    lines_under_chain(lines, i, marks).into_iter().find(|&j| lines[j].letters * 20 >= lines[i].letters * 23)
}

/// The lines going down from line `i`, each the nearest under the one before,
/// at most three: a stacked label's other lines, then its value.
fn lines_under_chain(lines: &[Line], i: usize, marks: bool) -> Vec<usize> {
    let mut chain = Vec::new();
    let mut at = i;
    while chain.len() < 3 {
        match lines_under(lines, at, marks).first() {
            Some(&next) => {
                chain.push(next);
                at = next;
            }
            None => break,
        }
    }
    chain
}

/// A value's line cut to its words (without specks of the portrait's edge or of
/// dust at either end), and how many words its ink shows.
#[derive(Clone, Copy, Debug)]
pub struct Value {
    pub(super) line: Line,
    pub(super) words: usize,
}

impl Value {
    pub(super) fn of(ink: &Mat, line: Line) -> Result<Self, VisionError> {
        let words: Vec<Line> = words(ink, line)?.into_iter().filter(|w| w.rect.width * 2 >= w.letters).collect();
        Ok(match (words.first(), words.last()) {
            (Some(a), Some(b)) => {
                let rect = Rect::new(a.rect.x, line.rect.y, b.rect.x + b.rect.width - a.rect.x, line.rect.height);
                Self { line: Line { rect, ..line }, words: words.len() }
            }
            _ => Self { line, words: 1 },
        })
    }
}

/// Stores a value that parsed; says whether it did.
fn fill<T>(slot: &mut Option<T>, value: Option<T>) -> bool {
    let found = value.is_some();
    if found {
        *slot = value;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_russian_read_only_corrects_letters_it_can_see() {
        // A bold Щ the Kazakh model takes for Ш.
        assert_eq!(merge_reads("ШЕРБАЕВА", "ЩЕРБАЕВА").as_deref(), Some("ЩЕРБАЕВА"));
        // Қ and Ә are Kazakh letters: the Russian model's К and А are no correction.
        assert_eq!(merge_reads("ҚАСЬМОВ", "КАСЫМОВ").as_deref(), Some("ҚАСЫМОВ"));
        assert_eq!(merge_reads("СӘУЛЕ", "САУЛЕ"), None, "nothing but a Kazakh letter differs");
        assert_eq!(merge_reads("ЖУКОВ", "ЖУКОВА"), None, "not letter for letter");
    }
}
