//! Identifiers and closed vocabularies of the feeds.

use super::Invalid;
use std::fmt;

/// A clinic's provider number: exactly 6 ASCII digits, leading zeros kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ydernummer(String);

impl Ydernummer {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_string()))
        } else {
            Err(Invalid::new("not 6 digits"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Read back from the database (diesel `deserialize_as = String`).
impl TryFrom<String> for Ydernummer {
    type Error = Invalid;
    fn try_from(raw: String) -> Result<Self, Invalid> {
        Self::parse(&raw)
    }
}

impl fmt::Display for Ydernummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Declares a closed vocabulary: the enum, its wire spelling, parsing and display.
macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident, $what:literal { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn parse(raw: &str) -> Result<Self, Invalid> {
                match raw {
                    $($text => Ok($name::$variant),)+
                    _ => Err(Invalid::new(format!(
                        "not a known {} (one of: {})",
                        $what,
                        [$($text),+].join(", ")
                    ))),
                }
            }

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        /// Read back from the database (diesel `deserialize_as = String`).
        impl TryFrom<String> for $name {
            type Error = Invalid;
            fn try_from(raw: String) -> Result<Self, Invalid> {
                Self::parse(&raw)
            }
        }

        /// As its wire spelling, in the feeds and in what is stored.
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <String as serde::Deserialize>::deserialize(d)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

vocabulary!(
    /// The five Danish regions.
    RegionCode, "region code" {
        Nordjylland = "1081",
        Midtjylland = "1082",
        Syddanmark = "1083",
        Hovedstaden = "1084",
        Sjaelland = "1085",
    }
);

impl RegionCode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Nordjylland => "Region Nordjylland",
            Self::Midtjylland => "Region Midtjylland",
            Self::Syddanmark => "Region Syddanmark",
            Self::Hovedstaden => "Region Hovedstaden",
            Self::Sjaelland => "Region Sjælland",
        }
    }
}

vocabulary!(
    /// The chronic conditions a plan can be for.
    PlanType, "plan type" { Kol = "KOL", Dm2 = "DM2", Ihd = "IHD" }
);

vocabulary!(
    /// The platforms that deliver plan records.
    Source, "source" { Plsp = "PLSP", Kiap = "KIAP" }
);

vocabulary!(
    /// A plan version's status.
    PlanStatus, "status" { Active = "active", Completed = "completed", Cancelled = "cancelled" }
);

vocabulary!(
    /// What a measurement measures; each has a unit and a valid range.
    MeasurementCode, "measurement code" {
        Hba1c = "HBA1C",
        BpSys = "BP_SYS",
        BpDia = "BP_DIA",
        Ldl = "LDL",
        Fev1Pct = "FEV1_PCT",
        Mrc = "MRC",
        Bmi = "BMI",
        Weight = "WEIGHT",
        Smoker = "SMOKER",
    }
);

impl MeasurementCode {
    pub fn unit(self) -> &'static str {
        match self {
            Self::Hba1c => "mmol/mol",
            Self::BpSys | Self::BpDia => "mmHg",
            Self::Ldl => "mmol/L",
            Self::Fev1Pct => "% of predicted",
            Self::Mrc => "dyspnoea grade",
            Self::Bmi => "kg/m²",
            Self::Weight => "kg",
            Self::Smoker => "0 = no, 1 = yes",
        }
    }

    /// Inclusive valid range.
    pub fn range(self) -> (f64, f64) {
        match self {
            Self::Hba1c => (10.0, 250.0),
            Self::BpSys => (50.0, 300.0),
            Self::BpDia => (20.0, 200.0),
            Self::Ldl => (0.0, 20.0),
            Self::Fev1Pct => (5.0, 150.0),
            Self::Mrc => (1.0, 5.0),
            Self::Bmi => (10.0, 80.0),
            Self::Weight => (20.0, 400.0),
            Self::Smoker => (0.0, 1.0),
        }
    }

    /// A finite value in range; SMOKER only 0 or 1.
    pub fn check(self, value: f64) -> Result<f64, Invalid> {
        let (lo, hi) = self.range();
        if !value.is_finite() {
            return Err(Invalid::new("not a finite number"));
        }
        if value < lo || value > hi {
            return Err(Invalid::new(format!(
                "{value} is outside {lo}–{hi} {} for {self}",
                self.unit()
            )));
        }
        if self == Self::Smoker && value != 0.0 && value != 1.0 {
            return Err(Invalid::new("SMOKER is 0 or 1"));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ydernummer_is_six_digits_with_leading_zeros() {
        assert_eq!(
            Ydernummer::parse("041234").map(|y| y.to_string()),
            Ok("041234".into())
        );
        for bad in ["41234", "0412345", "04123a", "", " 41234"] {
            assert!(Ydernummer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vocabularies_parse_exact_spellings() {
        assert_eq!(RegionCode::parse("1084"), Ok(RegionCode::Hovedstaden));
        assert!(RegionCode::parse("9999").is_err());
        assert_eq!(PlanType::parse("IHD"), Ok(PlanType::Ihd));
        assert!(PlanType::parse("ihd").is_err());
        assert!(PlanType::parse("ASTMA").is_err());
        assert_eq!(Source::parse("KIAP"), Ok(Source::Kiap));
        assert!(Source::parse("EPJ").is_err());
        assert_eq!(PlanStatus::parse("cancelled"), Ok(PlanStatus::Cancelled));
        assert!(MeasurementCode::parse("GLUCOSE").is_err());
        let err = PlanType::parse("X").expect_err("unknown");
        assert!(err.0.contains("(one of: KOL, DM2, IHD)"), "{err}");
    }

    #[test]
    fn measurement_ranges_are_inclusive() {
        assert!(MeasurementCode::Hba1c.check(10.0).is_ok());
        assert!(MeasurementCode::Hba1c.check(250.0).is_ok());
        assert!(MeasurementCode::Hba1c.check(900.0).is_err());
        assert!(MeasurementCode::Ldl.check(0.0).is_ok());
        assert!(MeasurementCode::Ldl.check(-0.1).is_err());
        assert!(MeasurementCode::Smoker.check(1.0).is_ok());
        assert!(MeasurementCode::Smoker.check(0.5).is_err());
        assert!(MeasurementCode::Bmi.check(f64::NAN).is_err());
        assert!(MeasurementCode::Weight.check(f64::INFINITY).is_err());
        let err = MeasurementCode::Hba1c.check(900.0).expect_err("range");
        assert!(err.0.contains("10–250 mmol/mol"), "{err}");
    }
}
