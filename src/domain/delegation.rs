//! A digital power of attorney (fuldmagt) for care plans (DOMAIN.md, "Delegated access").

use super::Cpr;
use chrono::NaiveDate;

/// The only scope a delegation may have: the care plans.
pub fn scope() -> &'static str {
    "forloebsplaner"
}

/// `grantor` lets `delegate` act for them on their care plans from `valid_from`, until
/// `valid_to` or `revoked_on` (both exclusive), when given. Built only by `Delegation::new`,
/// so grantor and delegate differ and the period is not empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    grantor: Cpr,
    delegate: Cpr,
    valid_from: NaiveDate,
    valid_to: Option<NaiveDate>,
    revoked_on: Option<NaiveDate>,
}

/// Why a delegation cannot be, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDelegation {
    #[error("the grantor cannot be their own delegate")]
    ToOneself,
    #[error("{valid_to} is not after valid_from {valid_from}")]
    EndsBeforeItStarts {
        valid_from: NaiveDate,
        valid_to: NaiveDate,
    },
}

impl InvalidDelegation {
    /// The field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::ToOneself => "delegate",
            Self::EndsBeforeItStarts { .. } => "valid_to",
        }
    }
}

impl Delegation {
    pub fn new(
        grantor: Cpr,
        delegate: Cpr,
        valid_from: NaiveDate,
        valid_to: Option<NaiveDate>,
        revoked_on: Option<NaiveDate>,
    ) -> Result<Self, InvalidDelegation> {
        if grantor == delegate {
            return Err(InvalidDelegation::ToOneself);
        }
        if let Some(valid_to) = valid_to.filter(|end| *end <= valid_from) {
            return Err(InvalidDelegation::EndsBeforeItStarts {
                valid_from,
                valid_to,
            });
        }
        Ok(Self {
            grantor,
            delegate,
            valid_from,
            valid_to,
            revoked_on,
        })
    }

    /// Whether it holds on `day` (a Copenhagen date): started, and neither ended nor revoked
    /// on or before it.
    pub fn holds_on(&self, day: NaiveDate) -> bool {
        self.valid_from <= day
            && self.valid_to.is_none_or(|end| day < end)
            && self.revoked_on.is_none_or(|revoked| day < revoked)
    }

    pub fn grantor(&self) -> &Cpr {
        &self.grantor
    }
    pub fn delegate(&self) -> &Cpr {
        &self.delegate
    }
    pub fn valid_from(&self) -> NaiveDate {
        self.valid_from
    }
    pub fn valid_to(&self) -> Option<NaiveDate> {
        self.valid_to
    }
    pub fn revoked_on(&self) -> Option<NaiveDate> {
        self.revoked_on
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }
    fn cpr(s: &str) -> Cpr {
        Cpr::parse(s).expect("cpr")
    }

    #[test]
    fn holds_from_its_first_day_until_the_day_it_ends_or_is_revoked() {
        let d = Delegation::new(
            cpr("0103521234"),
            cpr("2709400129"),
            day("2022-01-01"),
            Some(day("2023-01-01")),
            Some(day("2022-06-15")),
        )
        .expect("valid");
        assert!(!d.holds_on(day("2021-12-31")));
        assert!(d.holds_on(day("2022-01-01")));
        assert!(d.holds_on(day("2022-06-14")));
        assert!(!d.holds_on(day("2022-06-15")), "revoked that day");
        let open = Delegation::new(
            cpr("0103521234"),
            cpr("2709400129"),
            day("2022-01-01"),
            Some(day("2023-01-01")),
            None,
        )
        .expect("valid");
        assert!(open.holds_on(day("2022-12-31")));
        assert!(!open.holds_on(day("2023-01-01")), "ended that day");
    }

    /// A live request decides on its Copenhagen date: at 00:30 in Copenhagen (22:30 UTC the
    /// evening before, in summer time) it is already the day of the revocation.
    #[test]
    fn the_day_is_copenhagens() {
        let d = Delegation::new(
            cpr("0103521234"),
            cpr("2709400129"),
            day("2022-01-01"),
            None,
            Some(day("2022-06-15")),
        )
        .expect("valid");
        let before = crate::domain::Timestamp::parse("2022-06-14T21:59:59Z").expect("ts");
        let after = crate::domain::Timestamp::parse("2022-06-14T22:30:00Z").expect("ts");
        assert_eq!(before.local_date(), day("2022-06-14"));
        assert!(d.holds_on(before.local_date()), "23:59:59 in Copenhagen");
        assert_eq!(after.local_date(), day("2022-06-15"));
        assert!(!d.holds_on(after.local_date()), "00:30 in Copenhagen");
    }

    #[test]
    fn refuses_oneself_and_an_empty_period() {
        let me = cpr("0103521234");
        assert_eq!(
            Delegation::new(me.clone(), me.clone(), day("2022-01-01"), None, None),
            Err(InvalidDelegation::ToOneself)
        );
        assert!(matches!(
            Delegation::new(
                me,
                cpr("2709400129"),
                day("2022-01-01"),
                Some(day("2022-01-01")),
                None
            ),
            Err(InvalidDelegation::EndsBeforeItStarts { .. })
        ));
    }
}
