//! Reads of reference data: no persons, so no scope.

use super::{ClinicInfo, ClusterInfo, Directory};
use crate::db::tables::{clinics, clusters};
use crate::db::{DbConnection, DbError};
use diesel::prelude::*;

pub fn directory(conn: &mut DbConnection) -> Result<Directory, DbError> {
    let clinic_rows: Vec<ClinicInfo> = clinics::table.select(ClinicInfo::as_select()).load(conn)?;
    let cluster_rows: Vec<ClusterInfo> = clusters::table
        .select(ClusterInfo::as_select())
        .load(conn)?;
    Ok(Directory {
        clinics: clinic_rows
            .into_iter()
            .map(|c| (c.ydernummer.clone(), c))
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
