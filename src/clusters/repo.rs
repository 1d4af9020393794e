//! Reads of reference data: no persons, so no scope.

use super::{ClinicInfo, ClusterInfo, Directory};
use crate::db::tables::{clinics, clusters};
use crate::db::{DbConnection, DbError};
use diesel::prelude::*;

pub fn directory(conn: &mut DbConnection) -> Result<Directory, DbError> {
    type ClinicRow = (
        String,
        String,
        String,
        Option<String>,
        Option<chrono::NaiveDate>,
        Option<chrono::NaiveDate>,
    );
    let clinic_rows: Vec<ClinicRow> = clinics::table
        .select((
            clinics::ydernummer,
            clinics::name,
            clinics::region_code,
            clinics::cluster_id,
            clinics::opened_on,
            clinics::closed_on,
        ))
        .load(conn)?;
    let cluster_rows: Vec<(String, String, String)> = clusters::table
        .select((clusters::cluster_id, clusters::name, clusters::region_code))
        .load(conn)?;
    Ok(Directory {
        clinics: clinic_rows
            .into_iter()
            .map(
                |(ydernummer, name, region, cluster, opened_on, closed_on)| {
                    (
                        ydernummer.clone(),
                        ClinicInfo {
                            ydernummer,
                            name,
                            region,
                            cluster,
                            opened_on,
                            closed_on,
                        },
                    )
                },
            )
            .collect(),
        clusters: cluster_rows
            .into_iter()
            .map(|(id, name, region)| (id.clone(), ClusterInfo { id, name, region }))
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
