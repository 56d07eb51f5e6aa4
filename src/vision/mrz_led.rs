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
use super::front::{FrontReader, Look, NAME_LOOK, Value, date_value, iin_value, line_name, value_under};
use super::labels::Field;
use super::text::{Line, Printed};
use crate::identity::document::printed_name_agrees;
use crate::identity::spelling::is_patronymic;
use crate::identity::{FrontFields, Mrz};

/// At most this many lines are read: a page prints its names, birth date and
/// IIN in its first eight to ten value lines, and each read costs 3-8 ms.
const MAX_READS: usize = 10;

/// A value line is at most this many letter heights wide: a long name, with
/// room; an address or an issuing authority is longer, and costs more to read.
const MAX_ASPECT: i32 = 24;

impl FrontReader {
    /// The values of `printed` that read as `mrz` says, stored in `fields` as
    /// confirmed (for the IIN and the birth date) with the line each was read
    /// from and the look it was read with.
    pub(super) fn read_as_mrz_says(
        &mut self,
        printed: &Printed,
        mrz: &Mrz,
        fields: &mut FrontFields,
    ) -> Result<Vec<(Field, Value, Look)>, VisionError> {
        // Lines under a label, as their shapes say (never a title row, nor a
        // name's Latin form printed under it), top first.
        let mut under: Vec<usize> = (0..printed.lines.len()).filter_map(|i| value_under(&printed.lines, i)).collect();
        under.sort_unstable();
        under.dedup();
        let mut lines: Vec<Line> =
            under.into_iter().map(|i| printed.lines[i]).filter(|l| l.rect.width <= MAX_ASPECT * l.letters).collect();
        lines.sort_by_key(|l| (l.rect.y, l.rect.x));
        let mut found: Vec<(Field, Value, Look)> = Vec::new();
        let has = |found: &[(Field, Value, Look)], field: Field| found.iter().any(|(f, ..)| *f == field);
        for line in lines.into_iter().take(MAX_READS) {
            let value = Value::of(&printed.ink, line)?;
            let text = self.read_line(printed, value.line, NAME_LOOK)?;
            let name = line_name(&text, value.words);
            let says = |latin: &str| !latin.is_empty() && name.as_deref().is_some_and(|n| printed_name_agrees(n, mrz, latin));
            let below_given = found.iter().any(|(f, v, _)| *f == Field::Given && v.line.rect.y < line.rect.y);
            let field = if !has(&found, Field::Surname) && says(&mrz.primary_identifier) {
                fields.surname = name;
                fields.confirmed.surname = true;
                Field::Surname
            } else if !has(&found, Field::Given) && says(&mrz.secondary_identifiers) {
                fields.given_names = name;
                fields.confirmed.given_names = true;
                Field::Given
            } else if !has(&found, Field::Patronymic) && below_given && value.words <= 2 && name.as_deref().is_some_and(is_patronymic) {
                fields.patronymic = name;
                Field::Patronymic
            } else if !has(&found, Field::Iin) && iin_value(&text).is_some_and(|i| Some(i.as_str()) == mrz.iin_candidate()) {
                fields.iin = iin_value(&text);
                fields.confirmed.iin = true;
                Field::Iin
            } else if !has(&found, Field::Birth) && mrz.birth_date.is_some() && date_value(&text) == mrz.birth_date {
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
        Ok(found)
    }
}
