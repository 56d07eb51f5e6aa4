//! What of a read MRZ can be believed: all of it when its check digits pass and
//! its reader vouched for its letters; otherwise only what a passing check digit
//! covers. Readers set [`Mrz::read_uncertain`] and [`Mrz::letters_uncertain`];
//! parsing never does.

use super::Mrz;

impl Mrz {
    /// Its check digits fail and its reader could not vouch for every character:
    /// an OCR slip, not evidence against the document.
    pub fn misread(&self) -> bool {
        self.read_uncertain && !self.valid()
    }

    /// What of this MRZ can be believed. All of it, unless it is a [`Self::misread`];
    /// then only the fields whose own check digit passes. The names and the sex are
    /// covered by no check digit but the composite (names by none at all), and a
    /// read that slipped elsewhere vouches for neither; nor does one whose letters
    /// were read otherwise by its second reader.
    pub fn vouched(&self) -> Mrz {
        let mut m = self.clone();
        if self.letters_uncertain || self.misread() {
            m.sex = None;
            m.primary_identifier.clear();
            m.secondary_identifiers.clear();
        }
        if !self.misread() {
            return m;
        }
        if !m.checks.document_number {
            m.document_number.clear();
        }
        if !m.checks.birth_date {
            m.birth_date = None;
        }
        if !m.checks.expiry_date {
            m.expiry_date = None;
        }
        // A passport's personal number (its IIN) has a check digit of its own; a
        // card's optional data only the composite.
        if m.checks.personal_number != Some(true) {
            m.personal_number = None;
        }
        if !m.checks.composite {
            (m.optional_data_1, m.optional_data_2) = (None, None);
        }
        m
    }
}
