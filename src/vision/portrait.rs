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
/// An edge along this share of the photo's side is a printed border, crisp from
/// end to end; a fold of a curtain behind the subject, its shade drifting along
/// it, stays under (0.76-0.95 on tuning cards whose photo it cut short).
const CRISP_SHARE: f64 = 0.98;
/// A grey-level step this strong (Sobel, 3×3) counts as edge.
const EDGE: u16 = 60;

/// The printed photo around `face`: up to its borders where they show, else a
/// margin that stays close to the face (a photo whose background melts into the
/// card needs no blanking beyond its subject).
pub fn photo_around(gray: &Mat, face: Rect) -> Result<Rect, VisionError> {
    let bounds = Rect::new(0, 0, gray.cols(), gray.rows());
    let (w, h) = (face.width, face.height);
    // How far the photo may reach: hair above, shoulders below, some background beside.
    // Sideways the reach allows a wider background (a crisp border only, below).
    let outer = Rect::new(face.x - w, face.y - h * 8 / 10, w * 3, h * 31 / 10) & bounds;
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
    // Sideways a crisp border is looked for first, in the whole reach: beside the
    // photo lie only text (no long upright edge) or the card's own edge. Above and
    // below, the header band and a row of digits are crisp too, so there the first
    // long edge ends the search.
    let crisp = |mut range: Box<dyn Iterator<Item = i32>>| range.find(|&c| column_share(c) >= CRISP_SHARE);
    let near = w * 7 / 10;
    let left = crisp(Box::new((0..fx0.max(0)).rev()))
        .or_else(|| first(Box::new(((fx0 - near).max(0)..fx0.max(0)).rev()), &column_share))
        .unwrap_or(fx0 - w / 5);
    let right = crisp(Box::new(fx1.min(outer.width)..outer.width))
        .or_else(|| first(Box::new(fx1.min(outer.width)..(fx1 + near).min(outer.width)), &column_share))
        .unwrap_or(fx1 + w / 5);
    let top = first(Box::new((0..fy0.max(0)).rev()), &row_share).unwrap_or(fy0 - h / 3);
    let bottom = first(Box::new(fy1.min(outer.height)..outer.height), &row_share).unwrap_or(fy1 + h / 2);
    // A pixel or two more, for the border's own anti-aliasing.
    let rect = Rect::new(outer.x + left - 2, outer.y + top - 2, right - left + 5, bottom - top + 5);
    Ok(rect & bounds)
}

/// The grey level of the card around `rect` (the median of a band a few pixels
/// wide around it): a photo blanked in white would make its own frame of ink, the
/// card beside a white patch being darker than the neighbourhood's mean, and that
/// frame joins the text printed beside the photo into one blob.
pub fn level_around(gray: &Mat, rect: Rect) -> Result<f64, VisionError> {
    const BAND: i32 = 6;
    let bounds = Rect::new(0, 0, gray.cols(), gray.rows());
    let rect = rect & bounds;
    let outer = Rect::new(rect.x - BAND, rect.y - BAND, rect.width + 2 * BAND, rect.height + 2 * BAND) & bounds;
    let (left, right) = (outer.x as usize, (outer.x + outer.width) as usize);
    let mut counts = [0u32; 256];
    for r in outer.y..outer.y + outer.height {
        let row = gray.at_row::<u8>(r)?;
        // Only the band: beside the photo on its rows, whole rows above and below it.
        let pieces = if (rect.y..rect.y + rect.height).contains(&r) {
            [&row[left..rect.x as usize], &row[(rect.x + rect.width) as usize..right]]
        } else {
            [&row[left..right], &[][..]]
        };
        for &level in pieces.into_iter().flatten() {
            counts[usize::from(level)] += 1;
        }
    }
    let total: u32 = counts.iter().sum();
    let mut seen = 0;
    for (level, n) in counts.iter().enumerate() {
        seen += n;
        if 2 * seen > total {
            return Ok(level as f64);
        }
    }
    Ok(255.0)
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

#[cfg(test)]
mod tests {
    use super::*;
    use opencv::core::{Scalar, CV_8UC1};

    /// A light card with a photo (a darker background) whose curtain has a fold
    /// on either side of the subject: a step in shade as long as the photo is tall.
    fn card_with_folded_curtain() -> (Mat, Rect, Rect) {
        let mut card = Mat::new_rows_cols_with_default(400, 600, CV_8UC1, Scalar::all(225.0)).unwrap();
        let photo = Rect::new(60, 60, 200, 260);
        imgproc::rectangle(&mut card, photo, Scalar::all(110.0), -1, imgproc::LINE_8, 0).unwrap();
        // The fold's shade drifts along it, so its step fades here and there.
        for r in 60..320 {
            let shade = 110.0 + 60.0 * (f64::from(r) / 9.0).sin().abs();
            for x in [90, 215] {
                imgproc::line(&mut card, core::Point::new(x, r), core::Point::new(x + 19, r), Scalar::all(shade), 1, imgproc::LINE_8, 0).unwrap();
            }
        }
        let face = Rect::new(125, 120, 75, 95);
        let centre = core::Point::new(face.x + face.width / 2, face.y + face.height / 2);
        imgproc::ellipse(&mut card, centre, core::Size::new(30, 40), 0.0, 0.0, 360.0, Scalar::all(150.0), -1, imgproc::LINE_8, 0).unwrap();
        (card, photo, face)
    }

    #[test]
    fn a_fold_in_the_photos_background_does_not_end_it_short_of_its_border() {
        let (card, photo, face) = card_with_folded_curtain();
        let found = photo_around(&card, face).unwrap();
        // Its sides reach the printed border (within the blanking's own margin).
        assert!((found.x - photo.x).abs() <= 3, "{found:?} vs {photo:?}");
        assert!((found.x + found.width - photo.x - photo.width).abs() <= 3, "{found:?} vs {photo:?}");
    }

    #[test]
    fn a_photo_blanked_takes_the_cards_own_shade_around_it() {
        let (card, photo, _) = card_with_folded_curtain();
        assert_eq!(level_around(&card, photo).unwrap(), 225.0);
    }
}
