//! Dates, instants and ISO weeks. Metrics take dates in Europe/Copenhagen.

use super::Invalid;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Copenhagen;
use std::fmt;

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |n, d| {
        n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
    }))
}

fn ymd(b: &[u8]) -> Option<NaiveDate> {
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *b else {
        return None;
    };
    let (y, m, d) = (
        digits(&[y1, y2, y3, y4])?,
        digits(&[m1, m2])?,
        digits(&[d1, d2])?,
    );
    if y == 0 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// `YYYY-MM-DD` in shape: ten bytes, digits but for the two dashes.
fn date_shaped(b: &[u8]) -> bool {
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// A calendar date written `YYYY-MM-DD` exactly (no other spelling), and real.
pub fn parse_date(raw: &str) -> Result<NaiveDate, Invalid> {
    let b = raw.as_bytes();
    if !date_shaped(b) {
        return Err(Invalid::new("not a date (YYYY-MM-DD)"));
    }
    ymd(b).ok_or_else(|| Invalid::new("not a real calendar date"))
}

/// An instant from an RFC 3339 timestamp that carried an explicit offset (`Z` or `±HH:MM`).
/// Equality is by instant: the same moment written in another offset is the same timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

/// Read back from the database, where instants are stored as microseconds since the epoch
/// (diesel `deserialize_as = i64`).
impl TryFrom<i64> for Timestamp {
    type Error = Invalid;
    fn try_from(micros: i64) -> Result<Self, Invalid> {
        Self::from_micros(micros)
            .ok_or_else(|| Invalid::new(format!("{micros} µs is no representable instant")))
    }
}

impl Timestamp {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let shape = || {
            Invalid::new("not an RFC 3339 timestamp with offset (YYYY-MM-DDTHH:MM:SS±HH:MM or …Z)")
        };
        let b = raw.as_bytes();
        let Some((date_part, time_part)) = b.split_at_checked(10) else {
            return Err(shape());
        };
        let [b'T', h1, h2, b':', m1, m2, b':', s1, s2, ref after @ ..] = *time_part else {
            return Err(shape());
        };
        if !date_shaped(date_part) {
            return Err(shape());
        }
        let (h, mi, s) = (digits(&[h1, h2]), digits(&[m1, m2]), digits(&[s1, s2]));
        let (Some(h), Some(mi), Some(s)) = (h, mi, s) else {
            return Err(shape());
        };
        let mut rest = after;
        let mut nanos = 0u32;
        if let [b'.', fraction_on @ ..] = rest {
            let n = fraction_on
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let Some((frac, after_fraction)) = fraction_on.split_at_checked(n).filter(|_| n > 0)
            else {
                return Err(shape());
            };
            // Microsecond precision, as the feeds' other readers keep.
            let kept = frac.len().min(6);
            let micros = frac
                .iter()
                .take(6)
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
                * 10u32.pow(u32::try_from(6 - kept).unwrap_or(0));
            nanos = micros * 1000;
            rest = after_fraction;
        }
        let offset_secs = match rest {
            [b'Z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let (Some(oh), Some(om)) = (digits(&[*h1, *h2]), digits(&[*m1, *m2])) else {
                    return Err(shape());
                };
                if oh > 23 || om > 59 {
                    return Err(Invalid::new("offset out of range"));
                }
                let secs = i32::try_from(oh * 3600 + om * 60).map_err(|_| shape())?;
                if *sign == b'-' {
                    -secs
                } else {
                    secs
                }
            }
            _ => return Err(shape()),
        };
        let real = || Invalid::new("not a real date and time");
        let date = ymd(date_part).ok_or_else(real)?;
        let time = NaiveTime::from_hms_nano_opt(h, mi, s, nanos).ok_or_else(real)?;
        let offset = FixedOffset::east_opt(offset_secs).ok_or_else(real)?;
        let local = offset
            .from_local_datetime(&date.and_time(time))
            .single()
            .ok_or_else(real)?;
        Ok(Self(local.with_timezone(&Utc)))
    }

    pub fn now() -> Self {
        Self(Utc::now())
    }

    pub fn from_micros(micros: i64) -> Option<Self> {
        DateTime::from_timestamp_micros(micros).map(Self)
    }

    pub fn micros(self) -> i64 {
        self.0.timestamp_micros()
    }

    pub fn utc(self) -> DateTime<Utc> {
        self.0
    }

    /// The date in Europe/Copenhagen: what every metric counts by.
    pub fn local_date(self) -> NaiveDate {
        self.0.with_timezone(&Copenhagen).date_naive()
    }

    /// The start of a day in Europe/Copenhagen.
    pub fn local_midnight(d: NaiveDate) -> Option<Self> {
        d.and_hms_opt(0, 0, 0)?
            .and_local_timezone(Copenhagen)
            .earliest()
            .map(|t| Self(t.with_timezone(&Utc)))
    }

    /// Seconds until the next midnight in Europe/Copenhagen (at least 1).
    pub fn secs_to_local_midnight(self) -> u64 {
        let local = self.0.with_timezone(&Copenhagen);
        let next = local
            .date_naive()
            .succ_opt()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|m| m.and_local_timezone(Copenhagen).earliest());
        next.map_or(3600, |n| {
            u64::try_from((n.with_timezone(&Utc) - self.0).num_seconds())
                .unwrap_or(1)
                .max(1)
        })
    }

    /// RFC 3339 in Copenhagen time, for display.
    pub fn to_local_rfc3339(self) -> String {
        self.0.with_timezone(&Copenhagen).to_rfc3339()
    }
}

/// An ISO 8601 week (`2022-W07`), as the steering group's weekly figures use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    pub year: i32,
    pub week: u32,
}

impl IsoWeek {
    pub fn of(date: NaiveDate) -> Self {
        let w = date.iso_week();
        Self {
            year: w.year(),
            week: w.week(),
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let bad = || Invalid::new("not an ISO week (YYYY-Www)");
        let [y1, y2, y3, y4, b'-', b'W', w1, w2] = *raw.as_bytes() else {
            return Err(bad());
        };
        let year = digits(&[y1, y2, y3, y4]).ok_or_else(bad)?;
        let week = digits(&[w1, w2]).ok_or_else(bad)?;
        let year = i32::try_from(year).map_err(|_| bad())?;
        NaiveDate::from_isoywd_opt(year, week, chrono::Weekday::Mon)
            .ok_or_else(|| Invalid::new("no such week in that year"))?;
        Ok(Self { year, week })
    }

    /// The Monday that starts the week.
    pub fn monday(self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, chrono::Weekday::Mon)
            .unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn dates_must_be_exact_and_real() {
        assert_eq!(parse_date("2024-02-29"), Ok(date(2024, 2, 29)));
        for bad in [
            "2023-02-29",
            "2022-13-01",
            "2022-1-01",
            "22-01-01",
            "2022/01/01",
            "0000-01-01",
            "2022-01-01T00:00:00Z",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_need_an_offset() {
        assert!(Timestamp::parse("2022-03-01T10:00:00").is_err());
        assert!(Timestamp::parse("2022-03-01 10:00:00+01:00").is_err());
        assert!(Timestamp::parse("2022-03-01t10:00:00z").is_err());
        assert!(Timestamp::parse("2022-13-01T10:00:00+01:00").is_err());
        assert!(Timestamp::parse("2022-03-01T24:00:00+01:00").is_err());
        assert!(
            Timestamp::parse("2022-03-01T10:00:60Z").is_err(),
            "no leap seconds"
        );
        assert!(Timestamp::parse("2022-03-01T10:00:00+24:00").is_err());
        assert!(Timestamp::parse("2022-03-01T10:00:00.Z").is_err());
        assert!(Timestamp::parse("2022-03-01T10:00:00.123456789+01:00").is_ok());
    }

    #[test]
    fn equality_is_by_instant() {
        let a = Timestamp::parse("2022-03-14T10:22:05+01:00").expect("ts");
        let b = Timestamp::parse("2022-03-14T09:22:05Z").expect("ts");
        let c = Timestamp::parse("2022-03-14T09:22:05.000Z").expect("ts");
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(Timestamp::from_micros(a.micros()), Some(a));
    }

    #[test]
    fn local_dates_follow_copenhagen_including_dst() {
        // Winter: UTC+1. 23:30Z on Sunday is Monday 00:30 local — the next ISO week.
        let t = Timestamp::parse("2022-01-09T23:30:00Z").expect("ts");
        assert_eq!(t.local_date(), date(2022, 1, 10));
        assert_eq!(IsoWeek::of(t.local_date()).to_string(), "2022-W02");
        // Summer: UTC+2. 22:30Z is 00:30 the next day; 21:59Z is still the same day.
        assert_eq!(
            Timestamp::parse("2022-06-12T22:30:00Z")
                .expect("ts")
                .local_date(),
            date(2022, 6, 13)
        );
        assert_eq!(
            Timestamp::parse("2022-06-12T21:59:59Z")
                .expect("ts")
                .local_date(),
            date(2022, 6, 12)
        );
        // The night DST starts (27 March 2022, 02:00 → 03:00) and ends (30 October, 03:00 → 02:00).
        assert_eq!(
            Timestamp::parse("2022-03-26T23:30:00Z")
                .expect("ts")
                .local_date(),
            date(2022, 3, 27)
        );
        assert_eq!(
            Timestamp::parse("2022-03-27T22:30:00Z")
                .expect("ts")
                .local_date(),
            date(2022, 3, 28)
        );
        assert_eq!(
            Timestamp::parse("2022-10-29T22:30:00Z")
                .expect("ts")
                .local_date(),
            date(2022, 10, 30)
        );
        assert_eq!(
            Timestamp::parse("2022-10-30T22:30:00Z")
                .expect("ts")
                .local_date(),
            date(2022, 10, 30)
        );
        assert_eq!(
            Timestamp::parse("2022-10-30T23:00:00Z")
                .expect("ts")
                .local_date(),
            date(2022, 10, 31)
        );
    }

    #[test]
    fn iso_weeks_at_year_boundaries() {
        assert_eq!(IsoWeek::of(date(2022, 1, 2)).to_string(), "2021-W52");
        assert_eq!(IsoWeek::of(date(2021, 1, 3)).to_string(), "2020-W53");
        assert_eq!(IsoWeek::of(date(2024, 12, 30)).to_string(), "2025-W01");
        assert_eq!(
            IsoWeek::parse("2020-W53").map(|w| w.monday()),
            Ok(date(2020, 12, 28))
        );
        assert!(IsoWeek::parse("2021-W53").is_err());
        assert!(IsoWeek::parse("2021-53").is_err());
    }
}
