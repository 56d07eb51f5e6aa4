//! A zone read only as a fallback: a glyph read whose check digits vouch for
//! more than Tesseract's read of the same band ([`crate::vision::ocr::MrzReader::take_fallback`]),
//! kept while the other bands and ways up are tried (a later one may read the
//! zone whole: tuning seed 23, a hard page whose first band read KAZ as `<AZ`),
//! and taken only when none reads and no printed front does either.

use opencv::core::{Mat, Rect};
use opencv::prelude::*;

use super::{DocumentReader, SideRead, count};
use crate::identity::Date;
use crate::vision::VisionError;
use crate::vision::document::DocumentShape;
use crate::vision::ocr::MrzText;

/// A fallback zone and where it was read.
pub(super) struct Provisional {
    image: Mat,
    shape: DocumentShape,
    band: Rect,
    mrz_from: Option<(Mat, Rect)>,
    text: MrzText,
}

impl DocumentReader {
    /// Keeps the fallback of the zone just read on `image` (as
    /// [`Self::mrz_side_in`] was given it), unless one is kept already: the
    /// first band tried is the likeliest.
    pub(super) fn keep_provisional(&mut self, image: &Mat, shape: DocumentShape, band: Rect, mrz_from: Option<(&Mat, Rect)>) -> Result<(), VisionError> {
        let Some(text) = self.mrz.take_fallback() else { return Ok(()) };
        if self.provisional.is_none() {
            let mrz_from = mrz_from.map(|(m, b)| m.try_clone().map(|m| (m, b))).transpose()?;
            self.provisional = Some(Provisional { image: image.try_clone()?, shape, band, mrz_from, text });
        }
        Ok(())
    }

    /// `side`, unless it read no zone and at most one printed field while a
    /// fallback zone was kept: then the side that zone gives.
    pub(super) fn side_or_provisional(&mut self, side: SideRead, on: Date) -> Result<SideRead, VisionError> {
        let Some(kept) = self.provisional.take() else { return Ok(side) };
        if side.mrz.is_some() || side.front.as_ref().map_or(0, count) >= 2 {
            return Ok(side);
        }
        let mrz_from = kept.mrz_from.as_ref().map(|(m, b)| (m, *b));
        Ok(self.side_from_text(&kept.image, kept.shape, kept.band, mrz_from, kept.text, on)?.unwrap_or(side))
    }
}

