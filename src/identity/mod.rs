//! Identity rules: MRZ text (TD1/TD3), Kazakh IINs, dates and printed names go
//! in; parsed, check-digit-verified values, name comparisons or typed errors
//! come out. Pure functions over std only: no I/O, no logging, and nothing else
//! of ours is ever called.

pub mod date;
pub mod document;
pub mod iin;
pub mod mrz;
pub mod spelling;
pub mod translit;

pub use date::{Calendar, Date, DateParseError, age_on, is_minor_on, today_utc};
pub use document::{Confirmed, DocumentRead, FrontFields};
pub use iin::{Iin, IinError, Sex};
pub use mrz::{CharClass, Correction, Mrz, MrzChecks, MrzError, MrzField, MrzFormat, char_classes, names_columns};
pub use translit::{FirstDifference, NameMatch};
