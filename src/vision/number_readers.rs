//! Printed numbers read by other models than the Kazakh one: a printed IIN or
//! birth date that disagrees with the MRZ, or whose own looks disagree, before
//! it is believed or accuses the card. One model can misread one font's digit at
//! every look (the Kazakh model reads PT Sans Narrow's 3 as 5, tuning seeds 29
//! and 37); a model trained on other print does not share that habit. The
//! Russian model is asked first (it is loaded for names anyway), then the
//! English one, digits only, loaded when first needed (80 ms): most documents
//! never need it.

use opencv::core::Mat;

use super::VisionError;
use super::front::{FrontReader, RUSSIAN_ALPHABET, SECOND_LOOK, THIRD_LOOK, Value, date_value, iin_value, shown};
use super::tesseract::{Layout, Tesseract};
use crate::identity::date::Date;

impl FrontReader {
    /// A printed IIN as the Russian model reads it, digits only, else as the
    /// English one does (`None` without them, or when no look reads twelve digits):
    /// reads independent of every look the Kazakh model had, before a disagreement
    /// with the MRZ may accuse the card. Looks are tried in turn until one reads one
    /// of `expected` (the MRZ's value, or the two sides' values), so a single slip does not decide.
    pub fn independent_iin(&mut self, gray: &Mat, value: Value, expected: &[&str]) -> Result<Option<String>, VisionError> {
        let mut first = None;
        if let Some(russian) = self.russian.as_mut() {
            // Digits only for this read: the name alphabet lets 3 read as З.
            russian.set_variable("tessedit_char_whitelist", "0123456789 ")?;
            let read = iin_by(russian, gray, value, expected);
            russian.set_variable("tessedit_char_whitelist", RUSSIAN_ALPHABET)?;
            first = read?;
        }
        if first.as_deref().is_some_and(|d| expected.contains(&d)) {
            return Ok(first);
        }
        let Some(english) = self.english() else { return Ok(first) };
        let read = iin_by(english, gray, value, expected)?;
        Ok(if read.as_deref().is_some_and(|d| expected.contains(&d)) { read } else { first.or(read) })
    }

    /// Whether the English model reads the printed date on `value` as `date`, at
    /// the second or third look: a reader without the Kazakh model's habits.
    pub fn english_reads_date(&mut self, gray: &Mat, value: Value, date: Date) -> Result<bool, VisionError> {
        let Some(english) = self.english() else { return Ok(false) };
        for look in [SECOND_LOOK, THIRD_LOOK] {
            if date_value(&english.read(&shown(gray, value.line, look)?, Layout::Line)?) == Some(date) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Tesseract's English model, digits only, loaded when first asked for.
    fn english(&mut self) -> Option<&mut Tesseract> {
        let tessdata = &self.tessdata;
        self.english
            .get_or_insert_with(|| {
                Tesseract::new(tessdata, "eng", "0123456789 ")
                    .inspect_err(|e| tracing::warn!(error = %e, "no third opinion on printed numbers (install tesseract-ocr-eng)"))
                    .ok()
            })
            .as_mut()
    }
}

/// A printed IIN as `model` reads it at the second and third looks: the first
/// read of one of `expected`, else the first of twelve digits.
fn iin_by(model: &mut Tesseract, gray: &Mat, value: Value, expected: &[&str]) -> Result<Option<String>, VisionError> {
    let mut first = None;
    for look in [SECOND_LOOK, THIRD_LOOK] {
        let read = iin_value(model.read(&shown(gray, value.line, look)?, Layout::Line)?.trim());
        if read.as_deref().is_some_and(|d| expected.contains(&d)) {
            return Ok(read);
        }
        first = first.or(read);
    }
    Ok(first)
}
