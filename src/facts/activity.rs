//! The steering group's ad-hoc question: plan activity counted and grouped by any combination
//! of region, cluster, clinic, plan type, source, ISO week, month and year, filtered by a date
//! range and the same dimensions. Answered from the rollout snapshot; person counts go through
//! disclosure control in the GraphQL layer.

use chrono::NaiveDate;

/// A dimension to group plan activity by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, async_graphql::Enum)]
pub enum Dimension {
    /// Region (code).
    Region,
    /// Cluster (klynge).
    Cluster,
    /// Clinic (ydernummer).
    Clinic,
    /// Plan type.
    Type,
    /// Source: PLSP or KIAP.
    Source,
    /// ISO week of the local date, e.g. 2022-W07.
    Week,
    /// Calendar month, e.g. 2022-03.
    Month,
    /// Calendar year.
    Year,
}

/// How rows are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum ActivityOrder {
    /// By the grouping keys, in the order given.
    Key,
    /// Most plan versions first.
    PlansDesc,
    /// Most new plans first.
    NewPlansDesc,
    /// Fewest plan versions first (whom to call).
    PlansAsc,
}

/// A validated question. Built by the GraphQL layer from arguments.
#[derive(Debug, Clone)]
pub struct Question {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: Vec<Dimension>,
    pub regions: Vec<String>,
    pub clusters: Vec<String>,
    pub clinics: Vec<String>,
    pub types: Vec<String>,
    pub sources: Vec<String>,
    pub order: ActivityOrder,
    /// Rows returned at most; one more is read to tell whether the answer was cut.
    pub limit: i64,
}

/// One group's figures; keys are null for dimensions not grouped by.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub d_region: Option<String>,
    pub d_cluster: Option<String>,
    pub d_clinic: Option<String>,
    pub d_type: Option<String>,
    pub d_source: Option<String>,
    pub d_week: Option<String>,
    pub d_month: Option<String>,
    pub d_year: Option<String>,
    pub plans: i64,
    pub new_plans: i64,
    pub clinics: i64,
    /// The distinct patients, as disclosure control identifies them.
    pub patients: crate::access::PersonSet,
}

impl Group {
    /// The key of one dimension; null when not grouped by it.
    pub fn key(&self, dim: Dimension) -> Option<&String> {
        match dim {
            Dimension::Region => self.d_region.as_ref(),
            Dimension::Cluster => self.d_cluster.as_ref(),
            Dimension::Clinic => self.d_clinic.as_ref(),
            Dimension::Type => self.d_type.as_ref(),
            Dimension::Source => self.d_source.as_ref(),
            Dimension::Week => self.d_week.as_ref(),
            Dimension::Month => self.d_month.as_ref(),
            Dimension::Year => self.d_year.as_ref(),
        }
    }

    pub(crate) fn slot(&mut self, dim: Dimension) -> &mut Option<String> {
        match dim {
            Dimension::Region => &mut self.d_region,
            Dimension::Cluster => &mut self.d_cluster,
            Dimension::Clinic => &mut self.d_clinic,
            Dimension::Type => &mut self.d_type,
            Dimension::Source => &mut self.d_source,
            Dimension::Week => &mut self.d_week,
            Dimension::Month => &mut self.d_month,
            Dimension::Year => &mut self.d_year,
        }
    }
}
