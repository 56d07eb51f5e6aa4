//! What of a read MRZ can be believed: all of it when its check digits pass,
//! its states are states ([`Mrz::codes_known`]) and its reader vouched for its
//! letters; otherwise only what a passing check digit covers, or less. Readers
//! set [`Mrz::read_uncertain`] and [`Mrz::letters_uncertain`]; parsing never does.

use super::Mrz;
use crate::identity::iin::Iin;

impl Mrz {
    /// Its check digits fail, or it names a state no state has, and its reader
    /// could not vouch for every character: an OCR slip, not evidence against the
    /// document.
    pub fn misread(&self) -> bool {
        self.read_uncertain && (!self.valid() || !self.codes_known())
    }

    /// What of this MRZ can be believed. All of it, unless it is a [`Self::misread`];
    /// then only the fields whose own check digit passes (fewer when it named no
    /// state: [`Self::slipped_unseen`]). The names and the sex are
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
        if !self.codes_known() {
            m.slipped_unseen();
        }
        m
    }

    /// A misread that named a state no state has slipped where no check digit
    /// looks, and likely more than once: two slips in one field can cancel in its
    /// check digit (a document number's N and 2 read as M and 1, tuning seed 19).
    /// Only what two of its fields agree on is kept: the IIN, by its own check
    /// digit, and the birth date, by its, when the IIN carries that date.
    fn slipped_unseen(&mut self) {
        (self.issuing_state, self.nationality) = (String::new(), String::new());
        self.document_number.clear();
        self.expiry_date = None;
        let agreed = self.iin_candidate().and_then(|i| Iin::parse(i).ok()).is_some_and(|iin| self.birth_date == Some(iin.birth_date()));
        if !agreed {
            self.birth_date = None;
            (self.personal_number, self.optional_data_1) = (None, None);
        }
    }
}
