//! Connected blobs of ink: their boxes and pixel counts.
//! Enters: a binary image (ink non-zero). Leaves: one [`Component`] per 8-connected blob.
//!
//! OpenCV's `connectedComponentsWithStats` also sums every pixel's coordinates for
//! centroids nobody here reads: on a card's ink (3,600 blobs, 0.65 MP) it took 5 ms
//! where labelling alone takes 1 ms, and the document reader calls it several times a
//! side. So the labels come from OpenCV and the boxes from one pass over them.

use opencv::core::{self, Mat, Rect};
use opencv::imgproc;
use opencv::prelude::*;

use super::VisionError;

/// One blob: its bounding box and how many pixels of ink it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Component {
    pub rect: Rect,
    pub area: i32,
}

/// The 8-connected blobs of `ink` (8-bit, one channel), in label order (top to
/// bottom by first pixel, as OpenCV numbers them).
pub fn components(ink: &Mat) -> Result<Vec<Component>, VisionError> {
    if ink.typ() != core::CV_8UC1 {
        return Err(VisionError::BadImage("components need an 8-bit one-channel image".into()));
    }
    let mut labels = Mat::default();
    let n = imgproc::connected_components_with_algorithm(ink, &mut labels, 8, core::CV_32S, imgproc::CCL_SPAGHETTI)?;
    // (left, top, right, bottom, area) per label; label 0 is the background.
    let mut boxes = vec![(i32::MAX, i32::MAX, i32::MIN, i32::MIN, 0i32); n.max(1) as usize];
    for y in 0..labels.rows() {
        let row: &[i32] = labels.at_row::<i32>(y)?;
        let mut x = 0;
        while x < row.len() {
            let label = row[x];
            if label == 0 {
                x += 1;
                continue;
            }
            // A run of one label on this row updates its box once.
            let start = x;
            while x < row.len() && row[x] == label {
                x += 1;
            }
            let b = &mut boxes[label as usize];
            b.0 = b.0.min(start as i32);
            b.1 = b.1.min(y);
            b.2 = b.2.max(x as i32 - 1);
            b.3 = b.3.max(y);
            b.4 += (x - start) as i32;
        }
    }
    Ok(boxes
        .into_iter()
        .skip(1)
        .map(|(left, top, right, bottom, area)| Component { rect: Rect::new(left, top, right - left + 1, bottom - top + 1), area })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencv::core::Scalar;

    #[test]
    fn boxes_and_areas_match_opencvs_own_statistics() {
        let mut ink = Mat::new_rows_cols_with_default(60, 90, core::CV_8UC1, Scalar::all(0.0)).unwrap();
        imgproc::rectangle(&mut ink, Rect::new(5, 4, 10, 7), Scalar::all(255.0), -1, imgproc::LINE_8, 0).unwrap();
        // A ring (one blob with a hole), a diagonal touching only at corners, and a dot at the edge.
        imgproc::circle(&mut ink, core::Point::new(50, 30), 12, Scalar::all(255.0), 2, imgproc::LINE_8, 0).unwrap();
        for i in 0..8 {
            *ink.at_2d_mut::<u8>(40 + i, 10 + i).unwrap() = 255;
        }
        *ink.at_2d_mut::<u8>(59, 89).unwrap() = 255;
        let ours = components(&ink).unwrap();
        let (mut labels, mut stats, mut centroids) = (Mat::default(), Mat::default(), Mat::default());
        let n = imgproc::connected_components_with_stats(&ink, &mut labels, &mut stats, &mut centroids, 8, core::CV_32S).unwrap();
        let mut theirs: Vec<Component> = (1..n)
            .map(|i| {
                let s = |k: i32| *stats.at_2d::<i32>(i, k).unwrap();
                Component {
                    rect: Rect::new(s(imgproc::CC_STAT_LEFT), s(imgproc::CC_STAT_TOP), s(imgproc::CC_STAT_WIDTH), s(imgproc::CC_STAT_HEIGHT)),
                    area: s(imgproc::CC_STAT_AREA),
                }
            })
            .collect();
        let mut ours_sorted = ours.clone();
        let key = |c: &Component| (c.rect.y, c.rect.x, c.area);
        ours_sorted.sort_by_key(key);
        theirs.sort_by_key(key);
        assert_eq!(ours_sorted, theirs);
        assert_eq!(ours.len(), 4, "rectangle, ring, diagonal, dot");
        assert!(ours.contains(&Component { rect: Rect::new(5, 4, 10, 7), area: 70 }));
        assert!(ours.contains(&Component { rect: Rect::new(10, 40, 8, 8), area: 8 }), "corner-touching pixels are one blob");
    }

    #[test]
    fn an_image_without_ink_has_no_components_and_colour_is_refused() {
        let blank = Mat::new_rows_cols_with_default(20, 20, core::CV_8UC1, Scalar::all(0.0)).unwrap();
        assert!(components(&blank).unwrap().is_empty());
        let colour = Mat::new_rows_cols_with_default(20, 20, core::CV_8UC3, Scalar::all(0.0)).unwrap();
        assert!(matches!(components(&colour), Err(VisionError::BadImage(_))));
    }
}
