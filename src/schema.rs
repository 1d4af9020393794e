//! The GraphQL schema: the union of the domain subgraphs' query roots.

use crate::db::Db;
use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

pub type GatewaySchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// The root of every read. Domain modules add their fields here as they land.
#[derive(Default)]
pub struct Query;

#[Object]
impl Query {
    /// The gateway's version (semantic versioning), for clients that report what they talk to.
    async fn api_version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}

/// Builds the schema with the shared state its resolvers read from the context.
pub fn build(db: Db) -> GatewaySchema {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .data(db)
        .finish()
}

/// The schema's SDL without any state, for `forloeb schema` and the drift test.
pub fn sdl() -> String {
    Schema::build(Query, EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}
