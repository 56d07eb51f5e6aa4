//! Where each passive signal's evidence starts (0) and is full (1).
//!
//! TUNING SET: the TUNING split of tests/fixtures/gen_attacks.py (seeds 1001–1015:
//! prints of obama/obama2, phones, frame-filling monitors, player windows, four
//! bona fide carphone variants), scanned with `liveness scan --every-frame` at
//! 640×480. CHECK SET: its HELD-OUT split (seeds 2001–2015, plus the tablet
//! instrument, the foliage background, biden printed, mirrored bona fide clips never
//! seen while tuning) and the original carphone clip. `tests/liveness.rs` prints
//! both side by side. Each constant gives the tuning split's figures, then the check
//! set's ("check:", held-out split and carphone, `cargo test --test liveness -- --nocapture`,
//! debug build, 2026-12-04: every score on the check set 0.00 bona fide, 0.94–1.00 attacks).

/// Print: min(face, ring) inlier share. Bona fide 0.42–0.59, prints 0.95–1.0,
/// screens 0.37–0.73 (their content moves against the bezel). Check: bona fide
/// 0.38–0.54, prints 0.92–1.0, screens 0.28–0.68.
pub const PLANARITY_RAMP: (f32, f32) = (0.65, 0.85);
/// Print: landmark residual (inter-ocular distances). Prints 0.009–0.027; bona fide
/// 0.017–0.022 (compressed carphone): alone it does not separate, hence the product
/// with planarity. Check: prints 0.012–0.017, bona fide 0.019–0.031.
pub const DEFORMATION_RAMP: (f32, f32) = (0.030, 0.015);
/// Screen: moiré peak. Bona fide 15–20, prints 31–38, screens 12–137 (three of six
/// above 60). Check: bona fide 13–24, prints 16–29, screens 19–273 (six of eight above
/// 60; the other two are caught by the other cues).
pub const MOIRE_RAMP: (f32, f32) = (30.0, 60.0);
/// Reproduction (print or screen): share of frames closed on three sides by straight
/// edges. Bona fide 0, prints 0.44–0.89, screens 0–1.0 (frame-filling monitors 0).
/// Check: bona fide 0–0.008, prints 0.13–0.56, screens 0–1.0.
pub const FRAME_RAMP: (f32, f32) = (0.3, 0.6);
/// Screen: row-brightness change common to the strips. Bona fide 0.65–0.75, prints
/// 0.38–0.60, screens 0.69–0.97: only the strongest bands count. Check: bona fide
/// 0.59–0.71, prints 0.39–0.53, screens 0.71–0.98.
pub const BANDING_RAMP: (f32, f32) = (0.85, 0.95);
/// Reproduction: 1st-percentile luma around the face. Bona fide 11–19, prints 20–49,
/// screens 11–56. Check: bona fide 7–15, prints 13–41, screens 30–40.
pub const BLACK_RAMP: (f32, f32) = (22.0, 34.0);
/// Screen: ln(B/R) shift of the bright pixels around the face against the room's.
/// Bona fide −0.18 to −0.13, prints −0.30 to −0.11, hand-held screens and player
/// windows 0.07–0.44, frame-filling monitors −0.08 to −0.05 (no room to compare).
/// Check: bona fide −0.19 to −0.13, prints −0.29 to −0.02, hand-held screens, tablets
/// and player windows 0.07–0.30, frame-filling monitors −0.20 to −0.13.
pub const WHITE_POINT_RAMP: (f32, f32) = (-0.05, 0.10);
/// The kind is `print` when the rigid-plane evidence reaches this and is at least the
/// emissive evidence; otherwise a flagged clip is a screen (a reproduction whose face
/// moves like a person's). Tuning: prints 0.47–1.0, screens 0–0.59 (with emissive 1.0).
/// Check: prints 0.94–1.0, screens 0; every kind right.
pub const PRINT_KIND_MIN: f32 = 0.4;
