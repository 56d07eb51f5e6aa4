//! What Tesseract read of each line of one page, at each look: the label pass,
//! the MRZ-led pass and the searches that follow it come to the same lines the
//! same ways (a page whose names did not read is searched for its surname, then
//! for its given names, over the same candidates), and Tesseract reads the same
//! picture the same way every time (LSTM only, cleared between reads).

use std::collections::HashMap;

use opencv::core::Rect;

use super::tesseract::Glyph;

/// A line's place on its page and how it was shown ([`super::front::Look`], as bits).
pub(super) type ReadKey = ([i32; 4], [u64; 3]);

#[derive(Default)]
pub(super) struct ReadCache {
    /// The page the reads are of ([`super::text::Printed::id`]).
    page: u64,
    reads: HashMap<ReadKey, (String, Vec<Glyph>)>,
}

impl ReadCache {
    /// What was read of `rect` on `page` shown as `look`, read by `read` the first time.
    pub(super) fn get_or_read<E>(
        &mut self,
        page: u64,
        rect: Rect,
        look: [u64; 3],
        read: impl FnOnce() -> Result<(String, Vec<Glyph>), E>,
    ) -> Result<(String, Vec<Glyph>), E> {
        if page != self.page {
            self.reads.clear();
            self.page = page;
        }
        let key = ([rect.x, rect.y, rect.width, rect.height], look);
        if let Some(seen) = self.reads.get(&key) {
            return Ok(seen.clone());
        }
        let fresh = read()?;
        self.reads.insert(key, fresh.clone());
        Ok(fresh)
    }
}

impl ReadCache {
    /// Every read of `rect` on `page` so far, each with its look, in the looks'
    /// order (not the map's, which changes from run to run: the first read a
    /// caller takes must be the same every time).
    pub(super) fn reads_of(&self, page: u64, rect: Rect) -> Vec<([u64; 3], &str)> {
        if page != self.page {
            return Vec::new();
        }
        let at = [rect.x, rect.y, rect.width, rect.height];
        let mut reads: Vec<_> = self.reads.iter().filter(|((r, _), _)| *r == at).map(|((_, look), (text, _))| (*look, text.as_str())).collect();
        reads.sort_unstable();
        reads
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_read_once_per_page_and_look() {
        let mut cache = ReadCache::default();
        let mut reads = 0;
        let rect = Rect::new(1, 2, 30, 10);
        let mut read = |page, look| {
            cache
                .get_or_read::<()>(page, rect, look, || {
                    reads += 1;
                    Ok((format!("read {reads}"), Vec::new()))
                })
                .unwrap()
                .0
        };
        assert_eq!(read(1, [1, 1, 0]), "read 1");
        assert_eq!(read(1, [1, 1, 0]), "read 1", "the same line the same way: not read again");
        assert_eq!(read(1, [2, 1, 0]), "read 2", "another look is another read");
        assert_eq!(read(2, [1, 1, 0]), "read 3", "another page is never answered from the last");
        assert_eq!(read(1, [1, 1, 0]), "read 4", "and the last page's reads are gone");
        assert_eq!(read(1, [0, 2, 0]), "read 5");
        assert_eq!(cache.reads_of(1, rect), [([0, 2, 0], "read 5"), ([1, 1, 0], "read 4")], "in the looks' order, whatever the map's");
        assert!(cache.reads_of(2, rect).is_empty(), "another page's reads are not this one's");
        assert!(cache.reads_of(1, Rect::new(1, 2, 30, 11)).is_empty(), "nor another line's");
    }
}
