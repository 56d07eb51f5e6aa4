//! Where each passive signal's evidence starts (0) and is full (1), and how the
//! display frame weighs in. PROVISIONAL: being re-tuned.

pub const PLANARITY_RAMP: (f32, f32) = (0.65, 0.85);
pub const DEFORMATION_RAMP: (f32, f32) = (0.030, 0.015);
pub const MOIRE_RAMP: (f32, f32) = (35.0, 95.0);
pub const FRAME_RAMP: (f32, f32) = (0.3, 0.7);
pub const BANDING_RAMP: (f32, f32) = (0.3, 0.6);
pub const BLACK_RAMP: (f32, f32) = (12.0, 25.0);
pub const WHITE_POINT_RAMP: (f32, f32) = (0.15, 0.3);
pub const FRAME_WEIGHT: f32 = 0.8;
