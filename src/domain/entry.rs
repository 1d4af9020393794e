//! The patient's own entries on a care plan (DOMAIN.md, "The patient's own entries"): goal
//! marks, home measurements, notes for the next check-up and withdrawals. Each part parses
//! here, naming the argument and the rule it broke; whether the plan is the caller's and
//! active, and whether the goal or the withdrawn entry exists on it, is the store's to say.

use super::{Invalid, MeasurementCode};
use chrono::{Months, NaiveDate};
use std::fmt;

/// The id the app gives an entry: a UUID, kept lowercase and hyphenated, so the same id in
/// other spellings is the same entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId(String);

impl EntryId {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        uuid::Uuid::try_parse(raw.trim())
            .map(|u| Self(u.hyphenated().to_string()))
            .map_err(|_| Invalid::new("must be a UUID, e.g. 7d444840-9dc0-11d1-b245-5ffdce74fad2"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EntryId {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an entry's content was refused: the argument, and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{argument}: {rule}")]
pub struct InvalidEntry {
    pub argument: &'static str,
    pub rule: String,
}

impl InvalidEntry {
    pub fn new(argument: &'static str, rule: impl Into<String>) -> Self {
        Self {
            argument,
            rule: rule.into(),
        }
    }
}

/// What an entry says. Two entries with the same id must say the same, else the second is a
/// conflict; `PartialEq` is that comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryContent {
    /// The patient's view of a goal, known by its text and the day it was set.
    GoalMark {
        goal_text: String,
        goal_set_on: NaiveDate,
        reached: bool,
    },
    /// A measurement taken at home: reported by the patient, never one of the clinic's.
    HomeMeasurement {
        code: MeasurementCode,
        value: f64,
        measured_on: NaiveDate,
    },
    /// A note for the next check-up.
    Note(String),
    /// Takes back an earlier entry on the same plan; both stay in the history.
    Withdrawal(EntryId),
}

/// The codes a patient may measure at home; the others are measured at the clinic.
pub const HOME_CODES: [MeasurementCode; 4] = [
    MeasurementCode::BpSys,
    MeasurementCode::BpDia,
    MeasurementCode::Weight,
    MeasurementCode::Bmi,
];

/// Longest note, in characters.
pub const NOTE_MAX_CHARS: usize = 2_000;

impl EntryContent {
    /// A home measurement on `today` (Copenhagen): a home code, a value in the code's range,
    /// measured not after today and not more than a year back.
    pub fn home_measurement(
        code: MeasurementCode,
        value: f64,
        measured_on: NaiveDate,
        today: NaiveDate,
    ) -> Result<Self, InvalidEntry> {
        if !HOME_CODES.contains(&code) {
            let allowed: Vec<&str> = HOME_CODES.iter().map(|c| c.as_str()).collect();
            return Err(InvalidEntry::new(
                "code",
                format!(
                    "{code} is measured at the clinic; a patient may enter {}",
                    allowed.join(", ")
                ),
            ));
        }
        let value = code
            .check(value)
            .map_err(|e| InvalidEntry::new("value", e.to_string()))?;
        if measured_on > today {
            return Err(InvalidEntry::new(
                "measuredOn",
                format!("{measured_on} is in the future (today is {today})"),
            ));
        }
        let earliest = today.checked_sub_months(Months::new(12)).unwrap_or(today);
        if measured_on < earliest {
            return Err(InvalidEntry::new(
                "measuredOn",
                format!("{measured_on} is more than a year back (the earliest is {earliest})"),
            ));
        }
        Ok(Self::HomeMeasurement {
            code,
            value,
            measured_on,
        })
    }

    /// A note: 1–2,000 characters of plain text. Line breaks are kept (a note has lines);
    /// every other control character is refused, as is a note of nothing but white space.
    pub fn note(text: &str) -> Result<Self, InvalidEntry> {
        if text.trim().is_empty() {
            return Err(InvalidEntry::new("text", "must not be empty"));
        }
        let chars = text.chars().count();
        if chars > NOTE_MAX_CHARS {
            return Err(InvalidEntry::new(
                "text",
                format!("is {chars} characters; at most {NOTE_MAX_CHARS}"),
            ));
        }
        if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\n') {
            return Err(InvalidEntry::new(
                "text",
                format!(
                    "must be plain text: control character U+{:04X} is not allowed",
                    u32::from(c)
                ),
            ));
        }
        Ok(Self::Note(text.to_string()))
    }

    /// The stored name of the entry's kind.
    pub fn kind(&self) -> EntryKind {
        match self {
            Self::GoalMark { .. } => EntryKind::GoalMark,
            Self::HomeMeasurement { .. } => EntryKind::HomeMeasurement,
            Self::Note(_) => EntryKind::Note,
            Self::Withdrawal(_) => EntryKind::Withdrawal,
        }
    }
}

/// The kind of an entry, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    GoalMark,
    HomeMeasurement,
    Note,
    Withdrawal,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GoalMark => "goal_mark",
            Self::HomeMeasurement => "home_measurement",
            Self::Note => "note",
            Self::Withdrawal => "withdrawal",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        [
            Self::GoalMark,
            Self::HomeMeasurement,
            Self::Note,
            Self::Withdrawal,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
        .ok_or_else(|| Invalid::new(format!("unknown entry kind {raw:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn an_entry_id_is_a_uuid_in_one_spelling() {
        let a = EntryId::parse("7D444840-9DC0-11D1-B245-5FFDCE74FAD2").expect("upper");
        let b = EntryId::parse("7d444840-9dc0-11d1-b245-5ffdce74fad2").expect("lower");
        assert_eq!(a, b);
        assert_eq!(a.as_str().len(), 36);
        for bad in [
            "",
            "42",
            "7d444840-9dc0-11d1-b245",
            "not-a-uuid-at-all-not-a-uuid-at-all!",
        ] {
            assert!(EntryId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_home_measurement_names_the_argument_it_breaks() {
        let today = d("2022-05-18");
        let ok = EntryContent::home_measurement(MeasurementCode::BpSys, 135.0, today, today);
        assert!(ok.is_ok());
        let year_back = d("2021-05-18");
        assert!(
            EntryContent::home_measurement(MeasurementCode::Weight, 80.0, year_back, today).is_ok(),
            "exactly a year back is allowed"
        );
        for (code, value, on, argument) in [
            (MeasurementCode::Hba1c, 50.0, today, "code"),
            (MeasurementCode::Smoker, 1.0, today, "code"),
            (MeasurementCode::BpSys, 20.0, today, "value"),
            (MeasurementCode::Bmi, f64::NAN, today, "value"),
            (MeasurementCode::BpDia, 80.0, d("2022-05-19"), "measuredOn"),
            (MeasurementCode::BpDia, 80.0, d("2021-05-17"), "measuredOn"),
        ] {
            let e = EntryContent::home_measurement(code, value, on, today).expect_err("refused");
            assert_eq!(e.argument, argument, "{code} {value} {on}: {e}");
        }
    }

    #[test]
    fn a_note_is_plain_text_of_one_to_two_thousand_characters() {
        assert!(EntryContent::note("Spørg om medicinen.\nOg om motion.").is_ok());
        assert!(
            EntryContent::note(&"æ".repeat(2_000)).is_ok(),
            "characters, not bytes"
        );
        for bad in ["", "   \n ", "tab\there", "bell\u{7}", "cr\r\n"] {
            let e = EntryContent::note(bad).expect_err(bad);
            assert_eq!(e.argument, "text");
        }
        let long = EntryContent::note(&"a".repeat(2_001)).expect_err("too long");
        assert!(long.rule.contains("2001"), "{long}");
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            EntryKind::GoalMark,
            EntryKind::HomeMeasurement,
            EntryKind::Note,
            EntryKind::Withdrawal,
        ] {
            assert_eq!(EntryKind::parse(k.as_str()), Ok(k));
        }
        assert!(EntryKind::parse("edit").is_err());
    }
}
