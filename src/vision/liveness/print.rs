//! Print cues: a flat picture moves as one plane with its surroundings and keeps its
//! landmark shape. Enters: work-resolution grey frames and YuNet landmarks. Leaves:
//! per-pair planarity and a clip's landmark deformation.
//! - **planarity**: feature points in the face box and in a ring around it, tracked
//!   frame to frame (pyramidal LK); one RANSAC homography fitted to both. A photo or
//!   screen moves as one plane, so face and ring points are both inliers; a real head
//!   moves against its background, so one group falls out.
//! - **landmark deformation**: YuNet's five landmarks after removing the best affine
//!   map to the clip's mean shape. A rigid picture (even tilted: tilt is nearly affine
//!   at these sizes) leaves only detector jitter; blinking, talking and head turns
//!   leave more.

use opencv::core::{self, Mat, Point2f, Rect, Scalar, Size, TermCriteria, Vector};
use opencv::prelude::*;
use opencv::{calib3d, imgproc, video};

use super::{clip_rect, median};
use crate::vision::VisionError;
use crate::vision::face::{BoxF, Point};

/// A face whose tracked points move less than this (work pixels, median) between
/// frames gives no planarity evidence: a still head and a still photo look alike.
const MIN_MOTION_PX: f32 = 0.8;
/// Points per region handed to the tracker, at least this far apart (work pixels).
const MAX_POINTS: i32 = 80;
const MIN_SPACING_PX: f64 = 4.0;
/// Fewer tracked points than this in the face or the ring: no fit for that pair.
const MIN_POINTS: usize = 8;
/// RANSAC inlier distance (work pixels).
const RANSAC_PX: f64 = 1.5;

/// LK's search window and pyramid depth.
const FLOW_WINDOW: Size = Size { width: 21, height: 21 };
const FLOW_LEVELS: i32 = 3;

/// The image pyramid LK tracks on, built once per frame: the frame is the pair's
/// `next` and then the following pair's `prev`. Built exactly as
/// `calcOpticalFlowPyrLK` builds it from a plain image (no derivatives, reflected
/// borders), so the flow is the same as when it built both pyramids itself (twice
/// per pair, for the face and for the ring).
pub fn flow_pyramid(grey: &Mat, pyramid: &mut Vector<Mat>) -> Result<(), VisionError> {
    video::build_optical_flow_pyramid(grey, pyramid, FLOW_WINDOW, FLOW_LEVELS, false, core::BORDER_REFLECT_101, core::BORDER_CONSTANT, true)?;
    Ok(())
}

/// Planarity of one frame pair: min over {face, ring} of the share of its tracked
/// points that one RANSAC homography explains; `None` when the face barely moved or
/// too few points tracked. The pyramids are [`flow_pyramid`]'s of both frames.
pub fn planarity(prev_pyramid: &Vector<Mat>, next_pyramid: &Vector<Mat>, face: BoxF) -> Result<Option<f32>, VisionError> {
    // Corners are searched on the pyramid's half-size level (a quarter of the pixels;
    // LK refines every point at full size anyway), and only inside each region (their
    // cost is per pixel searched, whatever the mask): the face box itself, and the ring
    // around it in its box.
    let half = prev_pyramid.get(1)?;
    let half_face = BoxF { x: face.x / 2.0, y: face.y / 2.0, width: face.width / 2.0, height: face.height / 2.0 };
    let size = half.size()?;
    let (Some(inner), Some(outer)) = (clip_rect(half_face, 0.0, size), clip_rect(half_face, 0.8, size)) else { return Ok(None) };
    let face_corners = corners(&half, inner, &core::no_array())?;
    let mut ring_mask = Mat::new_size_with_default(outer.size(), core::CV_8U, Scalar::all(255.0))?;
    let hole = Rect::new(inner.x - outer.x, inner.y - outer.y, inner.width, inner.height);
    imgproc::rectangle(&mut ring_mask, hole, Scalar::all(0.0), -1, imgproc::LINE_8, 0)?;
    let ring_corners = corners(&half, outer, &ring_mask)?;
    // One LK pass for both groups (each point is tracked on its own, so the result is
    // the same as two passes), then split back.
    let split = face_corners.len();
    let mut all = face_corners;
    all.extend(ring_corners);
    let tracked = track(prev_pyramid, next_pyramid, &all)?;
    let (face_pts, ring_pts): (Vec<_>, Vec<_>) = tracked.into_iter().partition(|(i, _)| *i < split);
    let face_pts: Vec<(Point2f, Point2f)> = face_pts.into_iter().map(|(_, p)| p).collect();
    let ring_pts: Vec<(Point2f, Point2f)> = ring_pts.into_iter().map(|(_, p)| p).collect();
    if face_pts.len() < MIN_POINTS || ring_pts.len() < MIN_POINTS {
        return Ok(None);
    }
    let motion: Vec<f32> = face_pts.iter().map(|(a, b)| (*b - *a).norm() as f32).collect();
    if median(&motion).unwrap_or(0.0) < MIN_MOTION_PX {
        return Ok(None);
    }
    let src: Vector<Point2f> = face_pts.iter().chain(&ring_pts).map(|p| p.0).collect();
    let dst: Vector<Point2f> = face_pts.iter().chain(&ring_pts).map(|p| p.1).collect();
    let mut inliers = Mat::default();
    let h = calib3d::find_homography(&src, &dst, &mut inliers, calib3d::RANSAC, RANSAC_PX)?;
    if h.empty() || inliers.rows() as usize != src.len() {
        return Ok(None);
    }
    let share = |from: usize, to: usize| -> Result<f32, VisionError> {
        let mut n = 0usize;
        for i in from..to {
            n += usize::from(*inliers.at::<u8>(i as i32)? != 0);
        }
        Ok(n as f32 / (to - from) as f32)
    };
    let split = face_pts.len();
    Ok(Some(share(0, split)?.min(share(split, src.len())?)))
}

/// Corners in `region` of the half-size image `half` (where `mask`, of the region's
/// size, allows), in full-size pixels.
fn corners(half: &Mat, region: Rect, mask: &impl core::ToInputArray) -> Result<Vec<Point2f>, VisionError> {
    let mut corners: Vector<Point2f> = Vector::new();
    imgproc::good_features_to_track(&Mat::roi(half, region)?, &mut corners, MAX_POINTS, 0.01, MIN_SPACING_PX / 2.0, mask, 3, false, 0.04)?;
    Ok(corners.iter().map(|p| Point2f::new(2.0 * (p.x + region.x as f32), 2.0 * (p.y + region.y as f32))).collect())
}

/// `corners` tracked from one pyramid into the other: (index, (from, to)) of those that tracked.
fn track(prev: &Vector<Mat>, next: &Vector<Mat>, corners: &[Point2f]) -> Result<Vec<(usize, (Point2f, Point2f))>, VisionError> {
    if corners.is_empty() {
        return Ok(Vec::new());
    }
    let corners: Vector<Point2f> = corners.iter().copied().collect();
    let mut moved: Vector<Point2f> = Vector::new();
    let mut status: Vector<u8> = Vector::new();
    let mut err: Vector<f32> = Vector::new();
    let criteria = TermCriteria::new(core::TermCriteria_COUNT | core::TermCriteria_EPS, 20, 0.03)?;
    video::calc_optical_flow_pyr_lk(prev, next, &corners, &mut moved, &mut status, &mut err, FLOW_WINDOW, FLOW_LEVELS, criteria, 0, 1e-4)?;
    Ok(corners.iter().zip(moved.iter()).zip(status.iter()).enumerate().filter(|(_, (_, s))| *s != 0).map(|(i, (p, _))| (i, p)).collect())
}

/// RMS residual of the landmarks after the best affine map of each frame's shape onto
/// the clip's mean (aligned) shape, in inter-ocular distances; `None` for < 3 shapes.
pub fn landmark_deformation(shapes: &[[Point; 5]]) -> Option<f32> {
    if shapes.len() < 3 {
        return None;
    }
    // Two passes: align to the first shape, then to the mean of the aligned shapes.
    let mut reference = shapes[0];
    for _ in 0..2 {
        let mut sum = [(0.0f64, 0.0f64); 5];
        for shape in shapes {
            let a = fit_affine(shape, &reference)?;
            for (s, p) in sum.iter_mut().zip(shape) {
                let q = apply(&a, *p);
                s.0 += q.0;
                s.1 += q.1;
            }
        }
        let n = shapes.len() as f64;
        for (r, s) in reference.iter_mut().zip(sum) {
            *r = Point { x: (s.0 / n) as f32, y: (s.1 / n) as f32 };
        }
    }
    let iod = (((reference[0].x - reference[1].x).powi(2) + (reference[0].y - reference[1].y).powi(2)) as f64).sqrt();
    if iod < 1e-3 {
        return None;
    }
    let mut sq = 0.0;
    for shape in shapes {
        let a = fit_affine(shape, &reference)?;
        for (p, r) in shape.iter().zip(&reference) {
            let q = apply(&a, *p);
            sq += (q.0 - r.x as f64).powi(2) + (q.1 - r.y as f64).powi(2);
        }
    }
    Some(((sq / (shapes.len() * 5) as f64).sqrt() / iod) as f32)
}

type Affine = [[f64; 3]; 2];

fn apply(a: &Affine, p: Point) -> (f64, f64) {
    let (x, y) = (p.x as f64, p.y as f64);
    (a[0][0] * x + a[0][1] * y + a[0][2], a[1][0] * x + a[1][1] * y + a[1][2])
}

/// Least-squares affine map from `from` to `to` (normal equations, 3×3 solved by
/// Cramer's rule); `None` for degenerate (collinear) shapes.
fn fit_affine(from: &[Point; 5], to: &[Point; 5]) -> Option<Affine> {
    let mut m = [[0.0f64; 3]; 3];
    let mut bx = [0.0f64; 3];
    let mut by = [0.0f64; 3];
    for (p, q) in from.iter().zip(to) {
        let v = [p.x as f64, p.y as f64, 1.0];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += v[i] * v[j];
            }
            bx[i] += v[i] * q.x as f64;
            by[i] += v[i] * q.y as f64;
        }
    }
    let det = det3(&m);
    if det.abs() < 1e-9 {
        return None;
    }
    let solve = |b: &[f64; 3]| {
        let mut out = [0.0; 3];
        for (k, o) in out.iter_mut().enumerate() {
            let mut mk = m;
            for row in 0..3 {
                mk[row][k] = b[row];
            }
            *o = det3(&mk) / det;
        }
        out
    };
    Some([solve(&bx), solve(&by)])
}

fn det3(m: &[[f64; 3]; 3]) -> f64 {
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(open: f32) -> [Point; 5] {
        let p = |x, y| Point { x, y };
        [p(30.0, 40.0), p(70.0, 40.0), p(50.0, 60.0), p(35.0, 80.0 + open), p(65.0, 80.0 - open)]
    }

    #[test]
    fn a_rigid_shape_under_affine_motion_has_no_deformation_a_moving_mouth_has() {
        let rigid: Vec<_> = (0..20)
            .map(|i| {
                let t = i as f32 * 0.1;
                shape(0.0).map(|p| Point { x: 1.1 * p.x + 0.2 * t * p.y + 5.0 * t, y: 0.9 * p.y - 0.1 * t * p.x + 3.0 })
            })
            .collect();
        assert!(landmark_deformation(&rigid).unwrap() < 1e-4);
        let talking: Vec<_> = (0..20).map(|i| shape(if i % 2 == 0 { 3.0 } else { -3.0 })).collect();
        assert!(landmark_deformation(&talking).unwrap() > 0.03);
    }

    pub(crate) fn textured(w: i32, h: i32, seed: u64) -> Mat {
        let mut m = Mat::new_rows_cols_with_default(h, w, core::CV_8U, Scalar::all(0.0)).unwrap();
        core::set_rng_seed(seed as i32).unwrap();
        core::randu(&mut m, &Scalar::all(0.0), &Scalar::all(255.0)).unwrap();
        let mut blurred = Mat::default();
        imgproc::gaussian_blur_def(&m, &mut blurred, Size::new(7, 7), 2.0).unwrap();
        blurred
    }

    fn shifted(m: &Mat, dx: f64, dy: f64) -> Mat {
        let t = Mat::from_slice_2d(&[[1.0, 0.0, dx], [0.0, 1.0, dy]]).unwrap();
        let mut out = Mat::default();
        imgproc::warp_affine(m, &mut out, &t, m.size().unwrap(), imgproc::INTER_LINEAR, core::BORDER_REFLECT, Scalar::all(0.0)).unwrap();
        out
    }

    /// `planarity` of two frames, each with its own flow pyramid as the analyser builds it.
    fn planarity_of(prev: &Mat, next: &Mat, face: BoxF) -> Option<f32> {
        let (mut a, mut b) = (Vector::<Mat>::new(), Vector::<Mat>::new());
        flow_pyramid(prev, &mut a).unwrap();
        flow_pyramid(next, &mut b).unwrap();
        planarity(&a, &b, face).unwrap()
    }

    #[test]
    fn one_plane_moving_is_planar_a_face_moving_against_its_background_is_not() {
        let face = BoxF { x: 120.0, y: 90.0, width: 80.0, height: 80.0 };
        let scene = textured(320, 240, 1);
        let whole = shifted(&scene, 3.0, 2.0);
        let p = planarity_of(&scene, &whole, face).expect("moving pair");
        assert!(p > 0.9, "{p}");

        // Only the face box moves; the surroundings stay.
        let mut head = scene.clone();
        let moved = shifted(&scene, 3.0, 2.0);
        let r = Rect::new(120, 90, 80, 80);
        Mat::roi(&moved, r).unwrap().copy_to(&mut Mat::roi_mut(&mut head, r).unwrap()).unwrap();
        let p = planarity_of(&scene, &head, face).expect("moving pair");
        assert!(p < 0.6, "{p}");

        assert!(planarity_of(&scene, &scene, face).is_none(), "no motion, no evidence");
    }
}
