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
use super::front::{FrontReader, RUSSIAN_ALPHABET, SECOND_LOOK, THIRD_LOOK, Value, shown};
use super::tesseract::{Layout, Tesseract};
use super::value_text::{date_value, iin_value};
use crate::identity::date::Date;

impl FrontReader {
    /// A printed IIN as the Russian model reads it, digits only, else as the
    /// English one does: reads independent of every look the Kazakh model had,
    /// before a disagreement with the MRZ may accuse the card. `checked` (the
    /// MRZ's value) when any look reads it, else the value every look that read
    /// twelve digits read (two at least), else `None`: one look that shares the
    /// Kazakh model's slip cannot outvote another that reads otherwise (a blurred
    /// 187 read 107 by the English model at one scale and 197 at another, a
    /// moderate page of tuning seed 59).
    pub fn independent_iin(&mut self, gray: &Mat, value: Value, checked: &str) -> Result<Option<String>, VisionError> {
        let mut reads = Vec::new();
        if let Some(russian) = self.russian.as_mut() {
            // Digits only for this read: the name alphabet lets 3 read as З.
            russian.set_variable("tessedit_char_whitelist", "0123456789 ")?;
            let read = iin_by(russian, gray, value, checked, &mut reads);
            russian.set_variable("tessedit_char_whitelist", RUSSIAN_ALPHABET)?;
            read?;
        }
        if !reads.iter().any(|r| r == checked)
            && let Some(english) = self.english()
        {
            iin_by(english, gray, value, checked, &mut reads)?;
        }
        if reads.iter().any(|r| r == checked) {
            return Ok(Some(checked.to_string()));
        }
        // Looks that differ (107 and 197 where the MRZ says 187) are a blur, not a
        // print; one look alone is no second read.
        Ok(reads.first().filter(|r| reads.len() >= 2 && reads.iter().all(|o| o == *r)).cloned())
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

/// A printed IIN as `model` reads it at the second and third looks, each read
/// of twelve digits added to `reads`; the third is not needed when the second
/// read `checked`.
fn iin_by(model: &mut Tesseract, gray: &Mat, value: Value, checked: &str, reads: &mut Vec<String>) -> Result<(), VisionError> {
    for look in [SECOND_LOOK, THIRD_LOOK] {
        let read = iin_value(model.read(&shown(gray, value.line, look)?, Layout::Line)?.trim());
        let done = read.as_deref() == Some(checked);
        reads.extend(read);
        if done {
            break;
        }
    }
    Ok(())
}
