//! The directory every view hangs on: clinics, clusters (klynger) and regions, read from the
//! reference data (no persons, so no scope).

use crate::access::Subject;
use crate::db::tables::{clinics, clusters};
use crate::db::{DbConnection, DbError};
use crate::domain::{RegionCode, Ydernummer};
use chrono::NaiveDate;
use diesel::prelude::*;
use std::collections::BTreeMap;

/// A clinic's directory entry, typed as it was parsed when imported: a stored identifier that
/// no longer parses fails the read (`DbError::is_unparsable`, counted), never drops the row.
#[derive(Debug, Clone, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::tables::clinics)]
pub struct ClinicInfo {
    #[diesel(deserialize_as = String)]
    pub ydernummer: Ydernummer,
    pub name: String,
    #[diesel(column_name = region_code, deserialize_as = String)]
    pub region: RegionCode,
    #[diesel(column_name = cluster_id)]
    pub cluster: Option<String>,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
}

impl ClinicInfo {
    /// This clinic as the subject of a reach decision.
    pub fn subject(&self) -> Subject<'_> {
        Subject::Clinic {
            ydernummer: self.ydernummer.as_str(),
            region: self.region.as_str(),
            cluster: self.cluster.as_deref(),
        }
    }

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
    #[diesel(column_name = region_code, deserialize_as = String)]
    pub region: RegionCode,
}

impl ClusterInfo {
    /// This cluster as the subject of a reach decision.
    pub fn subject(&self) -> Subject<'_> {
        Subject::Cluster {
            id: &self.id,
            region: self.region.as_str(),
        }
    }
}

/// All clinics and clusters, keyed and sorted by their identifiers.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub clinics: BTreeMap<String, ClinicInfo>,
    pub clusters: BTreeMap<String, ClusterInfo>,
}

impl Directory {
    pub fn clinics_in_region(&self, region: RegionCode) -> impl Iterator<Item = &ClinicInfo> {
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

pub fn directory(conn: &mut DbConnection) -> Result<Directory, DbError> {
    let clinic_rows: Vec<ClinicInfo> = clinics::table.select(ClinicInfo::as_select()).load(conn)?;
    let cluster_rows: Vec<ClusterInfo> = clusters::table
        .select(ClusterInfo::as_select())
        .load(conn)?;
    Ok(Directory {
        clinics: clinic_rows
            .into_iter()
            .map(|c| (c.ydernummer.as_str().to_string(), c))
            .collect(),
        clusters: cluster_rows
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect(),
    })
}

/// A clinician's clinic's cluster, for the viewer's reach.
pub fn clinic_cluster(
    conn: &mut DbConnection,
    ydernummer: &str,
) -> Result<Option<String>, DbError> {
    Ok(clinics::table
        .filter(clinics::ydernummer.eq(ydernummer))
        .select(clinics::cluster_id)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}
