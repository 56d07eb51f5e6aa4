//! Reading one side of a document from an image: find and flatten it, then read
//! its MRZ (either way up) or, failing that, its printed front.

use std::path::Path;

use opencv::core::{Mat, Rect};
use opencv::prelude::*;

mod fallback;
mod flatten;

use flatten::{flatten, levelled};

use super::VisionError;
use super::document::{self, DocumentShape, Readability};
use super::face::FaceDetector;
use super::front::{FrontReader, LineRead, Value};
use super::front_search::cyrillic_letters;
use super::labels::Field;
use super::mrz_glyphs::band_rows;
use super::mrz_locate;
use super::ocr::{Effort, MrzReader, MrzText};
use super::signs::Signs;
use super::tails::restore_tail;
use super::text::{Line, Printed};
use crate::identity::document::{printed_name_agrees, printed_name_nearly_agrees};
use crate::identity::iin::Iin;
use crate::identity::spelling::{could_be_spelled, without_stray_signs};
use crate::identity::{Date, FrontFields, Mrz, MrzFormat};

/// What one image gave.
pub struct SideRead {
    pub shape: Option<DocumentShape>,
    pub mrz: Option<Mrz>,
    pub front: Option<FrontFields>,
    /// Sharpness and glare of the MRZ band or of the whole front.
    pub readability: Option<Readability>,
    /// The flattened document, for evidence.
    pub rectified: Option<Mat>,
    /// The holder's photo on the front, for face matching.
    pub portrait: Option<Mat>,
    /// Where the printed values were found, for re-reading them ([`DocumentReader::reconcile`]).
    pub front_lines: Option<FrontLines>,
}

/// The printed side as the line reader saw it (grey, portraits blanked), and
/// where each value was read: kept until the MRZ is read, to check the printed
/// names against it.
pub struct FrontLines {
    printed: Printed,
    found: Vec<(Field, Value)>,
    /// Its print could be read at all ([`LineRead::legible`]).
    legible: bool,
    /// [`LineRead::iin_date_unvouched`].
    iin_date_unvouched: bool,
}

impl FrontLines {
    /// A line read's fields, and what of it the re-reads that follow need.
    fn split(read: LineRead) -> (FrontFields, FrontLines) {
        let LineRead { fields, found, printed, legible, iin_date_unvouched } = read;
        (fields, FrontLines { printed, found, legible, iin_date_unvouched })
    }
}

pub struct DocumentReader {
    mrz: MrzReader,
    front: FrontReader,
    faces: FaceDetector,
    /// The image being read's fallback zone ([`fallback`]).
    provisional: Option<fallback::Provisional>,
}

/// A card portrait is small and printed: the detector may score it lower than a live face.
const PORTRAIT_SCORE: f32 = 0.6;
/// A card front or passport page is searched for faces on a copy this wide: its
/// portrait is a third of its height or more and still found, in a quarter of the
/// time 640 wide took (about 17 ms less per passport page, the documents bench's
/// fields unchanged on both splits). The small ghost image is then missed, which
/// the line reader does not mind (it is no label's value).
const PORTRAIT_DETECTION_WIDTH: i32 = 320;
/// An MRZ tilted by less than this (degrees) is read as it is; by more than the
/// larger figure, the page was not flattened and is not turned here.
const MIN_TILT: f32 = 0.3;
const MAX_TILT: f32 = 10.0;
/// A card front taken whole whose printed lines slope more than this (rows per
/// column, 2 degrees) is turned level ([`levelled`]), at most this many times.
const MIN_FRONT_TILT: f64 = 0.035;
const LEVELLING_TURNS: usize = 3;
/// A whole image is searched for an MRZ at most this wide (a TD3 row on a page
/// filling half of it is still 600 px long).
const ZONE_SEARCH_WIDTH: f64 = 1280.0;

impl DocumentReader {
    pub fn load(models_dir: &Path) -> Result<Self, VisionError> {
        Ok(Self {
            mrz: MrzReader::load(models_dir)?,
            front: FrontReader::load()?,
            faces: FaceDetector::load(&models_dir.join(super::YUNET_MODEL), PORTRAIT_DETECTION_WIDTH as u32, PORTRAIT_SCORE)?,
            provisional: None,
        })
    }

    /// Blanks every face on the front (the portrait and its ghost image) so their
    /// texture does not turn into letters, in the card's shade around each
    /// ([`super::portrait::level_around`]), in grey (all the line reader needs: a
    /// colour copy and its conversion cost 3 ms a page); returns the largest as the
    /// portrait, and whether it stands upright (its eyes above its mouth).
    /// Faces are looked for on a copy at most [`PORTRAIT_DETECTION_WIDTH`] wide (the
    /// detector's own width; it gives them in `front`'s pixels).
    fn mask_portraits(&mut self, front: &Mat) -> Result<(Mat, Option<Mat>, bool), VisionError> {
        let faces = self.faces.detect(front)?;
        let gray = super::ocr::gray_of(front)?;
        let mut masked = gray.try_clone()?;
        let mut portrait: Option<(f32, Rect, bool)> = None;
        for face in &faces {
            let b = face.bbox;
            let found = Rect::new(b.x as i32, b.y as i32, b.width as i32, b.height as i32);
            let rect = super::portrait::photo_around(&gray, found)?;
            let level = super::portrait::level_around(&gray, rect)?;
            opencv::imgproc::rectangle(&mut masked, rect, opencv::core::Scalar::all(level), -1, opencv::imgproc::LINE_8, 0)?;
            if portrait.is_none_or(|(area, ..)| b.area() > area) {
                let eyes = (face.right_eye().y + face.left_eye().y) / 2.0;
                portrait = Some((b.area(), rect, eyes < face.mouth_centre().y));
            }
        }
        let upright = portrait.is_some_and(|(.., up)| up);
        let portrait = portrait.map(|(_, rect, _)| Mat::roi(front, rect).and_then(|m| m.try_clone())).transpose()?;
        Ok((masked, portrait, upright))
    }

    /// One side from a whole image: find and flatten the document, then read it.
    /// A document whose outline is not found, or whose flattened image shows no
    /// MRZ zone of its kind, is looked for again by an MRZ anywhere in the image (a
    /// passport page on a desk with its booklet's facing page, a scan filling the
    /// image, a card scanned with a margin that looks like a page's proportions),
    /// before it is read as a card front: an MRZ found is cheap to read and says
    /// what the document is, a front read is a dozen Tesseract lines and more.
    pub fn read_side(&mut self, bgr: &Mat, on: Date) -> Result<SideRead, VisionError> {
        let side = self.read_side_as_it_lies(bgr, on)?;
        // An image taller than wide of which no MRZ and at most one printed field
        // reads may hold a document on its side (a card held upright, a scan of
        // one laid so): read again turned a quarter (either way: one then upside
        // down is turned as any is), and the better read kept. Not before: a
        // document lying level in it (a page on a scanner's glass) has the same
        // image shape, and a card on its side shows its own portrait lying level.
        let read = |s: &SideRead| (s.mrz.is_some(), s.front.as_ref().map_or(0, count));
        if bgr.rows() > bgr.cols() && side.mrz.is_none() && read(&side).1 < 2 {
            let mut turned = Mat::default();
            opencv::core::rotate(bgr, &mut turned, opencv::core::ROTATE_90_CLOCKWISE)?;
            let again = self.read_side_as_it_lies(&turned, on)?;
            if read(&again) > read(&side) {
                return Ok(again);
            }
        }
        Ok(side)
    }

    /// [`Self::read_side`] with the image as it lies; a zone read only as a
    /// fallback when nothing reads better ([`fallback`]).
    fn read_side_as_it_lies(&mut self, bgr: &Mat, on: Date) -> Result<SideRead, VisionError> {
        self.provisional = None;
        let side = self.read_side_first_found(bgr, on)?;
        self.side_or_provisional(side, on)
    }

    /// The first side read: an MRZ side where a zone reads, else the front.
    fn read_side_first_found(&mut self, bgr: &Mat, on: Date) -> Result<SideRead, VisionError> {
        let flat = flatten(bgr)?;
        if let Some((rectified, shape, _)) = &flat
            && let Some(side) = self.read_mrz_side(rectified, *shape, on)?
        {
            return Ok(side);
        }
        if let Some(anchored) = self.read_by_mrz(bgr, on)? {
            return Ok(anchored);
        }
        match &flat {
            Some((rectified, shape, whole)) => self.read_without_zone(rectified, *shape, *whole, on),
            None => Ok(SideRead { shape: None, mrz: None, front: None, readability: None, rectified: None, portrait: None, front_lines: None }),
        }
    }

    /// The document rebuilt around an MRZ found anywhere in the whole image
    /// ([`MrzZone::document_corners`]), either way up; `None` when no zone reads.
    fn read_by_mrz(&mut self, bgr: &Mat, on: Date) -> Result<Option<SideRead>, VisionError> {
        let scale = (ZONE_SEARCH_WIDTH / f64::from(bgr.cols())).min(1.0);
        let gray = super::ocr::gray_of(bgr)?;
        let small = if scale < 1.0 {
            let mut small = Mat::default();
            opencv::imgproc::resize(&gray, &mut small, opencv::core::Size::new(0, 0), scale, scale, opencv::imgproc::INTER_AREA)?;
            small
        } else {
            gray
        };
        for zone in mrz_locate::find_zones(&small)?.into_iter().take(2) {
            let shape = match zone.format {
                MrzFormat::Td1 => DocumentShape::Id1,
                MrzFormat::Td3 => DocumentShape::Id3,
            };
            for upside_down in [false, true] {
                let corners = zone.document_corners(upside_down).map(|p| opencv::core::Point2f::new(p.x / scale as f32, p.y / scale as f32));
                let rectified = document::warp(bgr, &corners, shape)?;
                if let Some(side) = self.read_mrz_side(&rectified, shape, on)? {
                    return Ok(Some(side));
                }
            }
        }
        Ok(None)
    }

    /// The MRZ side of a flattened document, its zone found by its shape (either
    /// way up); `None` when no zone of the document's format reads.
    fn read_mrz_side(&mut self, rectified: &Mat, shape: DocumentShape, on: Date) -> Result<Option<SideRead>, VisionError> {
        let format = super::ocr::format_for(shape);
        let gray = super::ocr::gray_of(rectified)?;
        let Some(zone) = mrz_locate::find_zones(&gray)?.into_iter().find(|z| z.format == format) else {
            return Ok(None);
        };
        let mut image = rectified.try_clone()?;
        let mut band = zone.band();
        // A page scanned a little askew and taken whole keeps its tilt: across the
        // band its rows then overlap, and no cut between them separates them for
        // the glyphs or Tesseract's lines. Turned level first; the
        // printed lines above, level too, are found better (tuning seeds: two more
        // pages read exactly). An MRZ whose rows part as they are is still read
        // unturned: turning resamples, and a blurred photo's glyphs lose by it.
        let mut mrz_from: Option<(Mat, Rect)> = None;
        let (ux, uy) = zone.along();
        let tilt = (uy / ux).atan().to_degrees();
        if (MIN_TILT..MAX_TILT).contains(&tilt.abs()) {
            let level = document::turn(rectified, tilt)?;
            let rows = band_rows(&Mat::roi(&gray, band & Rect::new(0, 0, gray.cols(), gray.rows()))?.try_clone()?)?;
            if rows.len() >= format.line_count() {
                mrz_from = Some((image, band));
            }
            // Where the zone is once turned, worked out from the turn.
            let centre = opencv::core::Point2f::new(rectified.cols() as f32 / 2.0, rectified.rows() as f32 / 2.0);
            (image, band) = (level, zone.turned(centre, tilt).band());
        }
        // A zone in the upper half: the document is upside down.
        let (cols, rows) = (image.cols(), image.rows());
        if band.y + band.height / 2 < rows / 2 {
            let turned = |b: Rect| Rect::new(cols - b.x - b.width, rows - b.y - b.height, b.width, b.height);
            image = document::rotate_180(&image)?;
            band = turned(band);
            if let Some((mrz_image, mrz_band)) = mrz_from.as_mut() {
                *mrz_image = document::rotate_180(mrz_image)?;
                *mrz_band = turned(*mrz_band);
            }
        }
        self.mrz_side_in(&image, shape, band, mrz_from.as_ref().map(|(m, b)| (m, *b)), on, Effort::Lines)
    }

    /// One side from a document already flattened (the session engine flattens every
    /// frame for its framing figures and reads that same image).
    /// A zone read only as a fallback is not taken: a live session reads the
    /// next frames until the zone reads whole.
    pub fn read_flattened(&mut self, rectified: &Mat, shape: DocumentShape, on: Date) -> Result<SideRead, VisionError> {
        let side = match self.read_mrz_side(rectified, shape, on)? {
            Some(side) => Ok(side),
            None => self.read_without_zone(rectified, shape, false, on),
        };
        self.provisional = None;
        side
    }

    /// A flattened side on which no MRZ zone of its kind was found: its MRZ read
    /// where the format puts it, else its printed front; `whole`: the image was
    /// taken whole for the document (a scan), which may lie askew in it.
    fn read_without_zone(&mut self, rectified: &Mat, shape: DocumentShape, whole: bool, on: Date) -> Result<SideRead, VisionError> {
        let ways = [rectified.try_clone()?, document::rotate_180(rectified)?];
        // A passport page always has an MRZ: Tesseract reads its lines if glyphs cannot.
        let page = shape == DocumentShape::Id3;
        for image in &ways {
            if let Some(side) = self.mrz_side(image, shape, on, if page { Effort::Lines } else { Effort::Glyphs })? {
                return Ok(side);
            }
        }
        // No MRZ-shaped rows: a card front, or a back too degraded for glyph
        // matching, which Tesseract gets a go at, line by line, when no front field
        // reads at all. A front that reads one field is a front: Tesseract's MRZ
        // model on its bottom rows (then a block read each way up, 100-700 ms) found no MRZ on any
        // front of the tuning split (seed 5) and changed no field there; checked on
        // the held-out split (`cargo bench --bench documents`): no field changed,
        // ID card Tesseract time median 405 -> 154 ms.
        let (read, view) = if whole { self.read_card_front(&levelled(rectified)?)? } else { self.read_card_front(rectified)? };
        let (front, lines) = FrontLines::split(read);
        if !page && count(&front) == 0 {
            for image in &ways {
                if let Some(side) = self.mrz_side(image, shape, on, Effort::Lines)? {
                    return Ok(side);
                }
            }
        }
        let (front, image, portrait, front_lines) = match view {
            Some(v) => (Some(front), v.image, v.portrait, Some(lines)),
            None => (None, rectified.try_clone()?, None, None),
        };
        let readability = document::readability(&image, Rect::new(0, 0, image.cols(), image.rows()))?;
        Ok(SideRead { shape: Some(shape), mrz: None, front, readability: Some(readability), rectified: Some(image), portrait, front_lines })
    }

    /// The side as an MRZ side, if its MRZ, where the format puts it, reads and
    /// parses, with `effort` at most.
    fn mrz_side(&mut self, image: &Mat, shape: DocumentShape, on: Date, effort: Effort) -> Result<Option<SideRead>, VisionError> {
        self.mrz_side_in(image, shape, super::ocr::mrz_band(image, shape), None, on, effort)
    }

    /// [`Self::mrz_side`] with the MRZ read from `band`.
    /// The MRZ is read from `mrz_from` (an image and its band) when given, the
    /// printed zone from `image` above `band` either way.
    fn mrz_side_in(
        &mut self,
        image: &Mat,
        shape: DocumentShape,
        band: Rect,
        mrz_from: Option<(&Mat, Rect)>,
        on: Date,
        effort: Effort,
    ) -> Result<Option<SideRead>, VisionError> {
        let (mrz_image, mrz_band) = mrz_from.unwrap_or((image, band));
        let Some(text) = self.mrz.read_band(mrz_image, mrz_band, super::ocr::format_for(shape), effort)? else {
            self.keep_provisional(image, shape, band, mrz_from)?;
            return Ok(None);
        };
        self.side_from_text(image, shape, band, mrz_from, text, on)
    }

    /// [`Self::mrz_side_in`] once its zone is read as `text`.
    fn side_from_text(
        &mut self,
        image: &Mat,
        shape: DocumentShape,
        band: Rect,
        mrz_from: Option<(&Mat, Rect)>,
        text: MrzText,
        on: Date,
    ) -> Result<Option<SideRead>, VisionError> {
        let (mrz_image, mrz_band) = mrz_from.unwrap_or((image, band));
        let Ok(mut mrz) = Mrz::parse_on(&text.lines, on) else {
            return Ok(None);
        };
        (mrz.read_uncertain, mrz.letters_uncertain) = (!text.certain, !text.letters_certain);
        let readability = document::readability(mrz_image, mrz_band & Rect::new(0, 0, mrz_image.cols(), mrz_image.rows()))?;
        let band = band & Rect::new(0, 0, image.cols(), image.rows());
        // A passport's data page carries the portrait and the printed names
        // (the patronymic only there); a card's back neither.
        let mut side = SideRead {
            shape: Some(shape),
            mrz: None,
            front: None,
            readability: Some(readability),
            rectified: Some(image.try_clone()?),
            portrait: None,
            front_lines: None,
        };
        if shape == DocumentShape::Id3 {
            let (masked, portrait, _) = self.mask_portraits(image)?;
            let zone = Mat::roi(&masked, Rect::new(0, 0, masked.cols(), band.y.max(1)))?.try_clone()?;
            let read = self.front.read_lines(&zone, Some(&mrz))?;
            let (mut fields, lines) = FrontLines::split(read);
            self.reconcile(&mut fields, &lines, &mrz)?;
            side.front = Some(fields).filter(|f| count(f) > 0);
            side.front_lines = Some(lines);
            side.portrait = portrait;
        }
        side.mrz = Some(mrz);
        Ok(Some(side))
    }
}

impl DocumentReader {
    /// The sides of one document read separately (a card's front and back, or a
    /// passport page), made one: the MRZ of whichever side has it, and the printed
    /// fields checked against it ([`Self::reconcile`]). The command line, the
    /// benchmark and the session engine all combine sides this way.
    pub fn combine(&mut self, sides: &mut [SideRead]) -> Result<(Option<FrontFields>, Option<Mrz>), VisionError> {
        let mrz = sides.iter().find_map(|s| s.mrz.clone());
        if let Some(m) = &mrz {
            for side in sides.iter_mut().filter(|s| s.mrz.is_none()) {
                if let (Some(front), Some(lines)) = (side.front.as_mut(), side.front_lines.as_ref()) {
                    self.reconcile(front, lines, m)?;
                }
            }
        }
        Ok((sides.iter().find_map(|s| s.front.clone()), mrz))
    }

    /// Checks the printed names against the MRZ's Latin ones (the same document
    /// read twice). A name that disagrees is read again other ways and the read
    /// that agrees is kept; a name every read gives alike is as printed, and
    /// whatever disagreement is left is for [`crate::identity::document::assemble`]
    /// to report. Either way a name that agrees, or reads alike every way, counts
    /// as confirmed. A name whose label was not read is looked for by what the MRZ
    /// says it is, and the patronymic under the given names by its ending
    /// ([`super::front_search`]).
    pub fn reconcile(&mut self, front: &mut FrontFields, lines: &FrontLines, mrz: &Mrz) -> Result<(), VisionError> {
        for (field, value) in &lines.found {
            let (slot, sure, latin) = match field {
                Field::Surname => (&mut front.surname, &mut front.confirmed.surname, &mrz.primary_identifier),
                Field::Given => (&mut front.given_names, &mut front.confirmed.given_names, &mrz.secondary_identifiers),
                _ => continue,
            };
            if latin.is_empty() {
                continue;
            }
            if slot.as_deref().is_some_and(|name| printed_name_agrees(name, mrz, latin)) {
                *sure = true;
                continue;
            }
            let reads = self.front.reread_name(&lines.printed, *value, slot.as_deref())?;
            if let Some(agreeing) = reads.iter().find(|name| printed_name_agrees(name, mrz, latin)) {
                *slot = Some(agreeing.clone());
                *sure = true;
            } else if let Some(mended) =
                slot.iter().chain(&reads).filter_map(|r| without_stray_signs(r)).find(|name| printed_name_agrees(name, mrz, latin))
            {
                // A sign no name is spelled with (ЧЕРНЫЬШЕВ), the rest as the MRZ has it.
                *slot = Some(mended);
                *sure = true;
            } else if let Some(restored) = restore_any_tail(&lines.printed.gray, value.line, slot.iter().chain(&reads), mrz, latin)? {
                // Every look lost the same tail (Щ read as Ш) that the MRZ and the image both show.
                *slot = Some(restored);
                *sure = true;
            } else {
                // Every look reads the same name, with as many words as the MRZ has:
                // printed so. (A word the crop lost would read alike every way.)
                let parts = latin.split(['<', ' ']).filter(|p| !p.is_empty()).count();
                let words = slot.as_deref().map_or(0, |n| n.split_whitespace().count());
                // One look-alike letter or a letter lost at an end from the MRZ's
                // form is a misread however often it is read so.
                let near = slot.as_deref().is_some_and(|name| printed_name_nearly_agrees(name, mrz, latin));
                // A read no name could be spelled as is a misread too.
                let spelled = slot.as_deref().is_some_and(could_be_spelled);
                *sure = !reads.is_empty() && reads.iter().all(|r| slot.as_ref() == Some(r)) && words == parts && !near && spelled;
            }
        }
        // An IIN two looks read alike whose date no printed birth date carried
        // (unread, or misread: 1.08.1980 for 11.08.1980, a clean card of tuning
        // seed 61): the MRZ's birth date, under its check digit, vouches for those
        // six digits instead. Then the IIN: found misread, it no longer vouches
        // for the birth date read with it, which the MRZ may then confirm.
        if lines.iin_date_unvouched && let Some(iin) = front.iin.as_deref() {
            front.confirmed.iin = carries_birth_date(iin, mrz);
        }
        self.recheck_iin(front, lines, mrz)?;
        self.confirm_by_mrz(front, lines, mrz)?;
        let mut names: Vec<(Field, Value)> = lines.found.iter().filter(|(f, _)| matches!(f, Field::Surname | Field::Given)).copied().collect();
        // Print no line of which reads as print: searching it reads noise.
        if !lines.legible {
            return self.ask_untold_letters(front, &lines.printed, &names, mrz);
        }
        let mut taken: Vec<Line> = lines.found.iter().map(|(_, v)| v.line).collect();
        let mut given_at = lines.found.iter().find(|(f, _)| *f == Field::Given).map(|(_, v)| v.line);
        for (field, latin) in [(Field::Surname, &mrz.primary_identifier), (Field::Given, &mrz.secondary_identifiers)] {
            let (slot, sure) = match field {
                Field::Surname => (&mut front.surname, &mut front.confirmed.surname),
                _ => (&mut front.given_names, &mut front.confirmed.given_names),
            };
            // Not found under a label, or found and not confirmed (the label may
            // have led to the wrong line): looked for by what it must say.
            if *sure || latin.is_empty() {
                continue;
            }
            let accept = |gray: &Mat, line: Line, read: &str| {
                if printed_name_agrees(read, mrz, latin) {
                    return Ok(Some(read.to_string()));
                }
                if let Some(mended) = without_stray_signs(read).filter(|name| printed_name_agrees(name, mrz, latin)) {
                    return Ok(Some(mended));
                }
                restore_tail(gray, line, read, mrz, latin)
            };
            if let Some((name, value)) = self.front.find_name(&lines.printed, &taken, cyrillic_letters(latin), accept)? {
                *slot = Some(name);
                *sure = true;
                taken.push(value.line);
                names.push((field, value));
                if field == Field::Given {
                    given_at = Some(value.line);
                }
            }
        }
        if front.patronymic.is_none()
            && let Some(given) = given_at
        {
            if let Some((name, value)) = self.front.find_patronymic(&lines.printed, &taken, given, &mrz.secondary_identifiers, front)? {
                self.front.settle_patronymic(&lines.printed, value, name, front)?;
            }
        }
        self.ask_untold_letters(front, &lines.printed, &names, mrz)
    }

    /// The printed names with the letters no MRZ tells apart asked of another
    /// source: Й and Ъ of the Russian model ([`super::signs`]); the Kazakh letters
    /// of the Kazakh model's other reads of the line ([`FrontReader::spelled_one_way`]):
    /// a name two of its reads spell otherwise, or whose sign the Russian model
    /// puts in doubt, is not confirmed by the MRZ.
    /// `names` are where each was read.
    fn ask_untold_letters(&mut self, front: &mut FrontFields, printed: &Printed, names: &[(Field, Value)], mrz: &Mrz) -> Result<(), VisionError> {
        for (i, (field, value)) in names.iter().enumerate() {
            // A name looked for again was found on another line: the last is kept.
            if names[i + 1..].iter().any(|(f, _)| f == field) {
                continue;
            }
            let (slot, sure, latin) = match field {
                Field::Surname => (&mut front.surname, &mut front.confirmed.surname, &mrz.primary_identifier),
                _ => (&mut front.given_names, &mut front.confirmed.given_names, &mrz.secondary_identifiers),
            };
            if let Some(name) = slot.as_deref() {
                let agrees = |read: &str| printed_name_agrees(read, mrz, latin);
                if agrees(name) && !self.front.spelled_one_way(printed, *value, name, agrees) {
                    *sure = false;
                }
                match self.front.russian_signs(printed, *value, name)? {
                    Signs::Kept => {}
                    Signs::Taken(spelled) => *slot = Some(spelled),
                    Signs::Disputed => *sure = false,
                }
            }
        }
        Ok(())
    }
}

impl DocumentReader {
    /// A printed birth date or IIN whose own looks did not agree (a font whose 3
    /// reads as 5 at one scale and not at another, tuning seed 19) is confirmed
    /// when a look at it reads what the MRZ says: two independent sources
    /// agreeing, as a passport page's MRZ confirms its printed zone ([`FrontReader::read_lines`]).
    /// Only unconfirmed values are looked at, and those accuse nothing: at worst
    /// an unsure value is taken for the MRZ's. A value two looks agreed on is
    /// left to [`Self::recheck_iin`].
    fn confirm_by_mrz(&mut self, front: &mut FrontFields, lines: &FrontLines, mrz: &Mrz) -> Result<(), VisionError> {
        let printed = &lines.printed;
        for (field, value) in &lines.found {
            match field {
                Field::Birth if !front.confirmed.birth_date => {
                    let Some(date) = mrz.birth_date else { continue };
                    if front.birth_date == Some(date)
                        || self.front.any_look_reads(printed, *field, *value, |r| r.birth_date == Some(date))?
                        || self.front.english_reads_date(&printed.gray, *value, date)?
                    {
                        front.birth_date = Some(date);
                        front.confirmed.birth_date = true;
                    }
                }
                Field::Iin if !front.confirmed.iin => {
                    let Some(iin) = mrz.iin_candidate() else { continue };
                    if front.iin.as_deref() == Some(iin) || self.front.any_look_reads(printed, *field, *value, |r| r.iin.as_deref() == Some(iin))? {
                        front.iin = Some(iin.to_string());
                        front.confirmed.iin = true;
                        continue;
                    }
                    // The other models too: one font's digits one model misreads at
                    // every look. Every one of their looks reading another valid IIN
                    // with the MRZ's birth date is that IIN printed, whatever the
                    // Kazakh model made of it (780629506587, its 3s read as 5, for
                    // 780629306387 on a clean card of tuning seed 79).
                    let other = self.front.independent_iin(&printed.gray, *value, iin)?;
                    if other.as_deref() == Some(iin) || other.as_deref().is_some_and(|o| Iin::parse(o).is_ok() && carries_birth_date(o, mrz)) {
                        front.iin = other;
                        front.confirmed.iin = true;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A printed IIN that disagrees with the MRZ's is read again by independent
    /// models (Russian, then English) before it may accuse the card. When any of
    /// their looks reads the MRZ's digits, the disagreement was a misread and that
    /// read is kept; when every look that reads twelve digits reads the Kazakh
    /// model's, the printed IIN is as read (tampered, or misprinted); otherwise the
    /// printed IIN is unsure: reported unreadable, not accused. (One model's habit,
    /// 3 read as 5 in a narrow font, agrees with itself however often it is asked.)
    fn recheck_iin(&mut self, front: &mut FrontFields, lines: &FrontLines, mrz: &Mrz) -> Result<(), VisionError> {
        let (Some(printed), Some(checked)) = (front.iin.clone(), mrz.iin_candidate()) else { return Ok(()) };
        let Some((_, value)) = lines.found.iter().find(|(f, _)| *f == Field::Iin) else { return Ok(()) };
        if printed == checked || !front.confirmed.iin {
            return Ok(());
        }
        let other = self.front.independent_iin(&lines.printed.gray, *value, checked)?;
        if other.as_deref() == Some(checked) {
            front.iin = other.clone();
        }
        if other.as_deref() != Some(printed.as_str()) {
            // The birth date may have been confirmed by carrying the unsure IIN's
            // date: the same misread, maybe. Neither may accuse.
            front.confirmed.iin = other.as_deref() == Some(checked);
            front.confirmed.birth_date = false;
        }
        Ok(())
    }
}

/// Whether the IIN `iin` opens with the MRZ's birth date, that date's check digit passing.
fn carries_birth_date(iin: &str, mrz: &Mrz) -> bool {
    let born = mrz.birth_date.filter(|_| mrz.checks.birth_date);
    born.is_some_and(|d| iin.get(..6) == Some(&d.yymmdd()))
}

/// One way up of a card front, with its portraits blanked.
struct FrontView {
    image: Mat,
    /// Grey, its portraits blanked.
    masked: Mat,
    portrait: Option<Mat>,
    /// Its portrait stands upright: this is the right way up.
    upright: bool,
}

impl DocumentReader {
    /// The front read line by line ([`FrontReader::read_lines`]), the way up its
    /// portrait stands (its eyes above its mouth): YuNet finds no face upside
    /// down (54 tuning fronts turned over: none), and turned over, a front's
    /// lines still read as something: digits as other digits (030823550009 as
    /// 600055578020), which made a card whose labels were too small to read be
    /// taken the wrong way up, where no name could be found. A front with no
    /// portrait either way is read as it lies and, when that finds nothing,
    /// turned over. Returns what was read and the way up it was read.
    fn read_card_front(&mut self, rectified: &Mat) -> Result<(LineRead, Option<FrontView>), VisionError> {
        let mut ways = vec![self.front_view(rectified.try_clone()?, None)?];
        if !ways[0].upright {
            let turned = self.front_view(document::rotate_180(rectified)?, Some(&ways[0]))?;
            if turned.upright {
                ways.insert(0, turned);
            } else {
                ways.push(turned);
            }
        }
        let mut fast = self.front.read_lines(&ways[0].masked, None)?;
        if count(&fast.fields) == 0 && !ways[0].upright && ways.len() > 1 {
            let turned_fast = self.front.read_lines(&ways[1].masked, None)?;
            if count(&turned_fast.fields) > 0 {
                fast = turned_fast;
                ways.swap(0, 1);
            }
        }
        // No slow way: a whole-card block read cost a second and more and read
        // nothing the line reader could not.
        Ok((fast, ways.into_iter().next()))
    }

    /// `image` with its portraits blanked. The other way up of the same card, when
    /// its faces were found, only needs turning: YuNet runs once per card.
    fn front_view(&mut self, image: Mat, other_way: Option<&FrontView>) -> Result<FrontView, VisionError> {
        if let Some(other) = other_way.filter(|o| o.portrait.is_some()) {
            let portrait = other.portrait.as_ref().map(document::rotate_180).transpose()?;
            return Ok(FrontView { masked: document::rotate_180(&other.masked)?, image, portrait, upright: !other.upright });
        }
        let (masked, portrait, upright) = self.mask_portraits(&image)?;
        Ok(FrontView { image, masked, portrait, upright })
    }
}

/// The first of `reads` of a name on `line` whose lost tail [`restore_tail`] restores.
fn restore_any_tail<'a>(
    gray: &Mat,
    line: Line,
    reads: impl Iterator<Item = &'a String>,
    mrz: &Mrz,
    latin: &str,
) -> Result<Option<String>, VisionError> {
    let mut tried: Vec<&String> = Vec::new();
    // The looks often read alike: the image is asked once per distinct read.
    for read in reads {
        if tried.contains(&read) {
            continue;
        }
        tried.push(read);
        if let Some(name) = restore_tail(gray, line, read, mrz, latin)? {
            return Ok(Some(name));
        }
    }
    Ok(None)
}

fn count(f: &FrontFields) -> usize {
    [f.surname.is_some(), f.given_names.is_some(), f.patronymic.is_some(), f.birth_date.is_some(), f.iin.is_some()].iter().filter(|b| **b).count()
}
