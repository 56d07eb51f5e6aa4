//! Where the printed photo around a detected face ends on a document: its four
//! borders, found as long straight edges, so blanking the photo never blanks the
//! text printed beside it (a guessed box cut the first letters of names printed
//! close to the photo). Enters: a grey rectified document and a face box.
//! Leaves: the photo's rectangle.

use opencv::core::{self, Mat, Rect};
use opencv::imgproc;
use opencv::prelude::*;

use super::VisionError;

/// A photo's border is an edge along at least this share of the photo's side
/// (nearly all of it); a text line beside it is broken by the gaps between letters.
const BORDER_SHARE: f64 = 0.75;
/// A grey-level step this strong (Sobel, 3×3) counts as edge.
const EDGE: u16 = 60;

/// The printed photo around `face`: up to its borders where they show, else a
/// margin that stays close to the face (a photo whose background melts into the
/// card needs no blanking beyond its subject).
pub fn photo_around(gray: &Mat, face: Rect) -> Result<Rect, VisionError> {
    let bounds = Rect::new(0, 0, gray.cols(), gray.rows());
    let (w, h) = (face.width, face.height);
    // How far the photo may reach: hair above, shoulders below, some background beside.
    let outer = Rect::new(face.x - w * 7 / 10, face.y - h * 8 / 10, w * 24 / 10, h * 31 / 10) & bounds;
    if outer.width < 8 || outer.height < 8 {
        return Ok(face & bounds);
    }
    let roi = Mat::roi(gray, outer)?;
    let (mut gx, mut gy) = (Mat::default(), Mat::default());
    imgproc::sobel_def(&roi, &mut gx, core::CV_16S, 1, 0)?;
    imgproc::sobel_def(&roi, &mut gy, core::CV_16S, 0, 1)?;
    let (fx0, fy0) = (face.x - outer.x, face.y - outer.y);
    let (fx1, fy1) = (fx0 + w, fy0 + h);
    let rows = (fy0.max(0), fy1.min(outer.height));
    let cols = (fx0.max(0), fx1.min(outer.width));
    // A border wobbles by a pixel across its line after rectification.
    let (gx, gy) = (Gradient::of(&gx)?, Gradient::of(&gy)?);
    let column_share = |c: i32| gx.edge_share(rows, |r, d| (r, c + d));
    let row_share = |r: i32| gy.edge_share(cols, |c, d| (r + d, c));
    // The first long edge out from the face on each side. Blanking too little
    // leaves a little texture, which reads as no line; blanking too much cuts
    // the text printed beside the photo. So a long edge inside the photo (a
    // curtain fold) may stop the search early, and one beyond it (the card's
    // header band, a row of digits under the photo) must never be reached.
    let first = |mut range: Box<dyn Iterator<Item = i32>>, score: &dyn Fn(i32) -> f64| range.find(|&i| score(i) >= BORDER_SHARE);
    let left = first(Box::new((0..fx0.max(0)).rev()), &column_share).unwrap_or(fx0 - w / 5);
    let right = first(Box::new(fx1.min(outer.width)..outer.width), &column_share).unwrap_or(fx1 + w / 5);
    let top = first(Box::new((0..fy0.max(0)).rev()), &row_share).unwrap_or(fy0 - h / 3);
    let bottom = first(Box::new(fy1.min(outer.height)..outer.height), &row_share).unwrap_or(fy1 + h / 2);
    // A pixel or two more, for the border's own anti-aliasing.
    let rect = Rect::new(outer.x + left - 2, outer.y + top - 2, right - left + 5, bottom - top + 5);
    Ok(rect & bounds)
}

/// A Sobel gradient's values, read straight from its pixels: the border search
/// looks at some 300 000 of them per photo, and one `Mat::at_2d` call each (its
/// type and bounds checked every time) cost 15-18 ms a passport page.
struct Gradient<'a> {
    values: &'a [i16],
    width: i32,
    height: i32,
}

impl<'a> Gradient<'a> {
    fn of(gradient: &'a Mat) -> Result<Self, VisionError> {
        Ok(Self { values: gradient.data_typed::<i16>()?, width: gradient.cols(), height: gradient.rows() })
    }

    fn strong(&self, (r, c): (i32, i32)) -> bool {
        (0..self.height).contains(&r) && (0..self.width).contains(&c) && self.values[(r * self.width + c) as usize].unsigned_abs() >= EDGE
    }

    /// Share of the positions along `span` where the gradient is an edge at
    /// `at(position, offset)` for some offset of -1, 0 or 1 across the border.
    fn edge_share(&self, span: (i32, i32), at: impl Fn(i32, i32) -> (i32, i32)) -> f64 {
        if span.1 <= span.0 {
            return 0.0;
        }
        let hits = (span.0..span.1).filter(|&i| (-1..=1).any(|d| self.strong(at(i, d)))).count();
        hits as f64 / f64::from(span.1 - span.0)
    }
}
