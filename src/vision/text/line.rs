//! A text line: where it is, how tall its letters are, how it slopes.

use opencv::core::Rect;

/// A line of text on the card.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Line {
    /// Around all its ink.
    pub rect: Rect,
    /// How tall its letters' bodies are (capitals and digits on this card): less
    /// than the box when diacritics or descenders stick out, or the line runs
    /// slightly uphill on a card photographed askew.
    pub letters: i32,
    /// Rows its baseline drops per column (a card rectified slightly askew).
    pub slope: f64,
}

impl Line {
    /// Whether `other` is this line too, found again or cut to its words: their
    /// boxes share half the smaller one at least. Lines side by side or one over
    /// the other can touch at a corner and are not one (an IIN under the portrait
    /// whose box reaches under the birth date's beside it: taken for the date's
    /// line, a moderate card of tuning seed 7, generator v2, gave no printed IIN at all).
    pub(crate) fn is_also(&self, other: &Line) -> bool {
        let shared = (self.rect & other.rect).area();
        shared > 0 && shared * 2 >= self.rect.area().min(other.rect.area())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_its_own_words_not_a_line_touching_its_corner() {
        let line = |x, y, width, height| Line { rect: Rect::new(x, y, width, height), letters: height * 3 / 4, slope: 0.0 };
        // Tuning seed 7's card: the birth date, and the IIN under the portrait beside and below it.
        let (date, iin) = (line(336, 422, 240, 39), line(26, 447, 374, 46));
        assert!(!date.is_also(&iin) && !iin.is_also(&date));
        // The date cut to its words, and found again a pixel off.
        assert!(date.is_also(&line(342, 422, 228, 39)) && date.is_also(&line(337, 423, 240, 38)));
        assert!(!date.is_also(&line(700, 422, 100, 39)));
    }
}
