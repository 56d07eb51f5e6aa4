//! Whether a letter of a printed line has a tail below the baseline: the one
//! stroke that tells Щ from Ш and Ц from П. Tesseract's Kazakh model often drops
//! it (ЩЕРБАЕВА read as ШЕРБАЕВА in every look), while the MRZ says which letter
//! was printed; the image decides whether the tail is there. A check of one
//! letter asked by the MRZ, not a reader: it only ever confirms what the MRZ says.

use opencv::core::{self, Mat, Size};
use opencv::imgproc;
use opencv::prelude::*;

use super::VisionError;
use super::text::{Line, body_rows, level_line, runs};
use crate::identity::Mrz;
use crate::identity::document::missing_tail;

/// Letters' height the line is scaled to before looking: the tail test counts rows.
const LETTERS_PX: f64 = 40.0;

/// How far below the baseline a tail reaches at least, unbroken, in letter
/// heights: Щ's and Ц's tails reach 0.15–0.3 in the fonts documents use; a
/// blurred or JPEG-smeared foot spreads one or two rows at 40 px.
const TAIL_DEPTH: f64 = 0.12;

/// Capitals whose ink goes below the baseline in common fonts (Д's feet, Қ's and
/// Ң's tails, Ф in some serif faces): a tail near one of them is not evidence.
const DESCENDING: [char; 8] = ['Д', 'Ц', 'Щ', 'Қ', 'Ң', 'Ҷ', 'Ҳ', 'Ф'];

/// `read`, a name the MRZ spells `latin`, with the one tail it lost restored
/// ([`missing_tail`]) when the image shows that tail; `None` otherwise.
pub(super) fn restore_tail(gray: &Mat, line: Line, read: &str, mrz: &Mrz, latin: &str) -> Result<Option<String>, VisionError> {
    let Some((index, name)) = missing_tail(read, mrz, latin) else { return Ok(None) };
    Ok(letter_has_tail(gray, line, &name, index)?.then_some(name))
}

/// Whether letter `index` of `name` (as printed on `line` of `gray`) has a tail,
/// judged only where that can be told: the line has as many words as the name,
/// no other letter that may descend stands next to it, and every tail on the
/// line belongs to a letter of `name` that may have one. `false` otherwise.
fn letter_has_tail(gray: &Mat, line: Line, name: &str, index: usize) -> Result<bool, VisionError> {
    let Some(ink) = levelled_ink(gray, line)? else { return Ok(false) };
    let Some(baseline) = baseline(&ink)? else { return Ok(false) };
    let letters: Vec<char> = name.chars().collect();
    if index >= letters.len() || letters[index] == ' ' {
        return Ok(false);
    }
    let words = words_of(name);
    let spans = word_spans(&ink, baseline)?;
    if spans.len() != words.len() {
        return Ok(false);
    }
    // The letter's word, and its place in it.
    let Some((word, place)) = words.iter().enumerate().find_map(|(k, &(at, n))| (index >= at && index < at + n).then(|| (k, index - at)))
    else {
        return Ok(false);
    };
    let (at, n) = words[word];
    let near = |j: usize| j != place && j + 1 >= place && j <= place + 1;
    if letters[at..at + n].iter().enumerate().any(|(j, c)| near(j) && DESCENDING.contains(c)) {
        return Ok(false);
    }
    let (x0, x1) = spans[word];
    let slot = f64::from(x1 - x0) / n as f64;
    // The tail hangs from the letter's right foot; proportional slots are off by
    // up to half a letter where wide and narrow letters mix.
    let (from, to) = (f64::from(x0) + slot * (place as f64 + 0.3), f64::from(x0) + slot * (place as f64 + 1.5));
    let tails = tails(&ink, baseline)?;
    // Д stands on two feet, each below the baseline in most faces.
    let descending: usize = letters.iter().map(|c| if *c == 'Д' { 2 } else { usize::from(DESCENDING.contains(c)) }).sum();
    if tails.len() > descending {
        return Ok(false);
    }
    Ok(tails.iter().any(|&(a, b)| {
        let centre = f64::from(a + b) / 2.0;
        centre >= from && centre <= to
    }))
}

/// Each word of `name` as (index of its first letter, letters).
fn words_of(name: &str) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in name.chars().chain(std::iter::once(' ')).enumerate() {
        match (c == ' ', start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                words.push((s, i - s));
                start = None;
            }
            _ => {}
        }
    }
    words
}

/// The line cut out level, scaled to [`LETTERS_PX`] letters, as ink (255) on 0.
fn levelled_ink(gray: &Mat, line: Line) -> Result<Option<Mat>, VisionError> {
    let level = level_line(gray, line)?;
    if level.empty() || line.letters < 4 {
        return Ok(None);
    }
    let scale = LETTERS_PX / f64::from(line.letters);
    let mut scaled = Mat::default();
    let interpolation = if scale > 1.0 { imgproc::INTER_CUBIC } else { imgproc::INTER_AREA };
    imgproc::resize(&level, &mut scaled, Size::new(0, 0), scale, scale, interpolation)?;
    let mut ink = Mat::default();
    imgproc::threshold(&scaled, &mut ink, 0.0, 255.0, imgproc::THRESH_BINARY_INV | imgproc::THRESH_OTSU)?;
    Ok(Some(ink))
}

fn inked(ink: &Mat, row: i32, col: i32) -> Result<bool, VisionError> {
    Ok(*ink.at_2d::<u8>(row, col)? > 0)
}

/// The last row of the letters' bodies ([`body_rows`]).
fn baseline(ink: &Mat) -> Result<Option<i32>, VisionError> {
    let profile: Vec<u32> =
        (0..ink.rows()).map(|r| core::count_non_zero(&ink.row(r)?).map(|n| n as u32).map_err(VisionError::from)).collect::<Result<_, _>>()?;
    Ok(body_rows(&profile).map(|(_, last)| last as i32))
}

/// The words along the line, as column spans of the letters' bodies (the rows
/// from [`LETTERS_PX`] above the baseline to it), split at gaps of a third of
/// the letters' height.
fn word_spans(ink: &Mat, baseline: i32) -> Result<Vec<(i32, i32)>, VisionError> {
    let top = (baseline - LETTERS_PX as i32).max(0);
    let columns: Vec<bool> =
        (0..ink.cols()).map(|c| (top..=baseline).try_fold(false, |any, r| Ok::<_, VisionError>(any || inked(ink, r, c)?))).collect::<Result<_, _>>()?;
    Ok(spans(runs(&columns, (LETTERS_PX / 3.0) as usize)))
}

/// Column spans where ink runs unbroken from the baseline down [`TAIL_DEPTH`]
/// letters or more: tails, not specks or a blurred foot.
fn tails(ink: &Mat, baseline: i32) -> Result<Vec<(i32, i32)>, VisionError> {
    let depth = (TAIL_DEPTH * LETTERS_PX).ceil() as i32;
    if baseline + depth >= ink.rows() {
        return Ok(Vec::new());
    }
    let columns: Vec<bool> = (0..ink.cols())
        .map(|c| (baseline..=baseline + depth).try_fold(true, |all, r| Ok::<_, VisionError>(all && inked(ink, r, c)?)))
        .collect::<Result<_, _>>()?;
    // Columns a stroke's width apart are one tail.
    Ok(spans(runs(&columns, 3)))
}

fn spans(runs: Vec<(usize, usize)>) -> Vec<(i32, i32)> {
    runs.into_iter().map(|(a, b)| (a as i32, b as i32)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencv::core::{CV_8UC1, Rect, Scalar};

    const H: i32 = 30;
    const W: i32 = 22;
    const GAP: i32 = 3;

    fn bar(image: &mut Mat, x: i32, y: i32, w: i32, h: i32) {
        imgproc::rectangle(image, Rect::new(x, y, w, h), Scalar::all(0.0), -1, imgproc::LINE_8, 0).unwrap();
    }

    /// A line of eight block capitals at 30 px: the first a Ш (three stems on a
    /// foot), the others Е-like; `tail_under` puts a Щ's tail under that letter's
    /// right foot.
    fn line_with_tail_under(tail_under: Option<i32>) -> (Mat, Line) {
        let mut image = Mat::new_rows_cols_with_default(100, 360, CV_8UC1, Scalar::all(255.0)).unwrap();
        let (x0, y0) = (30, 30);
        for k in 0..8 {
            let x = x0 + k * (W + GAP);
            if k == 0 {
                for stem in [0, 9, 18] {
                    bar(&mut image, x + stem, y0, 4, H);
                }
                bar(&mut image, x, y0 + H - 4, W, 4);
            } else {
                bar(&mut image, x, y0, 4, H);
                for row in [0, H / 2 - 2, H - 4] {
                    bar(&mut image, x, y0 + row, W - 4, 4);
                }
            }
            if tail_under == Some(k) {
                bar(&mut image, x + W - 4, y0 + H, 4, 8);
            }
        }
        let deepest = if tail_under.is_some() { H + 8 } else { H };
        (image, Line { rect: Rect::new(x0, y0, 8 * W + 7 * GAP, deepest), letters: H, slope: 0.0 })
    }

    #[test]
    fn a_tail_under_the_letter_asked_about_is_seen() {
        let (gray, line) = line_with_tail_under(Some(0));
        assert!(letter_has_tail(&gray, line, "ЩЕРБАЕВА", 0).unwrap());
    }

    #[test]
    fn a_tail_beside_the_two_feet_of_a_de_further_along_is_seen() {
        // ЩЕДРА on a clean card: the Щ's tail and the Д's two feet are three
        // marks below the baseline, for two letters that descend.
        let (mut gray, line) = line_with_tail_under(Some(0));
        let de = 30 + 3 * (W + GAP);
        bar(&mut gray, de, 30 + H, 4, 8);
        bar(&mut gray, de + W - 8, 30 + H, 4, 8);
        assert!(letter_has_tail(&gray, line, "ЩЕРДАЕВА", 0).unwrap());
    }

    #[test]
    fn no_tail_or_a_tail_elsewhere_is_not_taken_for_it() {
        let (gray, line) = line_with_tail_under(None);
        assert!(!letter_has_tail(&gray, line, "ЩЕРБАЕВА", 0).unwrap(), "no tail on the line");
        let (gray, line) = line_with_tail_under(Some(5));
        assert!(!letter_has_tail(&gray, line, "ЩЕРБАЕВА", 0).unwrap(), "a tail under the sixth letter");
        // Beside a letter that may descend itself, a tail proves nothing.
        let (gray, line) = line_with_tail_under(Some(0));
        assert!(!letter_has_tail(&gray, line, "ЩДРБАЕВА", 0).unwrap());
        // Nor when the line does not split into the name's words.
        assert!(!letter_has_tail(&gray, line, "ЩЕР БАЕВА", 0).unwrap());
    }
}
