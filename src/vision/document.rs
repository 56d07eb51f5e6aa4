//! Finding an ID card (ID-1) or passport page (ID-3) in a photo and flattening it.
//! Enters: a BGR image. Leaves: the document's four corners, its kind by aspect
//! ratio, a rectified image at a fixed size, and sharpness/glare figures — so OCR
//! always sees the same geometry whatever the camera angle.

use opencv::core::{self, Mat, Point, Point2f, Rect, Scalar, Size, Vector};
use opencv::imgproc;
use opencv::prelude::*;
use serde::Serialize;

use super::VisionError;

/// ID-1 (85.60 × 53.98 mm) and ID-3 (125 × 88 mm) aspect ratios.
const ID1_ASPECT: f32 = 85.60 / 53.98;
const ID3_ASPECT: f32 = 125.0 / 88.0;
/// Rectified sizes: about 300 dpi for a card, the same scale for a passport page.
pub const ID1_SIZE: (i32, i32) = (1011, 638);
pub const ID3_SIZE: (i32, i32) = (1476, 1039);
/// Detection runs on a copy at most this wide.
const WORK_WIDTH: f64 = 960.0;
/// A document smaller than this share of the frame is too far to read.
const MIN_AREA_SHARE: f64 = 0.08;
/// A document on its side is taken from this share: a card's own portrait,
/// upright, is a tenth of a scan the card fills.
const MIN_SIDEWAYS_SHARE: f64 = 0.15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentShape {
    Id1,
    Id3,
}

impl DocumentShape {
    pub fn size(self) -> Size {
        let (w, h) = match self {
            DocumentShape::Id1 => ID1_SIZE,
            DocumentShape::Id3 => ID3_SIZE,
        };
        Size::new(w, h)
    }
}

/// A document's outline found in an image.
#[derive(Clone, Copy, Debug)]
pub struct Outline {
    /// Top-left, top-right, bottom-right, bottom-left, in image pixels.
    pub corners: [Point2f; 4],
    pub shape: DocumentShape,
    /// Share of the image the document covers.
    pub area_share: f32,
}

impl Outline {
    /// Whether the document lies on its side in the image ([`quarter_turned`]).
    pub fn on_its_side(&self) -> bool {
        let [tl, tr, ..] = self.corners;
        (tr.y - tl.y).abs() > (tr.x - tl.x).abs()
    }
}

/// A document found in an image and flattened.
pub struct Located {
    pub outline: Outline,
    /// The document flattened to [`DocumentShape::size`].
    pub rectified: Mat,
}

/// Finds the largest document-shaped quadrilateral and flattens it.
pub fn locate(bgr: &Mat) -> Result<Option<Located>, VisionError> {
    let Some(outline) = outline(bgr)? else { return Ok(None) };
    let rectified = warp(bgr, &outline.corners, outline.shape)?;
    Ok(Some(Located { outline, rectified }))
}

/// The largest document-shaped quadrilateral, not yet flattened: flattening a
/// passport page costs as much again as finding it, and a scan filling the image
/// is taken whole instead.
pub fn outline(bgr: &Mat) -> Result<Option<Outline>, VisionError> {
    if bgr.empty() {
        return Err(VisionError::BadImage("empty image".into()));
    }
    let scale = (WORK_WIDTH / f64::from(bgr.cols())).min(1.0);
    // Grey before shrinking: the outline needs no colour, and shrinking one
    // channel by area averaging costs a third of three.
    let mut gray = Mat::default();
    imgproc::cvt_color_def(bgr, &mut gray, imgproc::COLOR_BGR2GRAY)?;
    let mut small = Mat::default();
    imgproc::resize(&gray, &mut small, Size::new(0, 0), scale, scale, imgproc::INTER_AREA)?;
    let image_area = f64::from(small.cols() * small.rows());
    // The largest document lying level, else the largest card on its side (held
    // upright): a card's own portrait, upright, is never taken for it when its
    // outline is found. A passport page on its side is not looked for: an open
    // booklet has that shape (hard tuning photos: 15 booklets whose page was not
    // found were taken for one).
    type Found = Option<([Point2f; 4], f64, DocumentShape)>;
    let (mut best, mut sideways): (Found, Found) = (None, None);
    for mask in candidate_masks(&small)? {
        let mut contours: Vector<Vector<Point>> = Vector::new();
        imgproc::find_contours_def(&mask, &mut contours, imgproc::RETR_EXTERNAL, imgproc::CHAIN_APPROX_SIMPLE)?;
        for contour in &contours {
            let area = imgproc::contour_area_def(&contour)?;
            let larger = |b: &Found| b.as_ref().is_none_or(|b| area > b.1);
            if area < image_area * MIN_AREA_SHARE || !(larger(&best) || larger(&sideways)) {
                continue;
            }
            let Some(quad) = quadrilateral(&contour)? else { continue };
            if let Some(shape) = shape_of(&quad) {
                if larger(&best) {
                    best = Some((quad, area, shape));
                }
            } else if larger(&sideways) && area >= image_area * MIN_SIDEWAYS_SHARE {
                let turned = quarter_turned(&quad);
                if shape_of(&turned) == Some(DocumentShape::Id1) {
                    sideways = Some((turned, area, DocumentShape::Id1));
                }
            }
        }
    }
    let Some((quad, area, shape)) = best.or(sideways) else { return Ok(None) };
    let inv = (1.0 / scale) as f32;
    let corners = quad.map(|p| Point2f::new(p.x * inv, p.y * inv));
    Ok(Some(Outline { corners, shape, area_share: (area / image_area) as f32 }))
}

/// Two views of the document's outline in a grey image: its edges, and its
/// brightness against the background. Either can fail alone (a white card on
/// white paper, a textured desk).
fn candidate_masks(gray: &Mat) -> Result<Vec<Mat>, VisionError> {
    let mut blurred = Mat::default();
    imgproc::gaussian_blur_def(gray, &mut blurred, Size::new(5, 5), 0.0)?;
    let kernel = imgproc::get_structuring_element_def(imgproc::MORPH_RECT, Size::new(5, 5))?;

    let mut edges = Mat::default();
    imgproc::canny_def(&blurred, &mut edges, 40.0, 120.0)?;
    let mut closed_edges = Mat::default();
    imgproc::morphology_ex_def(&edges, &mut closed_edges, imgproc::MORPH_CLOSE, &kernel)?;

    let mut bright = Mat::default();
    imgproc::threshold(&blurred, &mut bright, 0.0, 255.0, imgproc::THRESH_BINARY | imgproc::THRESH_OTSU)?;
    let mut closed_bright = Mat::default();
    imgproc::morphology_ex(
        &bright,
        &mut closed_bright,
        imgproc::MORPH_CLOSE,
        &kernel,
        Point::new(-1, -1),
        3,
        core::BORDER_CONSTANT,
        imgproc::morphology_default_border_value()?,
    )?;
    Ok(vec![closed_edges, closed_bright])
}

/// The contour simplified to four convex corners, if it has that shape.
fn quadrilateral(contour: &Vector<Point>) -> Result<Option<[Point2f; 4]>, VisionError> {
    let mut hull: Vector<Point> = Vector::new();
    imgproc::convex_hull_def(contour, &mut hull)?;
    let perimeter = imgproc::arc_length(&hull, true)?;
    // Rounded card corners need a coarser approximation than sharp ones.
    for epsilon in [0.02, 0.03, 0.045, 0.06] {
        let mut approx: Vector<Point> = Vector::new();
        imgproc::approx_poly_dp(&hull, &mut approx, epsilon * perimeter, true)?;
        if approx.len() == 4 && imgproc::is_contour_convex(&approx)? {
            let pts: Vec<Point2f> = approx.iter().map(|p| Point2f::new(p.x as f32, p.y as f32)).collect();
            return Ok(Some(order_corners(&pts)));
        }
    }
    Ok(None)
}

/// Orders four points as top-left, top-right, bottom-right, bottom-left.
pub fn order_corners(p: &[Point2f]) -> [Point2f; 4] {
    let by = |f: &dyn Fn(&Point2f) -> f32, max: bool| {
        *p.iter().max_by(|a, b| if max { f(a).total_cmp(&f(b)) } else { f(b).total_cmp(&f(a)) }).unwrap()
    };
    let tl = by(&|q| q.x + q.y, false);
    let br = by(&|q| q.x + q.y, true);
    let tr = by(&|q| q.x - q.y, true);
    let bl = by(&|q| q.x - q.y, false);
    [tl, tr, br, bl]
}

/// Whether the point (image pixels) lies within the quadrilateral `corners`
/// ([`order_corners`] order, so either winding; convex, as [`locate`] finds it).
pub fn covers(corners: &[Point2f; 4], x: f32, y: f32) -> bool {
    let side = |a: Point2f, b: Point2f| (b.x - a.x) * (y - a.y) - (b.y - a.y) * (x - a.x);
    let sides = [0, 1, 2, 3].map(|i| side(corners[i], corners[(i + 1) % 4]));
    sides.iter().all(|s| *s >= 0.0) || sides.iter().all(|s| *s <= 0.0)
}

fn distance(a: Point2f, b: Point2f) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// The corners of a document lying on its side renamed so that its long sides
/// are its top and bottom: flattened, it comes out level, upright or upside
/// down (which the reader turns).
pub fn quarter_turned(q: &[Point2f; 4]) -> [Point2f; 4] {
    [q[3], q[0], q[1], q[2]]
}

/// ID-1 or ID-3 by the quadrilateral's side lengths; `None` if neither fits.
fn shape_of(q: &[Point2f; 4]) -> Option<DocumentShape> {
    let width = (distance(q[0], q[1]) + distance(q[3], q[2])) / 2.0;
    let height = (distance(q[0], q[3]) + distance(q[1], q[2])) / 2.0;
    if height < 1.0 {
        return None;
    }
    let aspect = width / height;
    let (d1, d3) = ((aspect - ID1_ASPECT).abs(), (aspect - ID3_ASPECT).abs());
    // Perspective skews the ratio; allow what a hand-held card at ~15° produces.
    if d1.min(d3) > 0.22 {
        return None;
    }
    Some(if d1 < d3 { DocumentShape::Id1 } else { DocumentShape::Id3 })
}

/// The document with these corners (TL, TR, BR, BL) flattened to its kind's size.
pub fn warp(bgr: &Mat, corners: &[Point2f; 4], shape: DocumentShape) -> Result<Mat, VisionError> {
    let size = shape.size();
    let (w, h) = (size.width as f32, size.height as f32);
    let src: Vector<Point2f> = Vector::from_slice(corners);
    let dst: Vector<Point2f> =
        Vector::from_slice(&[Point2f::new(0.0, 0.0), Point2f::new(w, 0.0), Point2f::new(w, h), Point2f::new(0.0, h)]);
    let m = imgproc::get_perspective_transform_def(&src, &dst)?;
    let mut out = Mat::default();
    imgproc::warp_perspective(bgr, &mut out, &m, size, imgproc::INTER_LINEAR, core::BORDER_REPLICATE, Scalar::default())?;
    Ok(out)
}

/// A 180° turn of a rectified document (held upside down).
pub fn rotate_180(image: &Mat) -> Result<Mat, VisionError> {
    let mut out = Mat::default();
    core::rotate(image, &mut out, core::ROTATE_180)?;
    Ok(out)
}

/// The share of a rim of one colour within a few grey levels of its median.
/// Tuning images (seeds 5-59): 218 of 226 scans with a margin of lid reach it
/// (0.92 and over where the margin is a few pixels), one of 72 scans the page
/// fills (cut by a pixel or two, the rest 0.19-0.72), no photo (0.14-0.88:
/// desk, fingers, JPEG noise).
const ONE_COLOUR_RIM: f64 = 0.97;

/// Whether the image's outermost rim (half a percent of its size) is of one
/// colour, as a scanner's lid around what lay on it.
pub fn rim_of_one_colour(bgr: &Mat) -> Result<bool, VisionError> {
    let mut gray = Mat::default();
    imgproc::cvt_color_def(bgr, &mut gray, imgproc::COLOR_BGR2GRAY)?;
    let (cols, rows) = (gray.cols(), gray.rows());
    let rim = (cols.min(rows) / 200).max(2);
    let bytes = gray.data_bytes()?;
    let rim_columns = |r: i32| -> Vec<i32> { if r < rim || r >= rows - rim { (0..cols).collect() } else { (0..rim).chain(cols - rim..cols).collect() } };
    let mut levels: Vec<u8> = (0..rows).flat_map(|r| rim_columns(r).into_iter().map(move |c| bytes[(r * cols + c) as usize])).collect();
    if levels.is_empty() {
        return Ok(false);
    }
    let middle = levels.len() / 2;
    let median = *levels.select_nth_unstable(middle).1;
    let near = levels.iter().filter(|v| v.abs_diff(median) <= 12).count();
    Ok(near as f64 >= ONE_COLOUR_RIM * levels.len() as f64)
}

/// A document turned by `degrees` about its middle (counter-clockwise as
/// seen), at its own size: a small tilt taken out, its edges filled from the
/// nearest pixels.
pub fn turn(image: &Mat, degrees: f32) -> Result<Mat, VisionError> {
    let centre = Point2f::new(image.cols() as f32 / 2.0, image.rows() as f32 / 2.0);
    let rotation = imgproc::get_rotation_matrix_2d(centre, f64::from(degrees), 1.0)?;
    let mut out = Mat::default();
    imgproc::warp_affine(image, &mut out, &rotation, image.size()?, imgproc::INTER_LINEAR, core::BORDER_REPLICATE, Scalar::default())?;
    Ok(out)
}

/// How readable a region is: sharpness (variance of the Laplacian) and the share of
/// blown-out pixels (glare hides digits).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Readability {
    pub sharpness: f32,
    pub glare: f32,
}

pub fn readability(image: &Mat, region: Rect) -> Result<Readability, VisionError> {
    let region = region & Rect::new(0, 0, image.cols(), image.rows());
    let roi = Mat::roi(image, region)?;
    let mut gray = Mat::default();
    imgproc::cvt_color_def(&roi, &mut gray, imgproc::COLOR_BGR2GRAY)?;
    let mut laplacian = Mat::default();
    imgproc::laplacian_def(&gray, &mut laplacian, core::CV_64F)?;
    let (mut mean, mut sd) = (Mat::default(), Mat::default());
    core::mean_std_dev_def(&laplacian, &mut mean, &mut sd)?;
    let sd = *sd.at::<f64>(0)? as f32;
    let mut blown = Mat::default();
    imgproc::threshold(&gray, &mut blown, 250.0, 1.0, imgproc::THRESH_BINARY)?;
    let glare = core::count_non_zero(&blown)? as f32 / (region.area().max(1) as f32);
    Ok(Readability { sharpness: sd * sd, glare })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_held_upright_is_outlined_on_its_side_and_a_booklet_open_upright_is_not() {
        let desk = |w: i32, h: i32| {
            let mut frame = Mat::new_rows_cols_with_default(720, 1280, core::CV_8UC3, Scalar::all(40.0)).unwrap();
            imgproc::rectangle(&mut frame, Rect::new(640 - w / 2, 360 - h / 2, w, h), Scalar::all(225.0), -1, imgproc::LINE_8, 0).unwrap();
            frame
        };
        let card = outline(&desk(380, 600)).unwrap().expect("a card on its side");
        assert_eq!(card.shape, DocumentShape::Id1);
        assert!(card.on_its_side());
        // Two pages of 125 x 88 mm side by side, upright: 88 x 176 mm (aspect 0.71).
        assert!(outline(&desk(440, 620)).unwrap().is_none());
        let level = outline(&desk(600, 380)).unwrap().expect("a card lying level");
        assert!(!level.on_its_side());
    }

    #[test]
    fn a_lid_round_a_card_is_a_rim_of_one_colour_and_a_card_cut_by_the_frame_is_not() {
        let mut scan = Mat::new_rows_cols_with_default(400, 600, core::CV_8UC3, Scalar::new(238.0, 240.0, 241.0, 0.0)).unwrap();
        let card = Rect::new(60, 50, 470, 300);
        imgproc::rectangle(&mut scan, card, Scalar::new(90.0, 120.0, 140.0, 0.0), -1, imgproc::LINE_8, 0).unwrap();
        assert!(rim_of_one_colour(&scan).unwrap());
        let mut tight = scan.clone();
        imgproc::rectangle(&mut tight, Rect::new(0, 0, 600, 200), Scalar::new(90.0, 120.0, 140.0, 0.0), -1, imgproc::LINE_8, 0).unwrap();
        assert!(!rim_of_one_colour(&tight).unwrap());
    }

    #[test]
    fn corners_are_ordered_whatever_the_input_order() {
        let pts = [Point2f::new(100.0, 90.0), Point2f::new(10.0, 10.0), Point2f::new(12.0, 95.0), Point2f::new(98.0, 5.0)];
        let [tl, tr, br, bl] = order_corners(&pts);
        assert_eq!((tl, tr, br, bl), (pts[1], pts[3], pts[0], pts[2]));
    }

    #[test]
    fn covers_tells_points_on_a_tilted_card_from_points_beside_it() {
        let card = [Point2f::new(300.0, 150.0), Point2f::new(950.0, 120.0), Point2f::new(970.0, 530.0), Point2f::new(320.0, 560.0)];
        assert!(covers(&card, 400.0, 300.0));
        assert!(covers(&card, 960.0, 500.0));
        assert!(!covers(&card, 200.0, 300.0));
        assert!(!covers(&card, 600.0, 130.0), "above the tilted top edge");
        assert!(!covers(&card, 600.0, 600.0));
        let reversed = [card[3], card[2], card[1], card[0]];
        assert!(covers(&reversed, 400.0, 300.0) && !covers(&reversed, 200.0, 300.0));
    }

    #[test]
    fn a_drawn_card_is_found_and_flattened_to_id1() {
        let mut image = Mat::new_rows_cols_with_default(720, 1280, core::CV_8UC3, Scalar::all(60.0)).unwrap();
        // A light card, 2:1.26 like ID-1, slightly rotated.
        let quad: Vector<Point> =
            Vector::from_slice(&[Point::new(300, 150), Point::new(950, 120), Point::new(970, 530), Point::new(320, 560)]);
        let quads: Vector<Vector<Point>> = Vector::from_iter([quad]);
        imgproc::fill_poly_def(&mut image, &quads, Scalar::all(220.0)).unwrap();
        let found = locate(&image).unwrap().expect("card found");
        assert_eq!(found.outline.shape, DocumentShape::Id1);
        assert_eq!((found.rectified.cols(), found.rectified.rows()), ID1_SIZE);
        assert!((found.outline.corners[0].x - 300.0).abs() < 12.0 && (found.outline.corners[0].y - 150.0).abs() < 12.0, "{:?}", found.outline.corners);
        assert!(locate(&Mat::new_rows_cols_with_default(200, 200, core::CV_8UC3, Scalar::all(60.0)).unwrap()).unwrap().is_none());
    }
}
