//! CPR numbers: `DDMMYYSSSS`, birth date and sex derived from the number itself.

use super::Invalid;
use chrono::NaiveDate;
use std::fmt;

/// A CPR number with a real birth date. Deliberately no modulus-11 check: numbers issued
/// since 2007 need not pass it. `Debug` is masked so a CPR cannot slip into a log by `{:?}`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cpr(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Female,
    Male,
}

/// Read back from the database (diesel `deserialize_as = String`).
impl TryFrom<String> for Cpr {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}

impl Cpr {
    /// Accepts 10 digits, or 6 digits, a dash and 4 digits (the dash is dropped).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let b = raw.as_bytes();
        let digits: String = if b.len() == 11 && b.get(6) == Some(&b'-') {
            raw.chars().filter(|c| *c != '-').collect()
        } else {
            raw.to_string()
        };
        if digits.len() != 10 || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Invalid::new(
                "not 10 digits (DDMMYYSSSS, a dash after the sixth allowed)",
            ));
        }
        let cpr = Self(digits);
        cpr.compute_birth_date()
            .ok_or_else(|| Invalid::new("not a real birth date"))?;
        Ok(cpr)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn num(&self, from: usize, to: usize) -> u32 {
        self.0[from..to]
            .bytes()
            .fold(0, |n, d| n * 10 + u32::from(d - b'0'))
    }

    /// The century comes from the seventh digit and YY (DOMAIN.md "CPR numbers").
    fn compute_birth_date(&self) -> Option<NaiveDate> {
        let (dd, mm, yy, s7) = (
            self.num(0, 2),
            self.num(2, 4),
            self.num(4, 6),
            self.num(6, 7),
        );
        let year = match s7 {
            0..=3 => 1900 + yy,
            4 | 9 if yy <= 36 => 2000 + yy,
            4 | 9 => 1900 + yy,
            _ if yy <= 57 => 2000 + yy,
            _ => 1800 + yy,
        };
        NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, mm, dd)
    }

    pub fn birth_date(&self) -> NaiveDate {
        // Parsing guaranteed a real date.
        self.compute_birth_date().unwrap_or(NaiveDate::MIN)
    }

    pub fn sex(&self) -> Sex {
        if self.num(9, 10) % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }
}

impl fmt::Debug for Cpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cpr(**********)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn born(s: &str) -> Option<NaiveDate> {
        Cpr::parse(s).ok().map(|c| c.birth_date())
    }
    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn dash_is_accepted_and_dropped() {
        assert_eq!(
            Cpr::parse("010352-1234").map(|c| c.as_str().to_string()),
            Ok("0103521234".into())
        );
        assert!(Cpr::parse("0103-521234").is_err());
        assert!(Cpr::parse("01035212345").is_err());
        assert!(Cpr::parse("010352123").is_err());
        assert!(Cpr::parse("01035212a4").is_err());
        assert!(
            Cpr::parse("０１０３５２１２３４").is_err(),
            "non-ASCII digits"
        );
    }

    #[test]
    fn century_table() {
        assert_eq!(born("0103520000"), d(1952, 3, 1));
        assert_eq!(born("0103523999"), d(1952, 3, 1));
        // 4 and 9: 2000–2036 when YY ≤ 36, else 1937–1999
        assert_eq!(born("0101364000"), d(2036, 1, 1));
        assert_eq!(born("0101374000"), d(1937, 1, 1));
        assert_eq!(born("0101369000"), d(2036, 1, 1));
        assert_eq!(born("0101379000"), d(1937, 1, 1));
        // 5–8: 2000–2057 when YY ≤ 57, else 1858–1899
        assert_eq!(born("0101575000"), d(2057, 1, 1));
        assert_eq!(born("0101585000"), d(1858, 1, 1));
        assert_eq!(born("0101578000"), d(2057, 1, 1));
        assert_eq!(born("0101588000"), d(1858, 1, 1));
        assert_eq!(born("0101996000"), d(1899, 1, 1));
        assert_eq!(born("0101007000"), d(2000, 1, 1));
    }

    #[test]
    fn birth_date_must_be_real_including_29_february() {
        assert!(Cpr::parse("2902001234").is_err());
        assert_eq!(born("2902004234"), d(2000, 2, 29)); // 2000 is
        assert_eq!(born("2902521234"), d(1952, 2, 29));
        assert!(Cpr::parse("2902531234").is_err());
        assert!(Cpr::parse("3102501234").is_err());
        assert!(Cpr::parse("0113501234").is_err());
        assert!(Cpr::parse("0001501234").is_err());
        assert!(Cpr::parse("3104501234").is_err());
    }

    #[test]
    fn no_modulus_11() {
        // 0103521235 fails modulus 11 but is a valid CPR number since 2007.
        assert!(Cpr::parse("0103521235").is_ok());
    }

    #[test]
    fn sex_from_last_digit() {
        assert_eq!(Cpr::parse("0103521233").map(|c| c.sex()), Ok(Sex::Male));
        assert_eq!(Cpr::parse("0103521234").map(|c| c.sex()), Ok(Sex::Female));
    }

    #[test]
    fn debug_is_masked() {
        let c = Cpr::parse("0103521234").expect("cpr");
        assert!(!format!("{c:?}").contains("0103521234"));
    }
}
