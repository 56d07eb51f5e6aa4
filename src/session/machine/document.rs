//! The document stages: framing prompts, OCR reads until two agree, capture of each
//! side, the engine's assessment and the typed IIN.

use super::*;

#[derive(Debug, Clone)]
pub struct DocumentStageConfig {
    pub kind: DocumentKind,
    /// OCR runs at most this often (it takes a good part of a second).
    pub read_interval: Duration,
    /// The document must cover this share of the frame to be read.
    pub min_area_share: f32,
    pub min_sharpness: f32,
    /// Share of blown-out pixels above which the subject is asked to tilt the card.
    pub max_glare: f32,
    /// Consecutive identical reads before a side is captured.
    pub stable_reads: u32,
}

/// A side of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Front,
    Back,
    PassportPage,
}

impl Side {
    pub fn stage(self) -> Stage {
        match self {
            Side::Front => Stage::DocumentFront,
            Side::Back => Stage::DocumentBack,
            Side::PassportPage => Stage::PassportPage,
        }
    }

    pub(super) fn prompt(self) -> Prompt {
        match self {
            Side::Front => Prompt::ShowFront,
            Side::Back => Prompt::ShowBack,
            Side::PassportPage => Prompt::ShowPassport,
        }
    }

    /// The evidence image's name.
    pub fn evidence_kind(self) -> &'static str {
        match self {
            Side::Front => "document_front",
            Side::Back => "document_back",
            Side::PassportPage => "passport_page",
        }
    }
}

/// How the document sits in the frame (measured on every frame, cheaply).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Framing {
    pub found: bool,
    pub area_share: f32,
    pub sharpness: f32,
    pub glare: f32,
}

/// One OCR read of a side: which side it was and a digest of what it said, so two
/// reads can be compared without keeping their text here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub side: Side,
    pub fingerprint: u64,
}

/// The engine's assessment of the document once every side is captured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DocumentVerdict {
    pub iin_readable: bool,
    pub expected_iin_mismatch: bool,
    pub expired: bool,
    /// Check digits fail or the sides contradict each other.
    pub inconsistent: bool,
    pub minor: bool,
    /// The live face is not the document's portrait.
    pub face_mismatch: bool,
    /// The portrait could not be compared (not found on the document, or no live face kept).
    pub portrait_not_compared: bool,
    pub checks: Vec<Check>,
}

impl DocumentVerdict {
    /// What the decision needs of it.
    pub fn findings(&self) -> DocumentFindings {
        DocumentFindings {
            expected_iin_mismatch: self.expected_iin_mismatch,
            expired: self.expired,
            inconsistent: self.inconsistent,
            face_mismatch: self.face_mismatch,
            portrait_not_compared: self.portrait_not_compared,
            minor: self.minor,
        }
    }
}

impl SessionMachine {
    /// The side the subject should be showing, while a document stage runs.
    pub fn document_side(&self) -> Option<Side> {
        match self.state {
            State::Document { side, .. } => Some(side),
            _ => None,
        }
    }

    pub(super) fn enter_document(&mut self, side: Side, out: &mut Vec<Effect>) {
        self.state = State::Document { side, last_read: None, last_fingerprint: None, stable: 0 };
        // Kept across sides and retakes: the holder is the same person throughout.
        self.holder.get_or_insert_default();
        self.shown_prompt = None;
        self.pending_prompt = None;
        out.push(Effect::Event(EventKind::Stage { stage: side.stage() }));
        self.show(side.prompt(), None, out);
    }

    /// What to tell the subject about how the document sits (`HoldCardFlat`: it sits
    /// well, keep it so; the kiosk's guide turns green).
    pub(super) fn framing_prompt(side: Side, framing: &Framing, cfg: &DocumentStageConfig) -> Prompt {
        if !framing.found {
            side.prompt()
        } else if framing.area_share < cfg.min_area_share {
            Prompt::MoveCardCloser
        } else if framing.glare > cfg.max_glare {
            Prompt::Glare
        } else if framing.sharpness < cfg.min_sharpness {
            Prompt::TooBlurry
        } else {
            Prompt::HoldCardFlat
        }
    }

    /// Whether the document sits well enough in this frame to be read — and so to be
    /// told reliably from what is around it.
    pub fn well_framed(&self, framing: &Framing) -> bool {
        match (&self.state, &self.config.document) {
            (State::Document { side, .. }, Some(cfg)) => Self::framing_prompt(*side, framing, cfg) == Prompt::HoldCardFlat,
            _ => false,
        }
    }

    /// How the document sits in this frame; asks for a read when it sits well.
    pub fn on_document_frame(&mut self, framing: &Framing, now: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        let Some(cfg) = self.config.document.clone() else { return out };
        if let State::Document { side, last_read, .. } = self.state {
            let prompt = Self::framing_prompt(side, framing, &cfg);
            self.prompt(prompt, now, &mut out);
            if prompt == Prompt::HoldCardFlat && last_read.is_none_or(|t| now.duration_since(t) >= cfg.read_interval) {
                if let State::Document { last_read, .. } = &mut self.state {
                    *last_read = Some(now);
                }
                out.push(Effect::ReadDocument);
            }
        }
        out.extend(self.on_tick(now));
        out
    }

    /// The result of an OCR read (`None`: nothing readable).
    pub fn on_document_read(&mut self, reading: Option<Reading>) -> Vec<Effect> {
        let mut out = Vec::new();
        let Some(needed) = self.config.document.as_ref().map(|c| c.stable_reads) else { return out };
        let State::Document { side, last_fingerprint, stable, .. } = &mut self.state else { return out };
        let side = *side;
        match reading {
            Some(r) if r.side == side => {
                *stable = if *last_fingerprint == Some(r.fingerprint) { *stable + 1 } else { 1 };
                *last_fingerprint = Some(r.fingerprint);
                if *stable >= needed {
                    out.push(Effect::CaptureDocument(side));
                }
            }
            // The other side is showing: ask for this one.
            Some(_) => {
                *stable = 0;
                *last_fingerprint = None;
                self.show(side.prompt(), None, &mut out);
            }
            None => {
                *stable = 0;
                *last_fingerprint = None;
            }
        }
        out
    }

    /// The engine kept the side just read.
    pub fn on_document_captured(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        let State::Document { side, .. } = self.state else { return out };
        self.show(Prompt::Captured, None, &mut out);
        match side {
            Side::Front => self.enter_document(Side::Back, &mut out),
            Side::Back | Side::PassportPage => {
                self.state = State::Assessing;
                out.push(Effect::AssessDocument);
            }
        }
        out
    }

    /// The document as assessed; an unreadable IIN goes to the subject to type in.
    pub fn on_document_assessed(&mut self, verdict: DocumentVerdict) -> Vec<Effect> {
        if self.state != State::Assessing {
            return Vec::new();
        }
        let needs_entry = !verdict.iin_readable && !verdict.expired && !verdict.inconsistent;
        self.verdict = Some(verdict);
        if needs_entry {
            self.state = State::AwaitingIin;
            let mut out = vec![Effect::Event(EventKind::Stage { stage: Stage::IinEntry })];
            self.show(Prompt::EnterIin, None, &mut out);
            return out;
        }
        self.finish(Ending::Completed)
    }

    /// The subject typed the IIN and confirmed the data are true.
    /// `iin_valid`: its check digit holds; `inconsistent`: the typed IIN contradicts
    /// the document (birth date, sex, century).
    pub fn on_iin_entered(&mut self, expected_iin_mismatch: bool, iin_valid: bool, inconsistent: bool) -> Vec<Effect> {
        if self.state != State::AwaitingIin {
            return Vec::new();
        }
        self.iin_by_subject = true;
        if let Some(v) = &mut self.verdict {
            v.iin_readable = true;
            v.expected_iin_mismatch = expected_iin_mismatch;
            v.inconsistent |= inconsistent;
            // The IIN checks made when none was read now judge the typed one.
            for check in &mut v.checks {
                match check.name.as_str() {
                    "document_iin_check_digit" => check.passed = iin_valid,
                    "document_iin_matches_request" => check.passed = !expected_iin_mismatch,
                    "document_consistent" => check.passed &= !inconsistent,
                    _ => {}
                }
            }
        }
        self.finish(Ending::Completed)
    }
}
