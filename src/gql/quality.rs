//! Quality indicators in the schema: one type for a clinic's, a cluster view row's, a region's
//! and the nation's, each part a person count through disclosure control.

use super::{Date, PlanType, Window};
use crate::access::{CountWindow, Disclosure, PersonCount, Rate};
use crate::facts::metrics::year_back;
use crate::facts::quality::{self, Cells};
use crate::facts::snapshot::{ClinicQuality, Snapshot};
use async_graphql::{Context, Enum, SimpleObject};
use chrono::NaiveDate;
use std::sync::Arc;

/// A clinical quality indicator (kvalitetsindikator), as RKKP names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[graphql(remote = "quality::Indicator")]
pub enum Indicator {
    /// Type 2 diabetes: HbA1c measured in the 12 months.
    #[graphql(name = "DM2_HBA1C")]
    Dm2Hba1c,
    /// Type 2 diabetes: latest HbA1c ≤ 53 mmol/mol, of those with HbA1c measured.
    #[graphql(name = "DM2_HBA1C_TARGET")]
    Dm2Hba1cTarget,
    /// Type 2 diabetes: systolic blood pressure measured in the 12 months.
    #[graphql(name = "DM2_BP")]
    Dm2Bp,
    /// Type 2 diabetes: LDL cholesterol measured in the 12 months.
    #[graphql(name = "DM2_LDL")]
    Dm2Ldl,
    /// COPD (KOL): lung function (FEV1 % of predicted) measured in the 12 months.
    #[graphql(name = "KOL_FEV1")]
    KolFev1,
    /// COPD (KOL): breathlessness (MRC) recorded in the 12 months.
    #[graphql(name = "KOL_MRC")]
    KolMrc,
    /// COPD (KOL): smoking status recorded in the 12 months.
    #[graphql(name = "KOL_SMOKING")]
    KolSmoking,
    /// Ischaemic heart disease: LDL cholesterol measured in the 12 months.
    #[graphql(name = "IHD_LDL")]
    IhdLdl,
    /// Ischaemic heart disease: latest LDL < 1.8 mmol/L, of those with LDL measured.
    #[graphql(name = "IHD_LDL_TARGET")]
    IhdLdlTarget,
    /// Ischaemic heart disease: systolic blood pressure measured in the 12 months.
    #[graphql(name = "IHD_BP")]
    IhdBp,
}

/// One quality indicator as of a date: the listed patients with the diagnosis it is about
/// (or, for the two target indicators, those of them with the measurement), and how many of
/// them meet it. Both parts are person counts: exact for the clinic's own clinicians,
/// disclosure-controlled for everyone else.
#[derive(SimpleObject)]
// In several subgraphs, so shareable in federation (ignored in the one-process schema).
#[graphql(shareable)]
pub struct QualityIndicator {
    /// Which indicator.
    pub indicator: Indicator,
    /// The diagnosis, as a plan type.
    pub r#type: PlanType,
    /// What the numerator counts, in words.
    pub description: String,
    /// Patients meeting the indicator.
    pub numerator: PersonCount,
    /// Patients it is about.
    pub denominator: PersonCount,
    /// numerator / denominator.
    pub rate: Rate,
    /// The 12 months of measurements counted: to the date asked for, or for controlled counts
    /// to the end of its month.
    pub window: Window,
}

/// The indicators of `cells` (counted as of `window.to`) as `disclosure` lets the viewer see
/// them.
pub fn indicators(
    cells: &Cells,
    disclosure: &Disclosure<'_>,
    window: CountWindow,
) -> Vec<QualityIndicator> {
    let counted = Window {
        from: year_back(window.to).succ_opt().map(Date),
        to: Date(window.to),
        widened: window.widened,
    };
    quality::Indicator::ALL
        .iter()
        .zip(cells)
        .map(|(&ind, parts)| {
            let numerator = disclosure.count(parts.numerator);
            let denominator = disclosure.count(parts.denominator);
            QualityIndicator {
                indicator: ind.into(),
                r#type: ind.diagnosis().into(),
                description: ind.describe().to_string(),
                numerator,
                denominator,
                rate: Disclosure::rate(numerator, denominator),
                window: counted,
            }
        })
        .collect()
}

/// Every clinic's indicators as of `d`: remembered by the snapshot per date, else one pass
/// over the listed patients, admitted as counting them (each visited once per plan type).
/// Clinics, cluster views and the totals all ask here.
pub async fn as_of(
    ctx: &Context<'_>,
    snap: &Arc<Snapshot>,
    d: NaiveDate,
) -> super::Result<ClinicQuality> {
    if let Some(q) = snap.remembered_quality(d) {
        return Ok(q);
    }
    let snap = snap.clone();
    let cost = (snap.listed_total() as u64).saturating_mul(3);
    super::compute(ctx, cost, move |_| Ok(snap.quality(d))).await
}
