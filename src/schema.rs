//! The GraphQL schema: the union of the domain subgraphs' query roots, with field access
//! enforced by `access::AccessControl` on every field.

use crate::access::AccessControl;
use crate::clusters::graphql::ClustersQuery;
use crate::db::Db;
use crate::plans::graphql::PlansQuery;
use crate::rollout::graphql::RolloutQuery;
use crate::rollout::snapshot::Aggregates;
use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Object, Schema};
use std::sync::Arc;

pub type GatewaySchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// The root of every read.
#[derive(MergedObject, Default)]
pub struct Query(BaseQuery, PlansQuery, ClustersQuery, RolloutQuery);

#[derive(Default)]
pub struct BaseQuery;

#[Object]
impl BaseQuery {
    /// The gateway's version (semantic versioning), for clients that report what they talk to.
    async fn api_version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}

fn builder() -> async_graphql::SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription).extension(AccessControl)
}

/// Builds the schema with the shared state its resolvers read from the context.
pub fn build(db: Db, aggregates: Arc<Aggregates>) -> GatewaySchema {
    builder().data(db).data(aggregates).finish()
}

/// The schema's SDL without any state, for `forloeb schema` and the drift test.
pub fn sdl() -> String {
    builder().finish().sdl()
}
