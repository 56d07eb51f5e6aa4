//! The document stages in the analysis thread: framing and reads of each side, the
//! side kept as evidence, the portrait and the holder's face compared with the photo,
//! and the assessment the session machine decides on.

use super::*;

/// A face beside the document narrower than this share of the frame is too small
/// to embed reliably (and is more likely a bystander or a poster than the holder).
pub(super) const HOLDER_MIN_WIDTH: f32 = 0.08;

impl Engine {
    /// A frame during a document stage: framing every time, OCR when the machine asks,
    /// and now and then the face of whoever holds the document.
    pub(super) fn analyse_document(&mut self, frame: &Frame, session: &mut Active, now: Instant) -> Vec<Effect> {
        let started = Instant::now();
        let look = session.live_face.is_some() && session.machine.holder_look_due(now);
        // Located and flattened once: the framing figures and, when asked, the OCR use it.
        let located = frame.analyse(|image| -> Result<_, crate::vision::VisionError> {
            Ok(match self.analysers.documents.locate(image)? {
                Some(found) => {
                    let r = self.analysers.documents.readability(&found.rectified)?;
                    let framing = Framing { found: true, area_share: found.outline.area_share, sharpness: r.sharpness, glare: r.glare };
                    // Only where the document is found, and found well, can the portrait
                    // printed on it be told from the face of whoever holds it.
                    let look = look && session.machine.well_framed(&framing);
                    let holder = look.then(|| self.holder_embedding(image, &found.outline.corners));
                    (framing, Some((found.rectified, found.outline.shape)), holder)
                }
                None => (Framing::default(), None, None),
            })
        });
        let (framing, flattened, holder) = located.unwrap_or_else(|e| {
            tracing::warn!(session = %session.record.id, error = %e, "document framing failed");
            (Framing::default(), None, None)
        });
        if let Some(holder) = holder {
            let distance = match holder {
                Ok(seen) => seen.zip(session.live_face.as_ref()).map(|(h, live)| live.distance(&h)),
                Err(e) => {
                    tracing::warn!(session = %session.record.id, error = %e, "document holder's face could not be analysed");
                    self.telemetry.record_error("analysis", e.to_string());
                    None
                }
            };
            session.machine.on_holder_look(distance, now);
        }
        let mut effects = session.machine.on_document_frame(&framing, now);
        if let (Some(i), Some((rectified, shape))) = (effects.iter().position(|e| *e == Effect::ReadDocument), flattened) {
            effects.remove(i);
            let reading = match self.analysers.documents.read(&rectified, shape, self.calendar.today()) {
                Ok(side) => {
                    let reading = reading_of(&side);
                    session.last_read = Some(side);
                    reading
                }
                Err(e) => {
                    self.telemetry.record_error("document", e.to_string());
                    None
                }
            };
            effects.extend(session.machine.on_document_read(reading));
        }
        self.telemetry.analysed(started.elapsed());
        effects
    }

    /// Keeps the side just read: its fields, its flattened image and the portrait.
    pub(super) fn capture_side(&mut self, session: &mut Active, side: Side) {
        let Some(read) = session.last_read.take() else { return };
        if let Some(image) = &read.rectified {
            evidence::keep(&self.store, &mut session.record, side.evidence_kind(), image);
        }
        if let Some(portrait) = &read.portrait {
            evidence::keep(&self.store, &mut session.record, "document_portrait", portrait);
            session.portrait = self.embed_portrait(portrait, &session.record.id.clone());
        }
        if session.front.is_none() && read.mrz.is_none() {
            session.front_lines = read.front_lines;
        }
        session.front = session.front.take().or(read.front);
        session.mrz = session.mrz.take().or(read.mrz);
        // A card's front is checked against its back's MRZ once both are in.
        if let (Some(front), Some(mrz)) = (session.front.as_mut(), session.mrz.as_ref())
            && let Some(lines) = session.front_lines.take()
            && let Err(e) = self.analysers.documents.reconcile(front, &lines, mrz)
        {
            tracing::warn!(session = %session.record.id, error = %e, "printed names not checked against the MRZ");
        }
    }

    /// The face of whoever holds the document, embedded (`None`: no face beside it).
    pub(super) fn holder_embedding(&mut self, image: &Mat, corners: &[Point2f; 4]) -> Result<Option<Embedding>, crate::vision::VisionError> {
        let faces = self.analysers.faces.detect(image)?;
        let Some(face) = holder_face(&faces, corners, image.cols()) else { return Ok(None) };
        self.analysers.embedder.embed(image, face).map(Some)
    }

    /// The largest face in the portrait crop, embedded.
    pub(super) fn embed_portrait(&mut self, portrait: &Mat, id: &str) -> Option<Embedding> {
        let faces = self.analysers.faces.detect(portrait).ok()?;
        let face = Face::most_prominent(&faces)?;
        self.analysers
            .embedder
            .embed(portrait, face)
            .inspect_err(|e| tracing::warn!(session = %id, error = %e, "document portrait could not be embedded"))
            .ok()
    }

    /// Assembles the document from its sides and judges it against the request.
    pub(super) fn assess_document(&self, session: &mut Active) -> DocumentVerdict {
        let read = identity::document::assemble(session.front.as_ref(), session.mrz.as_ref(), self.calendar.today());
        let expected = session.record.request.expected_iin.as_deref();
        let distance = session.live_face.as_ref().zip(session.portrait.as_ref()).map(|(a, b)| a.distance(b));
        let verdict = assessment::assess(&read, expected, distance, self.machine_config.match_threshold);
        let mut value = serde_json::to_value(&read).unwrap_or_default();
        value["subject_confirmed"] = false.into();
        session.record.document = Some(value);
        verdict
    }
}

/// Which side an OCR read saw, with a digest of what it said.
pub(super) fn reading_of(read: &SideRead) -> Option<Reading> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let side = if let Some(mrz) = &read.mrz {
        // A misread zone is no reading: the next frames are read again, rather than
        // a slip of the reader kept and reported against the document.
        if mrz.misread() {
            return None;
        }
        mrz.lines.hash(&mut hasher);
        match mrz.format {
            identity::MrzFormat::Td1 => Side::Back,
            identity::MrzFormat::Td3 => Side::PassportPage,
        }
    } else {
        let f = read.front.as_ref()?;
        // A front counts once its IIN is read and valid: that is what must not change.
        // A front with no IIN found at all (worn off, covered) counts once its name and
        // birth date are read, else its holder could never get past it: the IIN is
        // then the MRZ's, or the subject types it in.
        let iin = f.iin.as_deref().filter(|i| Iin::parse(i).is_ok());
        let without_iin = f.iin.is_none() && f.surname.is_some() && f.given_names.is_some() && f.birth_date.is_some();
        if iin.is_none() && !without_iin {
            return None;
        }
        (iin, &f.surname, &f.given_names, &f.birth_date.map(|d| d.to_string())).hash(&mut hasher);
        Side::Front
    };
    Some(Reading { side, fingerprint: hasher.finish() })
}

/// The face of whoever holds the document: the most prominent face whose centre is
/// off the document (its printed portrait and ghost image are on it), if it is large
/// enough to compare.
pub(super) fn holder_face<'a>(faces: &'a [Face], corners: &[Point2f; 4], frame_width: i32) -> Option<&'a Face> {
    Face::most_prominent(faces.iter().filter(|f| {
        let c = f.bbox.centre();
        !document::covers(corners, c.x, c.y) && f.bbox.width >= HOLDER_MIN_WIDTH * frame_width as f32
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::face::{BoxF, Point};

    fn face(x: f32, y: f32, width: f32) -> Face {
        Face { bbox: BoxF { x, y, width, height: width * 1.3 }, landmarks: [Point::default(); 5], score: 0.9 }
    }

    #[test]
    fn the_holder_is_the_largest_face_off_the_document_and_big_enough_to_compare() {
        let card = [Point2f::new(380.0, 340.0), Point2f::new(940.0, 350.0), Point2f::new(930.0, 700.0), Point2f::new(370.0, 690.0)];
        let portrait = face(420.0, 400.0, 160.0);
        let ghost = face(840.0, 560.0, 50.0);
        let holder = face(180.0, 100.0, 150.0);
        let bystander = face(20.0, 500.0, 60.0);
        let faces = [portrait.clone(), ghost.clone(), holder.clone(), bystander.clone()];
        assert_eq!(holder_face(&faces, &card, 960), Some(&holder), "the printed portrait is larger, but on the card");
        assert_eq!(holder_face(&[portrait, ghost, bystander.clone()], &card, 960), None, "too small to compare");
        assert_eq!(holder_face(std::slice::from_ref(&bystander), &card, 640), Some(&bystander));
    }

    #[test]
    fn a_misread_zone_is_no_reading_and_the_next_frames_are_read_again() {
        // A card back whose document number's check digit fails (9 for 2).
        let lines = ["IDKAZ0723437492050624533556<<<", "0506247M3110175KAZ<<<<<<<<<<<0", "KASYMOV<<MURAT<<<<<<<<<<<<<<<<"];
        let mut mrz = crate::identity::Mrz::parse(&lines).expect("parses");
        assert!(!mrz.valid());
        let side = |mrz: &crate::identity::Mrz| SideRead {
            shape: None,
            mrz: Some(mrz.clone()),
            front: None,
            readability: None,
            rectified: None,
            portrait: None,
            front_lines: None,
        };
        // Read alike by both readers, it is the document's: captured, then accused.
        assert_eq!(reading_of(&side(&mrz)).map(|r| r.side), Some(Side::Back));
        mrz.read_uncertain = true;
        assert_eq!(reading_of(&side(&mrz)), None);
    }
}
