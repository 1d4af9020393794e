//! How a subgraph finds an entity the router names by its key (`_entities`). Each lookup is
//! the same scoped lookup a direct query makes, so `_entities` reaches nothing a query could
//! not: a clinic outside the viewer's reach resolves, but its fields are refused as in
//! `clinic(ydernummer)`; a patient or plan outside the scope is null, and is audited when not.

use crate::clusters::graphql::{Clinic, Cluster, Region};
use crate::domain::RegionCode;
use crate::gql;
use crate::plans::graphql::{CarePlan, Patient};
use crate::plans::patient_id::PatientIds;
use async_graphql::{Context, Object, ID};

/// Entity lookups. Not fields: async-graphql calls them only from `_entities`, which exists
/// only in a subgraph schema.
#[derive(Default)]
pub struct EntitiesQuery;

#[Object]
impl EntitiesQuery {
    #[graphql(entity)]
    async fn find_clinic_by_ydernummer(
        &self,
        ctx: &Context<'_>,
        ydernummer: String,
    ) -> gql::Result<Option<Clinic>> {
        Clinic::by_id(ctx, &ydernummer).await
    }

    #[graphql(entity)]
    async fn find_cluster_by_id(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> gql::Result<Option<Cluster>> {
        Cluster::by_id(ctx, &id).await
    }

    #[graphql(entity)]
    async fn find_region_by_code(&self, code: String) -> Option<Region> {
        RegionCode::parse(&code).ok().map(Region)
    }

    #[graphql(entity)]
    async fn find_care_plan_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> gql::Result<Option<CarePlan>> {
        CarePlan::by_id(ctx, &id).await
    }

    #[graphql(entity)]
    async fn find_patient_by_id(&self, ctx: &Context<'_>, id: ID) -> gql::Result<Option<Patient>> {
        let ids = ctx
            .data::<PatientIds>()
            .map_err(|_| gql::internal("no patient id key"))?;
        match ids.decode(&id) {
            Some(cpr) => Patient::find(ctx, cpr).await,
            None => Ok(None),
        }
    }
}
