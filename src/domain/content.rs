//! What a plan and a listing hold besides their keys: goals, measurements, diagnoses. Parsed
//! from the feed line by line (ingest), stored as JSON arrays of these, and read back as the
//! same types, so a stored value that does not parse is an error, never a silent default.
//!
//! Fields are declared in alphabetical order: the stored JSON keeps the key order it has
//! always had (serde_json's maps are sorted), so stored listings compare equal across
//! versions and re-importing the same lines changes nothing.

use super::{MeasurementCode, PlanType};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// A goal (mål) the patient and the GP agreed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    pub achieved: bool,
    pub set_on: NaiveDate,
    pub text: String,
}

/// A measurement (måling): a value of a known code, on a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    pub code: MeasurementCode,
    pub measured_on: NaiveDate,
    pub value: f64,
}

/// A diagnosis (diagnose) of a listed patient: the condition as a plan type, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diagnosis {
    pub since: NaiveDate,
    #[serde(rename = "type")]
    pub plan_type: PlanType,
}

/// A list of these as stored (a JSON array), typed, and read when asked: a row carries it
/// (diesel `deserialize_as = String`) and `items` reads it whole or not at all, so a query that
/// does not select the list does not pay for parsing it (a page of 50 patients measured 10 %
/// slower when every list was parsed as the row was read).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredList<T> {
    stored: String,
    of: PhantomData<fn() -> T>,
}

impl<T> From<String> for StoredList<T> {
    fn from(stored: String) -> Self {
        Self {
            stored,
            of: PhantomData,
        }
    }
}

impl<T: for<'de> Deserialize<'de>> StoredList<T> {
    /// The items, or what did not parse.
    pub fn items(&self) -> Result<Vec<T>, serde_json::Error> {
        from_stored(&self.stored)
    }
}

/// The stored form of a list of these: a JSON array.
pub fn to_stored<T: Serialize>(items: &[T]) -> String {
    // Serializing plain structs of strings, numbers, dates and booleans cannot fail.
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_string())
}

/// A stored list read back; an error says what did not parse.
pub fn from_stored<T: for<'de> Deserialize<'de>>(
    stored: &str,
) -> Result<Vec<T>, serde_json::Error> {
    serde_json::from_str(stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        crate::domain::parse_date(s).expect("date")
    }

    /// The stored JSON is what earlier versions wrote, key for key, so stored rows still
    /// compare equal and read back.
    #[test]
    fn the_stored_form_is_unchanged_and_reads_back() {
        let goals = vec![Goal {
            text: "Gå en tur hver dag".into(),
            set_on: date("2022-03-14"),
            achieved: false,
        }];
        let measurements = vec![Measurement {
            code: MeasurementCode::Hba1c,
            value: 52.0,
            measured_on: date("2022-03-01"),
        }];
        let diagnoses = vec![Diagnosis {
            plan_type: PlanType::Kol,
            since: date("2014-05-02"),
        }];
        let earlier = |v: serde_json::Value| v.to_string();
        assert_eq!(
            to_stored(&goals),
            earlier(
                serde_json::json!([{ "text": "Gå en tur hver dag", "set_on": "2022-03-14", "achieved": false }])
            )
        );
        assert_eq!(
            to_stored(&measurements),
            earlier(
                serde_json::json!([{ "code": "HBA1C", "value": 52.0, "measured_on": "2022-03-01" }])
            )
        );
        assert_eq!(
            to_stored(&diagnoses),
            earlier(serde_json::json!([{ "type": "KOL", "since": "2014-05-02" }]))
        );
        assert_eq!(
            from_stored::<Goal>(&to_stored(&goals)).expect("goals"),
            goals
        );
        assert_eq!(
            from_stored::<Measurement>(&to_stored(&measurements)).expect("measurements"),
            measurements
        );
        assert_eq!(
            from_stored::<Diagnosis>(&to_stored(&diagnoses)).expect("diagnoses"),
            diagnoses
        );
        // As a row carries it: typed, read when asked, whole or not at all.
        let carried = StoredList::<Goal>::from(to_stored(&goals));
        assert_eq!(carried.items().expect("goals"), goals);
        assert!(StoredList::<Goal>::from("[{}]".to_string())
            .items()
            .is_err());
    }

    #[test]
    fn a_stored_value_that_does_not_parse_is_an_error() {
        for bad in [
            r#"[{"code": "HBA1D", "value": 52, "measured_on": "2022-03-01"}]"#,
            r#"[{"code": "HBA1C", "value": 52}]"#,
            r#"[{"code": "HBA1C", "value": "52", "measured_on": "2022-03-01"}]"#,
            r#"[{"code": "HBA1C", "value": 52, "measured_on": "2022-02-30"}]"#,
            r#"{"code": "HBA1C"}"#,
        ] {
            assert!(from_stored::<Measurement>(bad).is_err(), "{bad}");
        }
    }
}
