//! OCR of rectified documents through Tesseract ([`super::tesseract`]): the MRZ
//! band with the OCR-B `mrz` model and a strict alphabet, and the card front with
//! Tesseract's Kazakh model (Cyrillic labels and names, digits). Enters: images from
//! [`super::document`]. Leaves: text lines and front fields; judging them is
//! `identity`'s work.

use std::path::{Path, PathBuf};

use opencv::core::{Mat, Rect, Size};
use opencv::imgproc;
use opencv::prelude::*;

use super::VisionError;
use super::document::DocumentShape;
use super::mrz_glyphs::{GlyphReader, OCRB_FONT};
use super::tesseract::{Layout, Tesseract};
use crate::identity::{Date, FrontFields, Mrz, MrzFormat};

pub const MRZ_MODEL: &str = "mrz.traineddata";
const MRZ_ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<";
/// The front's alphabet: Kazakh and Russian Cyrillic, digits and the date and
/// number punctuation; Latin letters on the front are only guilloche noise.
const FRONT_ALPHABET: &str = "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя\
                              ӘәҒғҚқҢңӨөҰұҮүҺһІі0123456789./-№ ";
/// Line images are scaled to this height (Tesseract reads OCR-B best around it).
const LINE_HEIGHT: f64 = 48.0;
/// Where Debian's tesseract-ocr-kaz puts its model.
const SYSTEM_TESSDATA: [&str; 2] = ["/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata"];

fn gray_of(image: &Mat) -> Result<Mat, VisionError> {
    if image.channels() == 1 {
        return Ok(image.try_clone()?);
    }
    let mut gray = Mat::default();
    imgproc::cvt_color_def(image, &mut gray, imgproc::COLOR_BGR2GRAY)?;
    Ok(gray)
}

/// A glyph read is taken only when every cell matched a template at least this
/// well (normalised cross-correlation; clean and moderately degraded documents
/// score 0.84 or more)...
const GLYPH_MIN_SCORE: f32 = 0.6;
/// ...every letter-only cell beat the next letter by this much (names carry no
/// check digit; on the generated set every wrong name read had a lead under
/// 0.01, right ones 0.03 or more, nearly all of them 0.06 or more)...
const GLYPH_MIN_LETTER_MARGIN: f32 = 0.02;
// ...and every check digit passes. Otherwise Tesseract reads the band.

/// Reads machine-readable zones: OCR-B glyph matching first, Tesseract's
/// LSTM with the `mrz` model when that is not sure.
pub struct MrzReader {
    glyphs: GlyphReader,
    ocr: Tesseract,
}

impl MrzReader {
    /// `models_dir` holds `mrz.traineddata`.
    pub fn load(models_dir: &Path) -> Result<Self, VisionError> {
        Ok(Self { glyphs: GlyphReader::load(Path::new(OCRB_FONT))?, ocr: Tesseract::new(models_dir, "mrz", MRZ_ALPHABET)? })
    }

    /// The MRZ lines of a rectified document, fitted to the format's line length,
    /// or `None` when the band holds no line long enough to be one. Glyph matching
    /// is tried first; then Tesseract, each text line on its own, then the whole
    /// band when the lines cannot be told apart.
    pub fn read(&mut self, rectified: &Mat, shape: DocumentShape) -> Result<Option<Vec<String>>, VisionError> {
        let format = format_for(shape);
        let gray = gray_of(&Mat::roi(rectified, mrz_band(rectified, shape))?.try_clone()?)?;
        if let Some(read) = self.glyphs.read(&gray, format)?
            && read.weakest >= GLYPH_MIN_SCORE
            && read.letter_margin >= GLYPH_MIN_LETTER_MARGIN
            && Mrz::parse(&read.lines).is_ok_and(|m| m.valid())
        {
            return Ok(Some(read.lines));
        }
        let count = if format == MrzFormat::Td1 { 3 } else { 2 };
        let lines = text_lines(&gray)?;
        if lines.len() >= count {
            let mut text = String::new();
            for (top, bottom) in &lines[lines.len() - count..] {
                let pad = (bottom - top) / 4;
                let y = (top - pad).max(0);
                let h = (bottom + pad).min(gray.rows()) - y;
                let line = Mat::roi(&gray, Rect::new(0, y, gray.cols(), h))?;
                let scale = LINE_HEIGHT / f64::from(h);
                let mut scaled = Mat::default();
                imgproc::resize(&line, &mut scaled, Size::new(0, 0), scale, scale, imgproc::INTER_AREA)?;
                text.push_str(self.ocr.read(&scaled, Layout::Line)?.text.trim());
                text.push('\n');
            }
            if let Some(fitted) = fit_mrz_lines(&text, format) {
                return Ok(Some(fitted));
            }
        }
        let text = self.ocr.read(&gray, Layout::Block)?.text;
        Ok(fit_mrz_lines(&text, format))
    }
}

/// Rows of dark text in a grey band, as (top, bottom) pixel rows: runs of rows whose
/// ink exceeds a share of the densest row, keeping only runs tall enough to be text.
pub(super) fn text_lines(gray: &Mat) -> Result<Vec<(i32, i32)>, VisionError> {
    let mut ink = Mat::default();
    imgproc::threshold(gray, &mut ink, 0.0, 1.0, imgproc::THRESH_BINARY_INV | imgproc::THRESH_OTSU)?;
    let mut rows = Mat::default();
    opencv::core::reduce(&ink, &mut rows, 1, opencv::core::REDUCE_SUM, opencv::core::CV_32S)?;
    let sums: Vec<i32> = (0..rows.rows()).map(|r| rows.at::<i32>(r).copied().unwrap_or(0)).collect();
    let peak = sums.iter().copied().max().unwrap_or(0);
    let mut runs = Vec::new();
    let mut start = None;
    for (i, &v) in sums.iter().chain(std::iter::once(&0)).enumerate() {
        match (v > peak / 8, start) {
            (true, None) => start = Some(i as i32),
            (false, Some(s)) => {
                runs.push((s, i as i32));
                start = None;
            }
            _ => {}
        }
    }
    let tallest = runs.iter().map(|(a, b)| b - a).max().unwrap_or(0);
    Ok(runs.into_iter().filter(|(a, b)| (b - a) * 2 >= tallest).collect())
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

/// Picks the MRZ lines out of OCR text: long runs of the MRZ alphabet, each brought
/// to the format's length. OCR most often drops or adds filler at a line's end,
/// so only up to three characters are padded with `<` or cut; the check digits
/// then decide whether the result is right.
pub fn fit_mrz_lines(text: &str, format: MrzFormat) -> Option<Vec<String>> {
    let (count, length) = match format {
        MrzFormat::Td1 => (3, 30),
        MrzFormat::Td3 => (2, 44),
    };
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.chars().filter(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '<').collect::<String>())
        .filter(|l| l.len() + 3 >= length && l.len() <= length + 3)
        .map(|mut l| {
            if l.len() > length {
                l.truncate(length);
            }
            while l.len() < length {
                l.push('<');
            }
            l
        })
        .collect();
    (lines.len() >= count).then(|| lines[lines.len() - count..].to_vec())
}

/// Reads the printed side of a Kazakh ID card.
pub struct FrontReader {
    ocr: Tesseract,
}

impl FrontReader {
    pub fn load() -> Result<Self, VisionError> {
        let datapath = SYSTEM_TESSDATA
            .iter()
            .map(PathBuf::from)
            .find(|p| p.join("kaz.traineddata").exists())
            .ok_or_else(|| VisionError::Model {
                path: "kaz.traineddata".into(),
                reason: "Tesseract's Kazakh model is missing; install tesseract-ocr-kaz (scripts/setup does)".into(),
            })?;
        Ok(Self { ocr: Tesseract::new(&datapath, "kaz", FRONT_ALPHABET)? })
    }

    /// One OCR pass at `scale` (1.5× puts the card's small labels at Tesseract's
    /// best size; 2× helps blurred photos).
    pub fn read(&mut self, rectified: &Mat, scale: f64) -> Result<FrontFields, VisionError> {
        let mut larger = Mat::default();
        imgproc::resize(&gray_of(rectified)?, &mut larger, Size::new(0, 0), scale, scale, imgproc::INTER_CUBIC)?;
        Ok(parse_front_text(&self.ocr.read(&larger, Layout::Block)?.text))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Label {
    Surname,
    Given,
    Patronymic,
    Birth,
    Iin,
}

/// Which field label (Kazakh / Russian) a line is, if it is one.
fn label_of(line: &str) -> Option<Label> {
    let u = line.to_uppercase();
    if u.contains("ӘКЕСІНІҢ") || u.contains("ОТЧЕСТВО") {
        Some(Label::Patronymic)
    } else if u.contains("ТЕГІ") || u.contains("ФАМИЛИЯ") {
        Some(Label::Surname)
    } else if u.contains("ИМЯ") || u.starts_with("АТЫ") {
        Some(Label::Given)
    } else if u.contains("ТУҒАН") || u.contains("ДАТА РОЖДЕНИЯ") {
        Some(Label::Birth)
    } else if u.contains("ЖСН") || u.contains("ИИН") {
        Some(Label::Iin)
    } else {
        None
    }
}

/// Names are printed in capitals; mixed-case fragments are OCR noise from the
/// portrait or the guilloche beside them.
fn name_value(line: &str) -> Option<String> {
    let words: Vec<&str> = line
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphabetic()))
        .filter(|w| w.chars().count() >= 2 && w.chars().all(|c| (c.is_alphabetic() && c.is_uppercase()) || c == '-'))
        .collect();
    // A two-letter capital fragment beside a real name is noise too.
    let longest = words.iter().map(|w| w.chars().count()).max()?;
    let kept: Vec<&str> = words.into_iter().filter(|w| longest < 4 || w.chars().count() > 2).collect();
    Some(kept.join(" "))
}

fn date_value(line: &str) -> Option<Date> {
    let digits: String = line.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 8 {
        return None;
    }
    let iso = format!("{}-{}-{}", &digits[4..8], &digits[2..4], &digits[0..2]);
    iso.parse().ok()
}

fn iin_value(line: &str) -> Option<String> {
    let digits: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// Fields from the OCR text of a card front: each value is the first line after
/// its label that looks like that kind of value.
pub fn parse_front_text(text: &str) -> FrontFields {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut fields = FrontFields::default();
    for (i, line) in lines.iter().enumerate() {
        let Some(label) = label_of(line) else { continue };
        let following = lines[i + 1..].iter().take(2).filter(|l| label_of(l).is_none());
        match label {
            Label::Surname => fields.surname = fields.surname.take().or(following.clone().find_map(|l| name_value(l))),
            Label::Given => fields.given_names = fields.given_names.take().or(following.clone().find_map(|l| name_value(l))),
            Label::Patronymic => fields.patronymic = fields.patronymic.take().or(following.clone().find_map(|l| name_value(l))),
            Label::Birth => fields.birth_date = fields.birth_date.or(following.clone().find_map(|l| date_value(l))),
            Label::Iin => fields.iin = fields.iin.take().or(following.clone().find_map(|l| iin_value(l))),
        }
    }
    // The IIN is the only 12-digit number on the front: take it even if its label was missed.
    if fields.iin.is_none() {
        fields.iin = lines.iter().find_map(|l| iin_value(l));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_fields_are_found_under_their_labels() {
        let text = "ҚАЗАҚСТАН РЕСПУБЛИКАСЫ\nТЕГІ / ФАМИЛИЯ\nҚазұ- ҚАСЫМОВ\nАТЫ / ИМЯ\nМҰРАТ\nӘКЕСІНІҢ АТЫ / ОТЧЕСТВО\nБОЛАТОВИЧ\n\
                    ТУҒАН КҮНІ / ДАТА РОЖДЕНИЯ\n24.06.2005\nЖСН / ИИН\n0506 2453 3556\n";
        let f = parse_front_text(text);
        assert_eq!(f.surname.as_deref(), Some("ҚАСЫМОВ"));
        assert_eq!(f.given_names.as_deref(), Some("МҰРАТ"));
        assert_eq!(f.patronymic.as_deref(), Some("БОЛАТОВИЧ"));
        assert_eq!(f.birth_date, Some("2005-06-24".parse().unwrap()));
        assert_eq!(f.iin.as_deref(), Some("050624533556"));
    }

    #[test]
    fn mrz_lines_are_fitted_to_length_and_noise_is_dropped() {
        let text = "IDKAZ0723437422050624533556<<\nsome noise 12\n0506247M3110175KAZ<<<<<<<<<<<0\nKASYMOV<<MURAT<<<<<<<<<<<<<<<<<\n";
        let lines = fit_mrz_lines(text, MrzFormat::Td1).unwrap();
        assert_eq!(lines, ["IDKAZ0723437422050624533556<<<", "0506247M3110175KAZ<<<<<<<<<<<0", "KASYMOV<<MURAT<<<<<<<<<<<<<<<<"]);
        assert!(fit_mrz_lines("P<KAZ\nshort", MrzFormat::Td3).is_none());
    }
}
