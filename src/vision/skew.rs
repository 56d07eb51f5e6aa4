//! How far a page's print is turned, from its ink alone: the turn at which the
//! ink's rows part most sharply into lines and the gaps between them (a
//! projection profile). For print turned past what a line's own baseline
//! measures ([`super::text::MAX_LINE_SLOPE`]), where lines that steep are not
//! found as lines at all.

use opencv::core::{Mat, Size};
use opencv::imgproc;
use opencv::prelude::*;

use super::VisionError;

/// Turns tried either way, in degrees: a card laid on a scanner by hand.
const MAX_DEGREES: f64 = 16.0;
/// The step between turns tried: a line's baseline measures the rest.
const STEP_DEGREES: f64 = 0.5;
/// The ink is looked at this wide: a card's lines are still a dozen rows tall
/// and apart, and the angles tried cost a tenth of the full size.
const SAMPLE_WIDTH: f64 = 400.0;

/// The slope (rows per column, as a line's baseline drops) of the print in
/// `ink` (255 on 0), if any turn parts its rows better than level does.
pub(crate) fn print_slope(ink: &Mat) -> Result<Option<f64>, VisionError> {
    let scale = (SAMPLE_WIDTH / f64::from(ink.cols().max(1))).min(1.0);
    let mut small = Mat::default();
    imgproc::resize(ink, &mut small, Size::new(0, 0), scale, scale, imgproc::INTER_AREA)?;
    let (cols, rows) = (small.cols(), small.rows());
    let bytes = small.data_bytes()?;
    // Half-inked samples and over: a stroke's pixel, not a speck shrunk away.
    let inked: Vec<(f64, f64)> = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (r, c)))
        .filter(|&(r, c)| bytes[(r * cols + c) as usize] >= 128)
        .map(|(r, c)| (f64::from(c), f64::from(r)))
        .collect();
    if inked.is_empty() {
        return Ok(None);
    }
    let steps = (MAX_DEGREES / STEP_DEGREES).round() as i32;
    let sharpness = |degrees: f64| {
        let (sin, cos) = degrees.to_radians().sin_cos();
        // A row along the turned print: y cos - x sin is the same all along a
        // line that drops by tan(angle) a column.
        let reach = f64::from(cols) + f64::from(rows);
        let mut profile = vec![0u32; (2.0 * reach) as usize + 2];
        for &(x, y) in &inked {
            profile[(y * cos - x * sin + reach) as usize] += 1;
        }
        profile.windows(2).map(|w| (f64::from(w[1]) - f64::from(w[0])).powi(2)).sum::<f64>()
    };
    let scores: Vec<(f64, f64)> = (-steps..=steps).map(|s| f64::from(s) * STEP_DEGREES).map(|degrees| (degrees, sharpness(degrees))).collect();
    let level = scores[steps as usize].1;
    let (best, score) = scores.into_iter().max_by(|a, b| a.1.total_cmp(&b.1)).expect("at least one turn is tried");
    Ok((score > level).then(|| best.to_radians().tan()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencv::core::{Point, Scalar, CV_8UC1};

    /// Bars like a card's text lines, dropping `slope` rows per column.
    fn lines_sloping(slope: f64) -> Mat {
        let mut ink = Mat::new_rows_cols_with_default(640, 1000, CV_8UC1, Scalar::all(0.0)).unwrap();
        for (i, y) in [120, 200, 280, 360, 440, 520].into_iter().enumerate() {
            let (x0, x1) = (100 + 40 * i as i32, 800 - 30 * i as i32);
            let at = |x: i32| Point::new(x, y + (slope * f64::from(x - 500)).round() as i32);
            imgproc::line(&mut ink, at(x0), at(x1), Scalar::all(255.0), 24, imgproc::LINE_8, 0).unwrap();
        }
        ink
    }

    #[test]
    fn print_turned_past_a_baselines_reach_is_measured() {
        for degrees in [-14.0f64, -9.0, 11.0, 15.0] {
            let slope = print_slope(&lines_sloping(degrees.to_radians().tan())).unwrap().expect("a turn is found");
            assert!((slope.atan().to_degrees() - degrees).abs() <= 0.6, "{degrees}: {}", slope.atan().to_degrees());
        }
    }

    #[test]
    fn level_print_and_no_print_are_not_turned() {
        assert_eq!(print_slope(&lines_sloping(0.0)).unwrap(), None);
        let blank = Mat::new_rows_cols_with_default(300, 500, CV_8UC1, Scalar::all(0.0)).unwrap();
        assert_eq!(print_slope(&blank).unwrap(), None);
    }
}
