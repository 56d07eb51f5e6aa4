//! A document on a flatbed scanner's lid. A light card on a light lid is one
//! bright blob with it, and its edges against the lid too faint to close into
//! an outline: what differs in colour from the lid, whose colour is the
//! image's border, shows the document.

use opencv::core::{self, Mat, Point, Scalar, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;

use super::VisionError;

/// A pixel differing from the lid's colour by more than this in any channel is not lid.
const UNLIKE_THE_LID: f64 = 8.0;
/// The share of the image's border within [`UNLIKE_THE_LID`] of its median
/// colour for the border to be a lid (a desk's grain or cloth is not).
const MIN_LID_SHARE: f64 = 0.9;

/// What differs in colour from the image's border, closed into blobs (255 on
/// 0), when the border is of one colour.
pub fn unlike_the_lid(bgr: &Mat) -> Result<Option<Mat>, VisionError> {
    let mut blurred = Mat::default();
    imgproc::gaussian_blur_def(bgr, &mut blurred, Size::new(5, 5), 0.0)?;
    let Some(lid) = border_colour(&blurred)? else { return Ok(None) };
    let mut difference = Mat::default();
    core::absdiff(&blurred, &lid, &mut difference)?;
    let mut channels: Vector<Mat> = Vector::new();
    core::split(&difference, &mut channels)?;
    let (mut most, mut both) = (Mat::default(), Mat::default());
    core::max(&channels.get(0)?, &channels.get(1)?, &mut both)?;
    core::max(&both, &channels.get(2)?, &mut most)?;
    let mut unlike = Mat::default();
    imgproc::threshold(&most, &mut unlike, UNLIKE_THE_LID, 255.0, imgproc::THRESH_BINARY)?;
    let kernel = imgproc::get_structuring_element_def(imgproc::MORPH_RECT, Size::new(5, 5))?;
    let mut closed = Mat::default();
    imgproc::morphology_ex(&unlike, &mut closed, imgproc::MORPH_CLOSE, &kernel, Point::new(-1, -1), 3, core::BORDER_CONSTANT, imgproc::morphology_default_border_value()?)?;
    Ok(Some(closed))
}

/// The median colour of a strip 2% wide around the image's edge, if nearly
/// all of the strip is that colour.
fn border_colour(bgr: &Mat) -> Result<Option<Scalar>, VisionError> {
    let (w, h) = (bgr.cols(), bgr.rows());
    let strip = (w.min(h) / 50).max(2);
    let mut counts = [[0u32; 256]; 3];
    let mut total = 0u32;
    for y in 0..h {
        let row = bgr.at_row::<core::Vec3b>(y)?;
        let edge_row = y < strip || y >= h - strip;
        for (x, px) in row.iter().enumerate() {
            if edge_row || (x as i32) < strip || x as i32 >= w - strip {
                for c in 0..3 {
                    counts[c][usize::from(px[c])] += 1;
                }
                total += 1;
            }
        }
    }
    let median = |hist: &[u32; 256]| {
        let mut seen = 0;
        hist.iter().position(|n| {
            seen += n;
            seen * 2 >= total
        })
    };
    let medians = counts.each_ref().map(|h| median(h).unwrap_or(0));
    let near = |hist: &[u32; 256], m: usize| {
        let reach = UNLIKE_THE_LID as usize;
        hist[m.saturating_sub(reach)..=(m + reach).min(255)].iter().sum::<u32>()
    };
    let uniform = counts.iter().zip(medians).all(|(h, m)| f64::from(near(h, m)) >= f64::from(total) * MIN_LID_SHARE);
    let [b, g, r] = medians.map(|m| m as f64);
    Ok(uniform.then(|| Scalar::new(b, g, r, 0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::document::tests::scanned_card;

    #[test]
    fn the_card_on_a_lid_is_what_differs_from_it_and_a_desks_grain_is_no_lid() {
        let (scan, _) = scanned_card(Scalar::new(230.0, 232.0, 232.0, 0.0), 6.0);
        let unlike = unlike_the_lid(&scan).unwrap().expect("a lid of one colour");
        assert_eq!(*unlike.at_2d::<u8>(400, 550).unwrap(), 255, "the card's middle");
        assert_eq!(*unlike.at_2d::<u8>(20, 20).unwrap(), 0, "the lid");
        // Wood: bands of grain a few pixels wide, a few tens of levels apart.
        let mut wood = Mat::new_rows_cols_with_default(800, 1100, core::CV_8UC3, Scalar::default()).unwrap();
        for y in 0..800 {
            let shade = 100.0 + 30.0 * (f64::from(y) / 6.0).sin();
            imgproc::line_def(&mut wood, Point::new(0, y), Point::new(1099, y), Scalar::new(shade * 0.6, shade * 0.8, shade, 0.0)).unwrap();
        }
        assert!(unlike_the_lid(&wood).unwrap().is_none());
    }
}
