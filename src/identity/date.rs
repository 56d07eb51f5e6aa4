//! Calendar dates (proleptic Gregorian, years 1–9999) and the age and
//! two-digit-year rules the identity checks need.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// Age of majority in Kazakhstan.
pub const ADULT_AGE: u32 = 18;

const MIN_YEAR: u16 = 1;
const MAX_YEAR: u16 = 9999;
const SECONDS_PER_DAY: i64 = 86_400;

/// How far past the reference date a two-digit expiry year may land (see
/// [`expiry_date_from_yymmdd`]).
const EXPIRY_YEARS_AHEAD: i32 = 50;

/// A valid calendar date. The fields are private so that every `Date` in
/// circulation is a real day; build one with [`Date::new`] or by parsing.
///
/// Field order matters: the derived `Ord` compares year, then month, then day.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    pub const UNIX_EPOCH: Date = Date {
        year: 1970,
        month: 1,
        day: 1,
    };

    /// `None` unless `year-month-day` is a real day between 0001-01-01 and 9999-12-31.
    pub const fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if is_valid_date(year, month, day) {
            Some(Date { year, month, day })
        } else {
            None
        }
    }

    pub const fn year(self) -> u16 {
        self.year
    }

    pub const fn month(self) -> u8 {
        self.month
    }

    pub const fn day(self) -> u8 {
        self.day
    }

    /// As an MRZ and an IIN's first six digits write it (1966-07-18: 660718).
    pub fn yymmdd(self) -> String {
        format!("{:02}{:02}{:02}", self.year % 100, self.month, self.day)
    }

    /// The date `days` after 1970-01-01 (negative: before), or `None` outside years 1–9999.
    pub const fn from_unix_days(days: i64) -> Option<Date> {
        // Checked up front so the arithmetic below can neither overflow nor leave u16.
        const MIN_DAYS: i64 = days_from_civil(MIN_YEAR, 1, 1);
        const MAX_DAYS: i64 = days_from_civil(MAX_YEAR, 12, 31);
        if days < MIN_DAYS || days > MAX_DAYS {
            return None;
        }
        let (year, month, day) = civil_from_days(days);
        Date::new(year, month, day)
    }

    /// Days since 1970-01-01 (negative before it).
    pub const fn to_unix_days(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }
}

pub const fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Number of days in `month` of `year`; 0 for a month outside 1–12.
pub const fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

pub const fn is_valid_date(year: u16, month: u8, day: u8) -> bool {
    year >= MIN_YEAR && year <= MAX_YEAR && day >= 1 && day <= days_in_month(year, month)
}

/// Howard Hinnant's `days_from_civil`: eras of 400 years (146 097 days) with
/// years starting in March, so the leap day is the last day of a year.
const fn days_from_civil(year: u16, month: u8, day: u8) -> i64 {
    let month = month as i64;
    let year = year as i64 - if month <= 2 { 1 } else { 0 };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`]; callers keep `days` inside years 1–9999.
const fn civil_from_days(days: i64) -> (u16, u8, u8) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + if month <= 2 { 1 } else { 0 };
    (year as u16, month as u8, day as u8)
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Why a string is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateParseError {
    /// Not of the shape `YYYY-MM-DD` (ten ASCII characters, digits and two hyphens).
    Format,
    /// The shape is right but the day does not exist (e.g. 2023-02-29).
    NoSuchDay,
}

impl fmt::Display for DateParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateParseError::Format => "date is not in YYYY-MM-DD form",
            DateParseError::NoSuchDay => "date does not exist in the calendar",
        })
    }
}

impl std::error::Error for DateParseError {}

impl FromStr for Date {
    type Err = DateParseError;

    fn from_str(text: &str) -> Result<Date, DateParseError> {
        let bytes = text.as_bytes();
        let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *bytes else {
            return Err(DateParseError::Format);
        };
        let year = decimal(&[y1, y2, y3, y4]).ok_or(DateParseError::Format)?;
        let two_digits = |high, low| {
            decimal(&[high, low])
                .and_then(|value| u8::try_from(value).ok())
                .ok_or(DateParseError::Format)
        };
        let (month, day) = (two_digits(m1, m2)?, two_digits(d1, d2)?);
        Date::new(year, month, day).ok_or(DateParseError::NoSuchDay)
    }
}

impl TryFrom<String> for Date {
    type Error = DateParseError;

    fn try_from(text: String) -> Result<Date, DateParseError> {
        text.parse()
    }
}

impl From<Date> for String {
    fn from(date: Date) -> String {
        date.to_string()
    }
}

/// Value of up to four ASCII decimal digits; `None` if any byte is not a digit.
fn decimal(digits: &[u8]) -> Option<u16> {
    digits.iter().try_fold(0u16, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u16::from(byte - b'0'))
    })
}

/// Completed years of life on `on` for someone born on `birth`; 0 if `on` is
/// not after `birth`.
pub fn age_on(birth: Date, on: Date) -> u32 {
    if on <= birth {
        return 0;
    }
    let mut years = u32::from(on.year - birth.year);
    // A (month, day) comparison puts a Feb 29 birthday after Feb 28, so in a
    // non-leap year the person turns a year older on Mar 1.
    if (on.month, on.day) < (birth.month, birth.day) {
        years -= 1;
    }
    years
}

pub fn is_minor_on(birth: Date, on: Date) -> bool {
    age_on(birth, on) < ADULT_AGE
}

/// Where a session's "today" (age, expiry) comes from: the system clock in
/// production, a fixed day in tests, so that a test about a 17-year-old stays
/// true after the birthday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Calendar {
    #[default]
    System,
    Fixed(Date),
}

impl Calendar {
    pub fn today(&self) -> Date {
        match self {
            Calendar::System => today_utc(),
            Calendar::Fixed(day) => *day,
        }
    }
}

/// Today's date in UTC from the system clock.
pub fn today_utc() -> Date {
    let seconds = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(since_epoch) => i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
        Err(before_epoch) => {
            i64::try_from(before_epoch.duration().as_secs()).map_or(i64::MIN, |s| -s)
        }
    };
    // Only a clock set outside years 1–9999 misses; the epoch is as good a
    // wrong answer as any and keeps this function total.
    Date::from_unix_days(seconds.div_euclid(SECONDS_PER_DAY)).unwrap_or(Date::UNIX_EPOCH)
}

// Two-digit years (MRZ dates) are resolved by choosing the century that puts
// the date inside a 100-year window ending at a "latest plausible" date:
// * birth dates: the window ends at the reference date, because nobody is born
//   in the future. A holder over 100 is misdated by a century; the MRZ cannot
//   tell, the IIN's century digit can.
// * expiry dates: the window ends 50 years after the reference. Documents are
//   issued for at most a few decades, while expired ones can be old; with a
//   reference in 2026 this reads 00–76 as 20yy and 77–99 as 19yy.

/// Birth date from MRZ `YYMMDD`: the century that makes it the latest such
/// date not after `reference`. `None` if the text is not six digits or the day
/// does not exist in that century (e.g. 29 Feb 1900).
pub fn birth_date_from_yymmdd(yymmdd: &str, reference: Date) -> Option<Date> {
    let latest = (i32::from(reference.year), reference.month, reference.day);
    date_in_century_ending(yymmdd, latest)
}

/// Expiry date from MRZ `YYMMDD`: the century that puts it no more than 50
/// years after `reference` and less than 50 years before it.
pub fn expiry_date_from_yymmdd(yymmdd: &str, reference: Date) -> Option<Date> {
    let latest = (
        i32::from(reference.year) + EXPIRY_YEARS_AHEAD,
        reference.month,
        reference.day,
    );
    date_in_century_ending(yymmdd, latest)
}

/// The date with these `YYMMDD` digits in the 100 years that end (inclusive)
/// at `latest`, given as a (year, month, day) triple that need not be a real day.
fn date_in_century_ending(yymmdd: &str, latest: (i32, u8, u8)) -> Option<Date> {
    let [y1, y2, m1, m2, d1, d2] = *yymmdd.as_bytes() else {
        return None;
    };
    let yy = i32::from(decimal(&[y1, y2])?);
    let month = u8::try_from(decimal(&[m1, m2])?).ok()?;
    let day = u8::try_from(decimal(&[d1, d2])?).ok()?;
    let (latest_year, _, _) = latest;
    let mut year = latest_year - latest_year.rem_euclid(100) + yy;
    if (year, month, day) > latest {
        year -= 100;
    }
    Date::new(u16::try_from(year).ok()?, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(text: &str) -> Date {
        text.parse().expect("test date literal")
    }

    #[test]
    fn validity_follows_gregorian_leap_rules() {
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(
            Date::new(1900, 2, 29).is_none(),
            "century not divisible by 400"
        );
        assert!(Date::new(2000, 2, 29).is_some(), "century divisible by 400");
        assert!(Date::new(2023, 4, 31).is_none());
        assert!(Date::new(2023, 13, 1).is_none());
        assert!(Date::new(2023, 0, 1).is_none());
        assert!(Date::new(2023, 1, 0).is_none());
        assert!(Date::new(0, 1, 1).is_none());
        assert!(Date::new(9999, 12, 31).is_some());
    }

    #[test]
    fn parses_and_displays_iso_form() {
        let parsed = date("2008-03-07");
        assert_eq!((parsed.year(), parsed.month(), parsed.day()), (2008, 3, 7));
        assert_eq!(parsed.to_string(), "2008-03-07");
        assert_eq!(date("0001-01-01").to_string(), "0001-01-01");
    }

    #[test]
    fn rejects_malformed_or_impossible_text() {
        for bad in [
            "",
            "2024-1-01",
            "2024/01/01",
            "20240101",
            "2024-01-01 ",
            "２０２４-01-01",
            "+024-01-01",
        ] {
            assert_eq!(bad.parse::<Date>(), Err(DateParseError::Format), "{bad:?}");
        }
        assert_eq!("2023-02-29".parse::<Date>(), Err(DateParseError::NoSuchDay));
        assert_eq!("0000-01-01".parse::<Date>(), Err(DateParseError::NoSuchDay));
    }

    #[test]
    fn orders_chronologically() {
        assert!(date("2023-12-31") < date("2024-01-01"));
        assert!(date("2024-01-31") < date("2024-02-01"));
    }

    #[test]
    fn serde_uses_iso_text_and_validates() {
        let json = serde_json::to_string(&date("1974-08-12")).expect("serialize");
        assert_eq!(json, "\"1974-08-12\"");
        assert_eq!(
            serde_json::from_str::<Date>(&json).expect("deserialize"),
            date("1974-08-12")
        );
        assert!(serde_json::from_str::<Date>("\"2023-02-29\"").is_err());
    }

    #[test]
    fn unix_day_numbers_match_known_dates() {
        assert_eq!(Date::from_unix_days(0), Some(Date::UNIX_EPOCH));
        assert_eq!(Date::from_unix_days(-1), Some(date("1969-12-31")));
        // 2000-03-01 is day 11 017: 30 years of 365 days + 7 leap days + Jan and Feb 2000 (60 days).
        assert_eq!(
            Date::from_unix_days(30 * 365 + 7 + 60),
            Some(date("2000-03-01"))
        );
        assert_eq!(date("2000-03-01").to_unix_days(), 11_017);
        assert_eq!(Date::from_unix_days(i64::MAX), None);
        assert_eq!(Date::from_unix_days(i64::MIN), None);
        assert_eq!(
            Date::from_unix_days(date("9999-12-31").to_unix_days() + 1),
            None
        );
    }

    #[test]
    fn age_counts_completed_years() {
        let birth = date("2008-05-20");
        assert_eq!(age_on(birth, date("2026-05-19")), 17);
        assert_eq!(age_on(birth, date("2026-05-20")), 18);
        assert_eq!(age_on(birth, date("2008-05-20")), 0);
        assert_eq!(age_on(birth, date("2000-01-01")), 0, "before birth");
        assert!(is_minor_on(birth, date("2026-05-19")));
        assert!(!is_minor_on(birth, date("2026-05-20")));
    }

    #[test]
    fn leap_day_birthday_advances_on_march_first_in_common_years() {
        let birth = date("2008-02-29");
        assert_eq!(age_on(birth, date("2026-02-28")), 17);
        assert_eq!(age_on(birth, date("2026-03-01")), 18);
        assert_eq!(age_on(birth, date("2028-02-28")), 19);
        assert_eq!(
            age_on(birth, date("2028-02-29")),
            20,
            "leap year: on the day itself"
        );
    }

    #[test]
    fn a_fixed_calendar_ignores_the_system_clock() {
        assert_eq!(Calendar::Fixed(date("2026-11-21")).today(), date("2026-11-21"));
        assert_eq!(Calendar::System.today(), today_utc());
    }

    #[test]
    fn today_is_plausible() {
        let today = today_utc();
        assert!(
            today >= date("2024-01-01") && today.year() < 2200,
            "{today}"
        );
    }

    #[test]
    fn a_date_written_as_six_digits_reads_back_as_itself() {
        assert_eq!(date("1966-07-18").yymmdd(), "660718");
        assert_eq!(date("2005-01-09").yymmdd(), "050109");
        let reference = date("2026-06-15");
        assert_eq!(birth_date_from_yymmdd(&date("1974-08-12").yymmdd(), reference), Some(date("1974-08-12")));
    }

    #[test]
    fn birth_years_never_land_after_the_reference() {
        let reference = date("2026-06-15");
        assert_eq!(
            birth_date_from_yymmdd("740812", reference),
            Some(date("1974-08-12"))
        );
        assert_eq!(
            birth_date_from_yymmdd("260615", reference),
            Some(date("2026-06-15"))
        );
        assert_eq!(
            birth_date_from_yymmdd("260616", reference),
            Some(date("1926-06-16"))
        );
        assert_eq!(
            birth_date_from_yymmdd("000229", reference),
            Some(date("2000-02-29"))
        );
        assert_eq!(
            birth_date_from_yymmdd("000229", date("1999-12-31")),
            None,
            "1900-02-29"
        );
        assert_eq!(birth_date_from_yymmdd("741301", reference), None);
        assert_eq!(birth_date_from_yymmdd("74O812", reference), None);
        assert_eq!(birth_date_from_yymmdd("7408121", reference), None);
        assert_eq!(birth_date_from_yymmdd("74<<<<", reference), None);
    }

    #[test]
    fn expiry_years_prefer_this_century_up_to_fifty_years_ahead() {
        let reference = date("2026-06-15");
        assert_eq!(
            expiry_date_from_yymmdd("120415", reference),
            Some(date("2012-04-15"))
        );
        assert_eq!(
            expiry_date_from_yymmdd("360101", reference),
            Some(date("2036-01-01"))
        );
        assert_eq!(
            expiry_date_from_yymmdd("760615", reference),
            Some(date("2076-06-15"))
        );
        assert_eq!(
            expiry_date_from_yymmdd("760616", reference),
            Some(date("1976-06-16"))
        );
        assert_eq!(
            expiry_date_from_yymmdd("990101", reference),
            Some(date("1999-01-01"))
        );
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (date("0001-01-01").to_unix_days()..=date("9999-12-31").to_unix_days())
            .prop_filter_map("in range", Date::from_unix_days)
    }

    proptest! {
        #[test]
        fn unix_days_round_trip(days in -719_162i64..=2_932_896) {
            let date = Date::from_unix_days(days).expect("in range");
            prop_assert_eq!(date.to_unix_days(), days);
            if let Some(next) = Date::from_unix_days(days + 1) {
                prop_assert!(next > date);
            }
        }

        #[test]
        fn text_round_trips(date in any_date()) {
            prop_assert_eq!(date.to_string().parse::<Date>(), Ok(date));
        }

        #[test]
        fn parse_never_panics(text in ".{0,12}") {
            let _ = text.parse::<Date>();
            let _ = birth_date_from_yymmdd(&text, Date::UNIX_EPOCH);
            let _ = expiry_date_from_yymmdd(&text, Date::UNIX_EPOCH);
        }

        #[test]
        fn age_is_monotonic_and_whole_years(birth in any_date(), step in 0i64..40_000) {
            let on = Date::from_unix_days(birth.to_unix_days() + step);
            prop_assume!(on.is_some());
            let on = on.expect("assumed");
            let next = Date::from_unix_days(on.to_unix_days() + 1);
            if let Some(next) = next {
                let (today, tomorrow) = (age_on(birth, on), age_on(birth, next));
                prop_assert!(tomorrow == today || tomorrow == today + 1);
            }
            // Age never exceeds elapsed days / 365 (a lower bound on year length).
            prop_assert!(i64::from(age_on(birth, on)) <= step / 365);
        }

        #[test]
        fn birth_pivot_resolves_any_plausible_birth(reference in any_date(), back in 0i64..36_500) {
            let birth = Date::from_unix_days(reference.to_unix_days() - back);
            prop_assume!(birth.is_some_and(|b| b.year() >= 100));
            let birth = birth.expect("assumed");
            let yymmdd = format!("{:02}{:02}{:02}", birth.year() % 100, birth.month(), birth.day());
            prop_assert_eq!(birth_date_from_yymmdd(&yymmdd, reference), Some(birth));
        }
    }
}
