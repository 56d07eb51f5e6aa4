//! Reading one side of a document from an image: find and flatten it, then read
//! its MRZ (either way up) or, failing that, its printed front.

use std::path::Path;

use opencv::core::{Mat, Rect};
use opencv::prelude::*;

use super::VisionError;
use super::document::{self, DocumentShape, Readability};
use super::face::{BoxF, FaceDetector};
use super::ocr::{FrontReader, MrzReader};
use crate::identity::{Date, FrontFields, Iin, Mrz};

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
}

pub struct DocumentReader {
    mrz: MrzReader,
    front: FrontReader,
    faces: FaceDetector,
}

/// A card portrait is small and printed: the detector may score it lower than a live face.
const PORTRAIT_SCORE: f32 = 0.6;

impl DocumentReader {
    pub fn load(models_dir: &Path) -> Result<Self, VisionError> {
        Ok(Self {
            mrz: MrzReader::load(models_dir)?,
            front: FrontReader::load()?,
            faces: FaceDetector::load(&models_dir.join(super::YUNET_MODEL), 640, PORTRAIT_SCORE)?,
        })
    }

    /// Blanks every face on the front (the portrait and its ghost image) so their
    /// texture does not turn into letters; returns the largest as the portrait.
    fn mask_portraits(&mut self, front: &Mat) -> Result<(Mat, Option<Mat>), VisionError> {
        let faces = self.faces.detect(front)?;
        let mut masked = front.try_clone()?;
        let bounds = Rect::new(0, 0, front.cols(), front.rows());
        let mut portrait: Option<(f32, Rect)> = None;
        for face in &faces {
            // The printed photo reaches well beyond the face: hair above, shoulders below.
            let b = face.bbox;
            let photo = BoxF { x: b.x - 0.4 * b.width, y: b.y - 0.55 * b.height, width: 1.8 * b.width, height: 2.0 * b.height };
            let rect = Rect::new(photo.x as i32, photo.y as i32, photo.width as i32, photo.height as i32) & bounds;
            opencv::imgproc::rectangle(&mut masked, rect, opencv::core::Scalar::all(255.0), -1, opencv::imgproc::LINE_8, 0)?;
            if portrait.is_none_or(|(area, _)| b.area() > area) {
                portrait = Some((b.area(), rect));
            }
        }
        let portrait = portrait.map(|(_, rect)| Mat::roi(front, rect).and_then(|m| m.try_clone())).transpose()?;
        Ok((masked, portrait))
    }

    /// One side from a whole image: find and flatten the document, then read it.
    pub fn read_side(&mut self, bgr: &Mat, on: Date) -> Result<SideRead, VisionError> {
        match flatten(bgr)? {
            Some((rectified, shape)) => self.read_flattened(&rectified, shape, on),
            None => Ok(SideRead { shape: None, mrz: None, front: None, readability: None, rectified: None, portrait: None }),
        }
    }

    /// One side from a document already flattened (the session engine flattens every
    /// frame for its framing figures and reads that same image).
    pub fn read_flattened(&mut self, rectified: &Mat, shape: DocumentShape, on: Date) -> Result<SideRead, VisionError> {
        for image in [rectified.try_clone()?, document::rotate_180(&rectified)?] {
            if let Some(lines) = self.mrz.read(&image, shape)?
                && let Ok(mrz) = Mrz::parse_on(&lines, on)
            {
                let readability = document::readability(&image, super::ocr::mrz_band(&image, shape))?;
                // A passport's data page carries the portrait; a card's back does not.
                let portrait = if shape == DocumentShape::Id3 { self.mask_portraits(&image)?.1 } else { None };
                return Ok(SideRead {
                    shape: Some(shape),
                    mrz: Some(mrz),
                    front: None,
                    readability: Some(readability),
                    rectified: Some(image),
                    portrait,
                });
            }
        }
        // No MRZ: a card front. Upside down, its labels would not read at all.
        let mut best: Option<(FrontFields, Mat, Option<Mat>)> = None;
        for image in [rectified.try_clone()?, document::rotate_180(&rectified)?] {
            let (masked, portrait) = self.mask_portraits(&image)?;
            let fields = self.read_front(&masked, &image)?;
            let found = count(&fields);
            if found > best.as_ref().map_or(0, |(f, _, _)| count(f)) {
                best = Some((fields, image, portrait));
            }
            if found >= 4 {
                break;
            }
        }
        let (front, image, portrait) = match best {
            Some((f, i, p)) => (Some(f), i, p),
            None => (None, rectified.try_clone()?, None),
        };
        let readability = document::readability(&image, Rect::new(0, 0, image.cols(), image.rows()))?;
        Ok(SideRead { shape: Some(shape), mrz: None, front, readability: Some(readability), rectified: Some(image), portrait })
    }
}

impl DocumentReader {
    /// Up to three OCR passes, each only filling what the earlier ones missed (or
    /// replacing an IIN whose check digit fails); stops as soon as the front is
    /// complete and agrees with itself.
    fn read_front(&mut self, masked: &Mat, unmasked: &Mat) -> Result<FrontFields, VisionError> {
        let mut fields = FrontFields::default();
        for (image, scale) in [(masked, 1.5), (masked, 2.0), (unmasked, 1.5)] {
            let pass = self.front.read(image, scale)?;
            merge(&mut fields, pass);
            if complete(&fields) {
                break;
            }
        }
        Ok(fields)
    }
}

fn merge(into: &mut FrontFields, pass: FrontFields) {
    let iin_ok = |i: &Option<String>| i.as_deref().is_some_and(|s| Iin::parse(s).is_ok());
    if !iin_ok(&into.iin) && (into.iin.is_none() || iin_ok(&pass.iin)) {
        into.iin = pass.iin.or(into.iin.take());
    }
    into.surname = into.surname.take().or(pass.surname);
    into.given_names = into.given_names.take().or(pass.given_names);
    into.patronymic = into.patronymic.take().or(pass.patronymic);
    into.birth_date = into.birth_date.or(pass.birth_date);
}

/// Every field read, and the IIN valid and matching the printed birth date.
fn complete(f: &FrontFields) -> bool {
    count(f) == 5 && f.iin.as_deref().and_then(|s| Iin::parse(s).ok()).is_some_and(|i| Some(i.birth_date()) == f.birth_date)
}

fn count(f: &FrontFields) -> usize {
    [f.surname.is_some(), f.given_names.is_some(), f.patronymic.is_some(), f.birth_date.is_some(), f.iin.is_some()]
        .iter()
        .filter(|b| **b)
        .count()
}

/// The document flattened; a scan that is nothing but the document is taken whole.
fn flatten(bgr: &Mat) -> Result<Option<(Mat, DocumentShape)>, VisionError> {
    if let Some(found) = document::locate(bgr)? {
        return Ok(Some((found.rectified, found.shape)));
    }
    let aspect = bgr.cols() as f32 / bgr.rows().max(1) as f32;
    let shape = if (aspect - 1.586).abs() < 0.08 {
        DocumentShape::Id1
    } else if (aspect - 1.42).abs() < 0.08 {
        DocumentShape::Id3
    } else {
        return Ok(None);
    };
    let mut resized = Mat::default();
    opencv::imgproc::resize(bgr, &mut resized, shape.size(), 0.0, 0.0, opencv::imgproc::INTER_AREA)?;
    Ok(Some((resized, shape)))
}
