//! Clinics, clusters (klynger) and regions: the directory every view hangs on, and the cluster
//! view (klyngevisning).

pub mod graphql;
pub mod repo;

use chrono::NaiveDate;
use std::collections::BTreeMap;

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::tables::clinics)]
pub struct ClinicInfo {
    pub ydernummer: String,
    pub name: String,
    #[diesel(column_name = region_code)]
    pub region: String,
    #[diesel(column_name = cluster_id)]
    pub cluster: Option<String>,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
}

impl ClinicInfo {
    /// DOMAIN.md: open on D when opened_on is null or ≤ D and closed_on is null or > D.
    pub fn is_open(&self, d: NaiveDate) -> bool {
        self.opened_on.is_none_or(|o| o <= d) && self.closed_on.is_none_or(|c| c > d)
    }
}

#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::tables::clusters)]
pub struct ClusterInfo {
    #[diesel(column_name = cluster_id)]
    pub id: String,
    pub name: String,
    #[diesel(column_name = region_code)]
    pub region: String,
}

/// All clinics and clusters, keyed and sorted by their identifiers.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub clinics: BTreeMap<String, ClinicInfo>,
    pub clusters: BTreeMap<String, ClusterInfo>,
}

impl Directory {
    pub fn clinics_in_region<'a>(
        &'a self,
        region: &'a str,
    ) -> impl Iterator<Item = &'a ClinicInfo> {
        self.clinics.values().filter(move |c| c.region == region)
    }

    pub fn clinics_in_cluster<'a>(
        &'a self,
        cluster: &'a str,
    ) -> impl Iterator<Item = &'a ClinicInfo> {
        self.clinics
            .values()
            .filter(move |c| c.cluster.as_deref() == Some(cluster))
    }
}
