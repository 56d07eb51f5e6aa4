//! A line the smear joined across a step: two values side by side at different
//! heights, closer than a smear (an IIN under the portrait ending where the birth
//! date beside it begins, 7 px apart and 16 px higher, tuning seed 67). Read as
//! one, their digits run together into neither value. Words of one line, however
//! it slopes, stand at one height on either side of a gap.

use opencv::core::{Mat, Rect};
use opencv::prelude::*;

use super::{Line, VisionError, measured, runs};

/// `lines`, each cut where its ink steps up or down across a gap: on either side
/// of the gap, a letter height of columns whose ink shares less than half the
/// rows either spans, the two over half that height apart, each side a line of
/// its own.
pub(super) fn split_at_steps(ink: &Mat, lines: Vec<Line>) -> Result<Vec<Line>, VisionError> {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        out.extend(pieces(ink, line)?);
    }
    Ok(out)
}

fn pieces(ink: &Mat, line: Line) -> Result<Vec<Line>, VisionError> {
    let Some(cut) = step(ink, line)? else { return Ok(vec![line]) };
    let r = line.rect;
    let mut halves = Vec::new();
    for (from, to) in [(0, cut.0), (cut.1, r.width as usize)] {
        if let Some(part) = inked_box(ink, r, from, to)? {
            halves.extend(measured(ink, part)?);
        }
    }
    // Either side no line of its own: no step of text, the line stays whole.
    let [left, right] = halves[..] else { return Ok(vec![line]) };
    Ok([pieces(ink, left)?, pieces(ink, right)?].concat())
}

/// The first gap (its first and past-last columns in `line`) across which the ink steps.
fn step(ink: &Mat, line: Line) -> Result<Option<(usize, usize)>, VisionError> {
    let r = line.rect;
    let block = Mat::roi(ink, r)?.try_clone()?;
    let pixels = block.data_bytes()?;
    let width = r.width as usize;
    let inked = |row: usize, c: usize| pixels[row * width + c] > 0;
    let columns: Vec<bool> = (0..width).map(|c| (0..r.height as usize).any(|row| inked(row, c))).collect();
    let reach = line.letters.max(1) as usize;
    // The rows the ink of columns `from..to` spans. Not the letters' bodies:
    // those of a few letters are their shapes' (Р's bowl high, Ь's low).
    let spans = |from: usize, to: usize| {
        let row_inked = |row: &usize| (from..to).any(|c| inked(*row, c));
        Some(((0..r.height as usize).find(row_inked)?, (0..r.height as usize).rfind(row_inked)?))
    };
    let inked_runs = runs(&columns, 2);
    for pair in inked_runs.windows(2) {
        let (gap_from, gap_to) = (pair[0].1, pair[1].0);
        // A speck or a stop beside the gap is no side: a letter height of ink on each.
        let inked_within = |a: usize, b: usize| columns[a..b].iter().filter(|c| **c).count();
        if inked_within(gap_from.saturating_sub(reach), gap_from) * 2 < reach || inked_within(gap_to, (gap_to + reach).min(width)) * 2 < reach {
            continue;
        }
        let (Some(left), Some(right)) = (spans(gap_from.saturating_sub(reach), gap_from), spans(gap_to, (gap_to + reach).min(width))) else {
            continue;
        };
        let (left_h, right_h) = ((left.1 - left.0 + 1) as f64, (right.1 - right.0 + 1) as f64);
        let shared = left.1.min(right.1) as f64 - left.0.max(right.0) as f64 + 1.0;
        // Not less what the line's slope makes of the distance: a step is read as
        // a slope too, and a line sloping its steepest (0.1) drops 3-4 px across a
        // gap and a letter height either side, a fifth of the half height a step needs.
        let middle = |b: (usize, usize)| (b.0 + b.1) as f64 / 2.0;
        let jump = (middle(right) - middle(left)).abs();
        let least = left_h.min(right_h);
        if shared * 2.0 < least && jump * 2.0 > least {
            return Ok(Some((gap_from, gap_to)));
        }
    }
    Ok(None)
}

/// The box around the ink of columns `from..to` of `r`, `None` without ink.
fn inked_box(ink: &Mat, r: Rect, from: usize, to: usize) -> Result<Option<Rect>, VisionError> {
    let part = Rect::new(r.x + from as i32, r.y, (to - from) as i32, r.height);
    let block = Mat::roi(ink, part)?.try_clone()?;
    let pixels = block.data_bytes()?;
    let width = part.width as usize;
    let row_inked = |row: usize| (0..width).any(|c| pixels[row * width + c] > 0);
    let rows = part.height as usize;
    let (Some(top), Some(bottom)) = ((0..rows).find(|&row| row_inked(row)), (0..rows).rfind(|&row| row_inked(row))) else { return Ok(None) };
    Ok(Some(Rect::new(part.x, part.y + top as i32, part.width, (bottom - top + 1) as i32)))
}

#[cfg(test)]
mod tests {
    use opencv::core::{self, Point, Scalar};
    use opencv::imgproc;

    use super::super::text_lines;
    use super::*;

    /// Ink (255 on 0) of `texts`, each drawn in a Hershey face from its baseline's left end.
    fn ink_of(texts: &[(&str, Point)]) -> Mat {
        let mut ink = Mat::new_rows_cols_with_default(120, 640, core::CV_8UC1, Scalar::all(0.0)).unwrap();
        for (text, at) in texts {
            imgproc::put_text(&mut ink, text, *at, imgproc::FONT_HERSHEY_SIMPLEX, 0.9, Scalar::all(255.0), 2, imgproc::LINE_8, false).unwrap();
        }
        ink
    }

    /// The first and last columns of `ink` holding ink.
    fn inked_columns(ink: &Mat) -> (i32, i32) {
        let inked: Vec<i32> = (0..ink.cols()).filter(|&c| (0..ink.rows()).any(|r| *ink.at_2d::<u8>(r, c).unwrap() > 0)).collect();
        (inked[0], *inked.last().unwrap())
    }

    #[test]
    fn two_values_side_by_side_at_two_heights_are_two_lines() {
        // The IIN under the portrait, the birth date beside it 12 px higher, its
        // ink 7 px on: one blob to the smear.
        let (iin, date) = ("660728306294", "28.07.1966");
        let iin_ends = inked_columns(&ink_of(&[(iin, Point::new(20, 80))])).1;
        let date_starts = inked_columns(&ink_of(&[(date, Point::new(0, 68))])).0;
        let ink = ink_of(&[(iin, Point::new(20, 80)), (date, Point::new(iin_ends + 1 + 7 - date_starts, 68))]);
        let lines = text_lines(&ink).unwrap();
        assert_eq!(lines.len(), 2, "{lines:?}");
        let (left, right) = if lines[0].rect.x < lines[1].rect.x { (lines[0], lines[1]) } else { (lines[1], lines[0]) };
        assert!(left.rect.x + left.rect.width <= iin_ends + 8, "{left:?}");
        assert!(right.rect.y + right.rect.height < 80, "{right:?}");
        assert!(left.rect.y > 50, "{left:?}");
    }

    #[test]
    fn a_level_line_of_tall_and_short_letters_stays_one() {
        // Letters whose ink stands high or low (P's bowl, b's, q's and y's tails)
        // and a stop between them are no step.
        let ink = ink_of(&[("Pbq.yTpbqPy-gP", Point::new(20, 70))]);
        let lines = text_lines(&ink).unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
    }

    #[test]
    fn a_line_sloping_its_steepest_stays_one() {
        // About 6° (a slope of 0.1), digits and stops run together: across each
        // gap, a letter height either side, the ink drops a fifth of a letter.
        let level = ink_of(&[("66072830629428.07.1966", Point::new(40, 70))]);
        let turn = imgproc::get_rotation_matrix_2d(core::Point2f::new(320.0, 60.0), -5.7, 1.0).unwrap();
        let mut sloped = Mat::default();
        let border = Scalar::all(0.0);
        imgproc::warp_affine(&level, &mut sloped, &turn, level.size().unwrap(), imgproc::INTER_NEAREST, core::BORDER_CONSTANT, border).unwrap();
        let lines = text_lines(&sloped).unwrap();
        assert_eq!(lines.len(), 1, "{lines:?}");
    }
}
