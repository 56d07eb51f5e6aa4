//! Where the document is in a whole image: flattened from its outline, or the
//! image taken whole (a scan), and a card taken whole turned level.

use opencv::core::Mat;
use opencv::prelude::*;

use super::{LEVELLING_TURNS, MIN_FRONT_TILT};
use crate::vision::VisionError;
use crate::vision::document::{self, DocumentShape};
use crate::vision::text::Printed;

/// A card taken whole with its scan keeps the tilt it was laid with: turned
/// level, when its print slopes more than [`MIN_FRONT_TILT`], first by its ink's
/// row profile ([`crate::vision::skew`], to half a degree, up to 16), then by its printed
/// lines' slope. Its labels then govern their own values: a card laid 7 degrees
/// askew read its patronymic as the given names. A line's own slope alone is
/// measured only to about 6 degrees, and lines turned 10 were found sloping 0
/// (tuning scans turned 10 degrees: 19 of 32 read exactly, with the profile 32).
/// Photos, flattened from their outline, are not turned: resampling cost reads
/// on blurred ones.
pub(super) fn levelled(image: &Mat) -> Result<Mat, VisionError> {
    let mut level = image.try_clone()?;
    for turn in 0..LEVELLING_TURNS {
        let printed = Printed::of(crate::vision::ocr::gray_of(&level)?)?;
        let profile = if turn == 0 { crate::vision::skew::print_slope(&printed.ink)?.filter(|p| p.abs() > MIN_FRONT_TILT) } else { None };
        let tilt = profile.or_else(|| printed.tilt());
        let Some(tilt) = tilt.filter(|t| t.abs() > MIN_FRONT_TILT) else { break };
        level = document::turn(&level, tilt.atan().to_degrees() as f32)?;
    }
    Ok(level)
}

/// The document flattened, and whether it was taken whole: a scan the
/// document's shape, its outline not found or found reaching the borders; or a
/// scan of no document's shape whose outline is its frame, a lid all round.
pub(super) fn flatten(bgr: &Mat) -> Result<Option<(Mat, DocumentShape, bool)>, VisionError> {
    let whole = whole_image_shape(bgr.cols(), bgr.rows());
    // The outline only: flattening a page costs as much again, and a scan is resized
    // instead. In a scan of a document's shape, what lies on its side is the
    // document's own portrait, its outline lost on a light lid.
    if let Some(found) = document::outline(bgr)?.filter(|o| whole.is_none() || !o.on_its_side()) {
        // On a scan filling the image the page has no outline of its own, and what
        // was found is a part of it (the visual zone above a passport's white MRZ
        // band, say): it reaches the image's borders.
        let (w, h) = (bgr.cols() as f32, bgr.rows() as f32);
        let near = |v: f32, edge: f32, size: f32| (v - edge).abs() < size * 0.02;
        let sides = [
            found.corners.iter().any(|p| near(p.x, 0.0, w)),
            found.corners.iter().any(|p| near(p.x, w, w)),
            found.corners.iter().any(|p| near(p.y, 0.0, h)),
            found.corners.iter().any(|p| near(p.y, h, h)),
        ];
        let framed = sides.iter().filter(|s| **s).count() >= 2;
        if !framed {
            return Ok(Some((document::warp(bgr, &found.corners, found.shape)?, found.shape, false)));
        }
        if whole.is_none() {
            // The image's frame: a document laid askew on a scanner's lid makes a
            // scan of no document's shape, a lid around it; a photo cut tight,
            // desk and card at its rim, is flattened from what was found.
            let lid = document::rim_of_one_colour(bgr)?;
            return Ok(Some((document::warp(bgr, &found.corners, found.shape)?, found.shape, lid)));
        }
    }
    let Some(shape) = whole else { return Ok(None) };
    let mut resized = Mat::default();
    let target = shape.size();
    // Area resampling shrinking by a factor that is not whole is slow (a 1519x1094
    // scan to 1476x1039: 12-16 ms, bilinear 3); shrinking by under a tenth,
    // bilinear loses nothing of the strokes. By more (card scans of the tuning
    // split, 0.88), it cost the reads of two printed IINs and a surname.
    let slightly = |from: i32, to: i32| from > to && from * 9 <= to * 10;
    let interpolation = if slightly(bgr.cols(), target.width) && slightly(bgr.rows(), target.height) { opencv::imgproc::INTER_LINEAR } else { opencv::imgproc::INTER_AREA };
    opencv::imgproc::resize(bgr, &mut resized, target, 0.0, 0.0, interpolation)?;
    Ok(Some((resized, shape, true)))
}

/// The document kind an image `cols` by `rows` would be if it were nothing but the document.
fn whole_image_shape(cols: i32, rows: i32) -> Option<DocumentShape> {
    let aspect = cols as f32 / rows.max(1) as f32;
    if (aspect - 1.586).abs() < 0.08 {
        Some(DocumentShape::Id1)
    } else if (aspect - 1.42).abs() < 0.08 {
        Some(DocumentShape::Id3)
    } else {
        None
    }
}
