//! The feeds' closed vocabularies as GraphQL enums. Each is the domain enum itself
//! (async-graphql's `remote`: the conversions both ways are derived, and a variant added to
//! the domain without one here does not compile), with the wire spelling and a description.

use crate::domain;
use async_graphql::Enum;

/// Plan type (forløbstype).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::PlanType")]
pub enum PlanType {
    /// KOL: chronic obstructive pulmonary disease (COPD).
    #[graphql(name = "KOL")]
    Kol,
    /// Type 2-diabetes.
    #[graphql(name = "DM2")]
    Dm2,
    /// Iskæmisk hjertesygdom: ischaemic heart disease (the hjerteforløbsplan).
    #[graphql(name = "IHD")]
    Ihd,
}

/// Sex (køn), derived from the CPR number's last digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::Sex")]
pub enum Sex {
    /// Kvinde.
    Female,
    /// Mand.
    Male,
}

/// The platform that delivered a plan (datakilde).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::Source")]
pub enum Source {
    /// The PLSP platform.
    #[graphql(name = "PLSP")]
    Plsp,
    /// The KiAP platform.
    #[graphql(name = "KIAP")]
    Kiap,
}

/// A plan version's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::PlanStatus")]
pub enum PlanStatus {
    /// In force.
    Active,
    /// Completed.
    Completed,
    /// Cancelled.
    Cancelled,
}

/// What a measurement (måling) measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "domain::MeasurementCode")]
pub enum MeasurementCode {
    /// Langtidsblodsukker, mmol/mol.
    #[graphql(name = "HBA1C")]
    Hba1c,
    /// Systolic blood pressure, mmHg.
    BpSys,
    /// Diastolic blood pressure, mmHg.
    BpDia,
    /// LDL cholesterol, mmol/L.
    Ldl,
    /// Lung function: FEV1 in % of predicted.
    #[graphql(name = "FEV1_PCT")]
    Fev1Pct,
    /// Dyspnoea on the MRC scale, 1–5.
    Mrc,
    /// Body mass index, kg/m².
    Bmi,
    /// Body weight, kg.
    Weight,
    /// Smoking: 0 = no, 1 = yes.
    Smoker,
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{EnumType, InputType};

    /// The GraphQL names are the feeds' own spellings, so a client can send what the feed says.
    #[test]
    fn graphql_names_are_the_wire_spellings() {
        fn names<E: EnumType + InputType>(
            items: &[async_graphql::resolver_utils::EnumItem<E>],
        ) -> Vec<&'static str> {
            items.iter().map(|i| i.name).collect()
        }
        let wire = |all: &[&'static str]| all.iter().map(|s| s.to_uppercase()).collect::<Vec<_>>();
        assert_eq!(
            names(PlanType::items()),
            wire(
                &domain::PlanType::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
            )
        );
        assert_eq!(
            names(Source::items()),
            wire(
                &domain::Source::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
            )
        );
        assert_eq!(
            names(PlanStatus::items()),
            wire(
                &domain::PlanStatus::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
            )
        );
        assert_eq!(
            names(MeasurementCode::items()),
            wire(
                &domain::MeasurementCode::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
            )
        );
    }
}
