//! Reading the MRZ band of rectified documents: OCR-B glyph matching
//! ([`super::mrz_glyphs`]), then Tesseract ([`super::tesseract`]) with the
//! `mrz` model and a strict alphabet (the card front is
//! [`super::front`]'s). Enters: images from [`super::document`]. Leaves: text
//! lines; judging them is `identity`'s work.

use std::path::Path;

use opencv::core::{Mat, Rect, Size};
use opencv::imgproc;
use opencv::prelude::*;

use super::VisionError;
use super::document::DocumentShape;
use super::mrz_glyphs::{GlyphRead, GlyphReader, OCRB_FONT, band_rows};
use super::mrz_settle::{DigitsVouched, digits_vouched, names_vouched, settle, settle_in_part};
use super::tesseract::{Layout, MRZ_LANGUAGE, Tesseract};
use crate::identity::{Mrz, MrzFormat, names_columns};

pub use super::mrz_settle::MrzText;

pub const MRZ_MODEL: &str = "mrz.traineddata";
const MRZ_ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<";
/// Line images are scaled to this height (Tesseract reads OCR-B best around it).
const LINE_HEIGHT: f64 = 48.0;
/// A row read again at this height, to vouch for names the first read spelled
/// otherwise than the glyph matcher: another scale slips elsewhere.
const SECOND_LINE_HEIGHT: f64 = 40.0;

pub(super) fn gray_of(image: &Mat) -> Result<Mat, VisionError> {
    if image.channels() == 1 {
        return Ok(image.try_clone()?);
    }
    let mut gray = Mat::default();
    imgproc::cvt_color_def(image, &mut gray, imgproc::COLOR_BGR2GRAY)?;
    Ok(gray)
}

/// A glyph read is taken only when every cell matched a template at least this
/// well (normalised cross-correlation)...
/// Tuning set, for this and the margin below: benches/documents.rs's generated documents
/// (gen_documents.py seed 5 --count 6, MRZ in OCRB.otf at 41 px; clean and moderately
/// degraded documents scored 0.84 or more). Check set: tests/mrz_margins.rs (320 zones:
/// its own random people, OCRB.otf and OCRB Sharp from 48 px down to 24 px blurred, noisy
/// and JPEG-crushed), which prints both per condition: right reads' weakest 0.83 or more;
/// 15 wrong reads passed every check digit, all with a letter margin of 0.017 or less,
/// right ones 0.054 or more in 95 %; none wrong taken. (Its out-of-focus conditions,
/// added since, 128 zones more: see the letter-or-digit lead below.)
pub const GLYPH_MIN_SCORE: f32 = 0.6;
/// ...every letter-only cell beat the next letter by this much (names carry no
/// check digit; on the tuning set every wrong name read had a lead under
/// 0.01, right ones 0.03 or more, nearly all of them 0.06 or more)...
/// The same lead is asked of the letter or digit chosen in a cell either may
/// fill (a document number's 8 or B, 0 or O) over the best of the other kind:
/// a check digit passes such a slip one time in ten, and out of focus (the
/// check set's 4.5 px and 3.5 px blurs) four reads were taken with one.
pub const GLYPH_MIN_LETTER_MARGIN: f32 = 0.02;
// ...and every check digit passes. Otherwise Tesseract reads the band.

/// Reads machine-readable zones: OCR-B glyph matching first, Tesseract's
/// LSTM with the `mrz` model when that is not sure.
pub struct MrzReader {
    glyphs: GlyphReader,
    ocr: Tesseract,
    /// The last zone read's fallback ([`Self::take_fallback`]).
    fallback: Option<Vec<String>>,
}

impl MrzReader {
    /// `models_dir` holds `mrz.traineddata`.
    pub fn load(models_dir: &Path) -> Result<Self, VisionError> {
        Ok(Self { glyphs: GlyphReader::load(Path::new(OCRB_FONT))?, ocr: Tesseract::new(models_dir, MRZ_LANGUAGE, MRZ_ALPHABET)?, fallback: None })
    }

    /// The MRZ lines of a rectified document, fitted to the format's line length,
    /// or `None` when the band holds no line long enough to be one. Glyph matching
    /// is tried first; when it is unsure, Tesseract as far as `effort` allows.
    pub fn read(&mut self, rectified: &Mat, shape: DocumentShape, effort: Effort) -> Result<Option<MrzText>, VisionError> {
        self.read_band(rectified, mrz_band(rectified, shape), format_for(shape), effort)
    }

    /// [`Self::read`] on a band found by its shape ([`super::mrz_locate`]) rather
    /// than where ICAO 9303 puts it.
    pub fn read_band(&mut self, rectified: &Mat, band: Rect, format: MrzFormat, effort: Effort) -> Result<Option<MrzText>, VisionError> {
        self.fallback = None;
        let band = band & Rect::new(0, 0, rectified.cols(), rectified.rows());
        if band.width < 8 || band.height < 8 {
            return Ok(None);
        }
        let gray = gray_of(&Mat::roi(rectified, band)?.try_clone()?)?;
        let thorough = effort > Effort::Glyphs;
        // Every glyph matched, every check digit passing, the states named known
        // and a Kazakh document's IIN all digits: all but the letters, which no
        // check digit covers and only the letter margin vouches for. Check digits
        // pass one garbled number in ten by chance, and some slips never show
        // (S for 8, G for 6: equal mod 10); a blurred row garbles a number and KAZ
        // alike (tuning seed 23, a hard page: H5SRO7S29 for N55907529, XAZ for
        // KAZ, every check digit passing; seed 37: an IIN with S for 8).
        let checked = |read: &GlyphRead| {
            read.weakest >= GLYPH_MIN_SCORE
                && Mrz::parse(&read.lines).is_ok_and(|m| m.valid() && m.codes_known() && (m.issuing_state != "KAZ" || m.iin_candidate().is_some()))
        };
        let well_matched = |read: &GlyphRead| read.weakest >= GLYPH_MIN_SCORE && read.letter_margin() >= GLYPH_MIN_LETTER_MARGIN && read.mixed_margin >= GLYPH_MIN_LETTER_MARGIN;
        let sure = |read: &GlyphRead| checked(read) && well_matched(read);
        // Every check digit passing and a state unknown, or the IIN and the birth
        // date agreeing by their check digits (blur takes A for X, 3 for 5: KXZ on
        // hard tuning pages of seeds 17 and 61). Kept in case Tesseract reads no
        // better: a misread (a state or a check digit slipped), of which only what
        // its check digits cover is believed ([`Mrz::vouched`]). A read whose every
        // check digit passes, naming known states, is left to [`settle`]: two slips
        // can cancel in a check digit, and only Tesseract reading its digits alike
        // vouches for it.
        let digits_checked = |read: &GlyphRead| {
            read.weakest >= GLYPH_MIN_SCORE
                && digits_vouched(&read.lines) > DigitsVouched::None
                && Mrz::parse(&read.lines).is_ok_and(|m| !m.valid() || !m.codes_known())
        };
        let mut digits_only: Option<Vec<String>> = None;
        // A glyph read sure of every glyph whose check digits fail: the document's
        // own digits, if Tesseract reads the zone alike; else a misread of one of them.
        let mut failing_sure = None;
        // A read whose letters only are unsure: Tesseract's reading them alike
        // vouches for them, as a second reader, whatever its own digits.
        let mut unsure_letters: Option<GlyphRead> = None;
        let first = self.glyphs.read(&gray, format)?;
        if let Some(read) = first.as_ref().filter(|r| digits_checked(r)) {
            digits_only = Some(read.lines.clone());
        }
        match first {
            None if !thorough => return Ok(None),
            Some(read) if sure(&read) => return Ok(Some(MrzText::sure(read.lines))),
            Some(_) if !thorough => return Ok(None),
            Some(read) if checked(&read) => unsure_letters = Some(read),
            Some(read) if well_matched(&read) => failing_sure = Some(read.lines),
            _ => {}
        }
        // Levelled for Tesseract too, when the glyphs stay unsure; then against
        // print blurred past its strokes' width (a page photographed out of
        // focus), asked only now ([`GlyphReader::read_blurred`]).
        let gray = light_levelled(&gray)?;
        for blurred in [false, true] {
            let read = if blurred { self.glyphs.read_blurred(&gray, format)? } else { self.glyphs.read(&gray, format)? };
            let Some(read) = read else { continue };
            if sure(&read) {
                return Ok(Some(MrzText::sure(read.lines)));
            }
            if digits_checked(&read) && digits_only.as_ref().is_none_or(|d| digits_vouched(d) < digits_vouched(&read.lines)) {
                digits_only = Some(read.lines.clone());
            }
            if unsure_letters.is_none() && checked(&read) {
                unsure_letters = Some(read);
            } else if failing_sure.is_none() && well_matched(&read) {
                failing_sure = Some(read.lines);
            }
        }
        // Only its letters unsure, and those on some lines only (a name's O or D):
        // Tesseract reads those lines, the glyphs stand for the rest (75 ms a line).
        let vouched = |line: usize| {
            failing_sure.is_none() && unsure_letters.as_ref().is_some_and(|r| r.line_letter_margins[line] >= GLYPH_MIN_LETTER_MARGIN)
        };
        let count = format.line_count();
        let partly = (0..count).any(vouched);
        let settled = |tesseract: Vec<String>| match &unsure_letters {
            Some(read) if partly => settle_in_part(tesseract, &read.lines, format),
            _ => settle(tesseract, unsure_letters.as_ref().map(|r| &r.lines), failing_sure.as_ref(), format),
        };
        let lines = band_rows(&gray)?;
        // MRZ rows run across nine tenths of the document; a band taken blind on
        // a card front (a card scanned with a margin has a page's proportions)
        // holds shorter lines, which Tesseract read for 25-125 ms a front to no end.
        if lines.len() >= count && lines[lines.len() - count..].iter().all(|&(top, bottom)| spans_band(&gray, top, bottom).unwrap_or(true)) {
            let mut rows = Vec::with_capacity(count);
            for (i, (top, bottom)) in lines[lines.len() - count..].iter().enumerate() {
                if vouched(i)
                    && let Some(read) = &unsure_letters
                {
                    rows.push(RowRead::Vouched(read.lines[i].clone()));
                    continue;
                }
                rows.push(RowRead::Read(self.read_row(&gray, (*top, *bottom), LINE_HEIGHT)?));
            }
            let text = without_marks_beside(rows, format.line_length()).join("\n");
            if let Some(fitted) = fit_mrz_lines(&text, format) {
                let mut read = settled(fitted);
                // Two readers spelled the names otherwise (TOLEGEMNOVA for the
                // glyphs' TOLEGENOVA, a hard page of tuning seed 67): Tesseract
                // reads their row again at another scale, and reading them as the
                // glyphs did vouches for them.
                if read.certain
                    && !read.letters_certain
                    && let Some(glyphs) = &unsure_letters
                {
                    let (line, _) = names_columns(format);
                    let again = self.read_row(&gray, lines[lines.len() - count + line], SECOND_LINE_HEIGHT)?;
                    let again = without_marks_beside(vec![RowRead::Read(again)], format.line_length());
                    read = names_vouched(read, &glyphs.lines, fit_row(&again[0], format.line_length()).as_deref(), format);
                }
                if digits_only.as_ref().is_none_or(|d| digits_vouched(d) <= digits_vouched(&read.lines)) {
                    return Ok(Some(read));
                }
            }
        }
        self.fallback = digits_only;
        Ok(None)
    }

    /// The row of `gray` between `top` and `bottom` as Tesseract reads it scaled to
    /// `height` with a quarter of its height above and below: each character and
    /// where it stands across the band (its centre, in band pixels).
    fn read_row(&mut self, gray: &Mat, (top, bottom): (i32, i32), height: f64) -> Result<Vec<(char, f64)>, VisionError> {
        let pad = (bottom - top) / 4;
        let y = (top - pad).max(0);
        let h = (bottom + pad).min(gray.rows()) - y;
        let line = Mat::roi(gray, Rect::new(0, y, gray.cols(), h))?;
        let scale = height / f64::from(h);
        let mut scaled = Mat::default();
        imgproc::resize(&line, &mut scaled, Size::new(0, 0), scale, scale, imgproc::INTER_AREA)?;
        let (_, glyphs) = self.ocr.read_glyphs(&scaled, Layout::Line)?;
        Ok(glyphs.iter().map(|g| (g.letter, f64::from(g.left + g.right) / 2.0 / scale)).collect())
    }

    /// What the last [`Self::read_band`] that read no zone could still give: a
    /// glyph read whose check digits vouch for more than Tesseract's read did
    /// ([`DigitsVouched`]), uncertain, a misread of which only what its check
    /// digits cover is believed. Asked for only when no other band or way up
    /// reads better.
    pub fn take_fallback(&mut self) -> Option<MrzText> {
        self.fallback.take().map(|lines| MrzText { lines, certain: false, letters_certain: false })
    }
}

/// The band with its light made even: what is darker than the paper around it,
/// on white. A glare spot or a shadow brightens or darkens paper and print alike,
/// and a threshold over the whole band then loses the print under it; the
/// paper's own brightness, taken as the band closed by a square wider than any
/// stroke, is subtracted first.
pub(super) fn light_levelled(gray: &Mat) -> Result<Mat, VisionError> {
    let rows = band_rows(gray)?;
    let height = rows.iter().map(|(a, b)| b - a).max().unwrap_or(gray.rows() / 3).max(3);
    let kernel = imgproc::get_structuring_element_def(imgproc::MORPH_RECT, Size::new(height, height))?;
    let mut dark = Mat::default();
    imgproc::morphology_ex_def(gray, &mut dark, imgproc::MORPH_BLACKHAT, &kernel)?;
    let mut levelled = Mat::default();
    opencv::core::bitwise_not_def(&dark, &mut levelled)?;
    Ok(levelled)
}

/// An MRZ row's glyphs reach from one side of the document to the other: a row
/// of the band whose ink spans less than this share of it is not one.
const MRZ_ROW_SPAN: f64 = 0.6;

/// Whether the ink of rows `top..bottom` of the band spans [`MRZ_ROW_SPAN`] of its width.
fn spans_band(gray: &Mat, top: i32, bottom: i32) -> Result<bool, VisionError> {
    let row = Mat::roi(gray, Rect::new(0, top, gray.cols(), (bottom - top).max(1)))?;
    let mut ink = Mat::default();
    imgproc::threshold(&row, &mut ink, 0.0, 255.0, imgproc::THRESH_BINARY_INV | imgproc::THRESH_OTSU)?;
    let mut columns = Mat::default();
    opencv::core::reduce(&ink, &mut columns, 0, opencv::core::REDUCE_MAX, -1)?;
    let inked: Vec<usize> = columns.data_bytes()?.iter().enumerate().filter(|(_, v)| **v > 0).map(|(c, _)| c).collect();
    let span = match (inked.first(), inked.last()) {
        (Some(first), Some(last)) => last - first + 1,
        _ => 0,
    };
    Ok(span as f64 >= MRZ_ROW_SPAN * f64::from(gray.cols()))
}

/// How far [`MrzReader::read_band`] goes when glyph matching is unsure of a band,
/// or could not even cut its glyphs out (too blurred or skewed for that).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effort {
    /// A sure glyph read only. A card front's bottom rows cut into glyphs too,
    /// and Tesseract spent 30–230 ms a line (two to four reads) finding no MRZ
    /// on most fronts.
    Glyphs,
    /// Then Tesseract on each text line the band's rows show. Tesseract on the
    /// whole band, when its rows cannot be told apart (one block read, 150-300 ms
    /// with the integer model), read no MRZ that this did not on the 396 tuning
    /// documents (seeds 5-41), the held-out ones, or a clean page turned 1.5 to
    /// 14 degrees, and is not done: pages askew are turned level first.
    Lines,
}

/// The bottom of the document, where ICAO 9303 puts the MRZ (with a margin).
pub fn mrz_band(rectified: &Mat, shape: DocumentShape) -> Rect {
    let (w, h) = (rectified.cols(), rectified.rows());
    let top = match shape {
        DocumentShape::Id1 => 0.66,
        DocumentShape::Id3 => 0.72,
    };
    let y = (f64::from(h) * top) as i32;
    Rect::new(w / 50, y, w - w / 25, h - y - h / 100)
}

pub fn format_for(shape: DocumentShape) -> MrzFormat {
    match shape {
        DocumentShape::Id1 => MrzFormat::Td1,
        DocumentShape::Id3 => MrzFormat::Td3,
    }
}

/// A character of the MRZ's alphabet ([`MRZ_ALPHABET`]); anything else OCR
/// gives (spaces, punctuation) is no part of a row.
fn is_mrz_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<'
}

/// One MRZ row as read: a glyph read vouched for, or Tesseract's characters
/// with where each stands across the band (its centre, in band pixels).
enum RowRead {
    Vouched(String),
    Read(Vec<(char, f64)>),
}

/// The rows' texts, each row read longer than a row holds without the
/// characters at its ends that stand half a pitch or more beyond where the
/// rows read whole start or end, and apart from their row (half as far again
/// from the next as its characters' median spacing). Every MRZ row holds as
/// many characters at one pitch, so all start and end at one x: such a
/// character read a mark beside the zone (a card's rounded corner at the start
/// of its third row, read as L: LGALYMZHANOVA, a hard card of tuning seed 61).
/// A row read with a character too many elsewhere can have its first one as
/// far out (P at x 41 where the next row starts at 60, tuning seed 41: the
/// pitch narrows across a page photographed askew), but at the row's spacing
/// from the next: it stays.
/// Without a row read whole to say where rows start, nothing is dropped.
fn without_marks_beside(rows: Vec<RowRead>, length: usize) -> Vec<String> {
    let rows: Vec<RowRead> = rows
        .into_iter()
        .map(|row| match row {
            RowRead::Read(letters) => RowRead::Read(letters.into_iter().filter(|(c, _)| is_mrz_char(*c)).collect()),
            vouched => vouched,
        })
        .collect();
    let whole: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|row| match row {
            RowRead::Read(letters) if letters.len() == length && length > 1 => Some((letters[0].1, letters[length - 1].1)),
            _ => None,
        })
        .collect();
    let start = whole.iter().map(|w| w.0).fold(f64::INFINITY, f64::min);
    let end = whole.iter().map(|w| w.1).fold(f64::NEG_INFINITY, f64::max);
    let pitch = whole.iter().map(|(a, b)| (b - a) / (length - 1) as f64).fold(0.0, f64::max);
    let within = |x: f64| whole.is_empty() || (x > start - pitch / 2.0 && x < end + pitch / 2.0);
    rows.into_iter()
        .map(|row| match row {
            RowRead::Vouched(text) => text,
            RowRead::Read(mut letters) => {
                let mut gaps: Vec<f64> = letters.windows(2).map(|w| w[1].1 - w[0].1).collect();
                gaps.sort_by(f64::total_cmp);
                let apart = |a: f64, b: f64| gaps.get(gaps.len() / 2).is_some_and(|median| (b - a).abs() > 1.5 * median);
                while letters.len() > length && !within(letters[0].1) && apart(letters[0].1, letters[1].1) {
                    letters.remove(0);
                }
                while letters.len() > length && !within(letters[letters.len() - 1].1) && apart(letters[letters.len() - 2].1, letters[letters.len() - 1].1) {
                    letters.pop();
                }
                letters.into_iter().map(|(c, _)| c).collect()
            }
        })
        .collect()
}

/// Picks the MRZ lines out of OCR text: long runs of the MRZ alphabet, each brought
/// to the format's length. OCR most often drops or adds filler at a line's end,
/// so only up to three characters are padded with `<` or cut; the check digits
/// then decide whether the result is right.
pub fn fit_mrz_lines(text: &str, format: MrzFormat) -> Option<Vec<String>> {
    let (count, length) = (format.line_count(), format.line_length());
    let lines: Vec<String> = text.lines().filter_map(|l| fit_row(l, length)).collect();
    (lines.len() >= count).then(|| lines[lines.len() - count..].to_vec())
}

/// One line of OCR text as [`fit_mrz_lines`] fits it to a row's `length`.
fn fit_row(text: &str, length: usize) -> Option<String> {
    let mut row: String = text.chars().filter(|c| is_mrz_char(*c)).collect();
    if row.len() + 3 < length || row.len() > length + 3 {
        return None;
    }
    row.truncate(length);
    while row.len() < length {
        row.push('<');
    }
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> MrzReader {
        MrzReader::load(Path::new("models")).expect("models/mrz.traineddata (scripts/setup)")
    }

    #[test]
    fn a_failing_check_digit_two_readers_read_alike_is_the_documents_own() {
        // The document number's check digit altered (7 for 2), as a forger who
        // changed the number and not its check digit leaves it: the glyph matcher,
        // sure of every glyph, and Tesseract read the zone alike.
        let forged = ["P<KAZOTEGENOVA<<INKAR<<<<<<<<<<<<<<<<<<<<<<<", "N187369657KAZ7403220F2910172740322464532<<66"];
        let band = super::super::mrz_glyphs::rendered_band(&forged, 0.0);
        let whole = Rect::new(0, 0, band.cols(), band.rows());
        let text = reader().read_band(&band, whole, MrzFormat::Td3, Effort::Lines).unwrap().expect("two lines");
        assert_eq!(text.lines, forged);
        assert!(!Mrz::parse(&text.lines).unwrap().checks.document_number);
        assert!(text.certain, "read alike by both readers");
        // Glyphs alone, never checked by a second reader, give no zone at all.
        assert_eq!(reader().read_band(&band, whole, MrzFormat::Td3, Effort::Glyphs).unwrap(), None);
    }

    #[test]
    fn a_glyph_read_naming_no_state_or_a_lettered_iin_is_not_sure_on_its_own() {
        // Check digits pass one garbled number in ten, and a blurred row garbles
        // KAZ as XAZ as readily as a number: glyphs alone, however well matched,
        // are not enough for a zone whose state no state has...
        let lines = ["P<XAZSHCHERBAEVA<<ASEL<<<<<<<<<<<<<<<<<<<<<<", "N559075291XAZ8612238F2710028861223481948<<44"];
        let band = super::super::mrz_glyphs::rendered_band(&lines, 0.0);
        let whole = Rect::new(0, 0, band.cols(), band.rows());
        assert_eq!(reader().read_band(&band, whole, MrzFormat::Td3, Effort::Glyphs).unwrap(), None);
        // ...which Tesseract reading it alike makes the document's own.
        let text = reader().read_band(&band, whole, MrzFormat::Td3, Effort::Lines).unwrap().expect("two lines");
        assert_eq!((text.lines, text.certain), (lines.map(String::from).to_vec(), true));
        // Nor for a Kazakh IIN with a letter in it: S for 8 leaves every check digit passing.
        let lines = ["P<KAZZHENISKYZY<<ULZHAN<<<<<<<<<<<<<<<<<<<<<", "N387527195KAZ0304096F31032560304096S4455<<42"];
        assert!(Mrz::parse(&lines).unwrap().valid());
        let band = super::super::mrz_glyphs::rendered_band(&lines, 0.0);
        let whole = Rect::new(0, 0, band.cols(), band.rows());
        assert_eq!(reader().read_band(&band, whole, MrzFormat::Td3, Effort::Glyphs).unwrap(), None);
    }

    #[test]
    fn mrz_lines_are_fitted_to_length_and_noise_is_dropped() {
        let text = "IDKAZ0723437422050624533556<<\nsome noise 12\n0506247M3110175KAZ<<<<<<<<<<<0\nKASYMOV<<MURAT<<<<<<<<<<<<<<<<<\n";
        let lines = fit_mrz_lines(text, MrzFormat::Td1).unwrap();
        assert_eq!(lines, ["IDKAZ0723437422050624533556<<<", "0506247M3110175KAZ<<<<<<<<<<<0", "KASYMOV<<MURAT<<<<<<<<<<<<<<<<"]);
        assert!(fit_mrz_lines("P<KAZ\nshort", MrzFormat::Td3).is_none());
    }

    #[test]
    fn a_mark_read_beyond_where_the_rows_read_whole_start_is_dropped_and_only_that() {
        // Rows of 6 at a pitch of 10 from x = 50; the last read 7, an L at x = 20.
        let spaced = |text: &str, from: f64, pitch: f64| RowRead::Read(text.chars().enumerate().map(|(i, c)| (c, from + pitch * i as f64)).collect());
        let at = |text: &str, from: f64| spaced(text, from, 10.0);
        let mut marked = vec![('L', 25.0)];
        let RowRead::Read(row) = at("GALY<<", 50.0) else { unreachable!() };
        marked.extend(row);
        let rows = vec![at("IDKAZ0", 50.0), at("123456", 51.0), RowRead::Read(marked)];
        assert_eq!(without_marks_beside(rows, 6), ["IDKAZ0", "123456", "GALY<<"]);
        // A first character out as far, but in its place beside the next, stays.
        let rows = vec![at("IDKAZ0", 50.0), at("<KAIZ<<", 35.0)];
        assert_eq!(without_marks_beside(rows, 6), ["IDKAZ0", "<KAIZ<<"]);
        // A long row whose ends stand where the others' do keeps every character
        // (a letter read twice), for the line fitting to judge.
        let rows = vec![at("IDKAZ0", 50.0), spaced("GALLY<<", 50.0, 8.0)];
        assert_eq!(without_marks_beside(rows, 6), ["IDKAZ0", "GALLY<<"]);
        // With no row read whole, nothing says where rows start.
        let rows = vec![RowRead::Vouched("IDKAZ0".into()), at("LGALY<<", 20.0)];
        assert_eq!(without_marks_beside(rows, 6), ["IDKAZ0", "LGALY<<"]);
    }
}
