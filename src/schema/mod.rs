//! The GraphQL schema: the union of the domain subgraphs' query roots, with field access
//! (`access::field`) asked on every field and failed nullable fields answered as null in place
//! (`fields`).

mod fields;

use crate::clusters::graphql::ClustersQuery;
use crate::db::Db;
use crate::federation::entities::EntitiesQuery;
use crate::plans::graphql::PlansQuery;
use crate::plans::patient_id::PatientIds;
use crate::rollout::graphql::RolloutQuery;
use crate::rollout::snapshot::Aggregates;
use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Object, Schema};
use fields::Fields;
use std::sync::Arc;

pub type GatewaySchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// The root of every read.
#[derive(MergedObject, Default)]
pub struct Query(BaseQuery, PlansQuery, ClustersQuery, RolloutQuery);

/// The root of a subgraph process: the same fields, plus the entity lookups behind
/// `_entities` (and `_service`), which the one-process schema does not expose.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct SubgraphQuery(
    BaseQuery,
    PlansQuery,
    ClustersQuery,
    RolloutQuery,
    EntitiesQuery,
);

pub type SubgraphSchema = Schema<SubgraphQuery, EmptyMutation, EmptySubscription>;

/// What a process serves: the whole graph, or one subgraph of it behind a router.
pub enum Served {
    Gateway(GatewaySchema),
    Subgraph(SubgraphSchema),
}

impl Served {
    pub async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        match self {
            Served::Gateway(s) => s.execute(request).await,
            Served::Subgraph(s) => s.execute(request).await,
        }
    }
}

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
    Schema::build(Query::default(), EmptyMutation, EmptySubscription).extension(Fields)
}

/// Builds the schema with the shared state its resolvers read from the context.
pub fn build(db: Db, aggregates: Arc<Aggregates>, patient_ids: PatientIds) -> GatewaySchema {
    builder()
        .data(db)
        .data(aggregates)
        .data(patient_ids)
        .finish()
}

/// The subgraph schema: federation on, entity lookups registered.
pub fn build_subgraph(
    db: Db,
    aggregates: Arc<Aggregates>,
    patient_ids: PatientIds,
) -> SubgraphSchema {
    Schema::build(SubgraphQuery::default(), EmptyMutation, EmptySubscription)
        .extension(Fields)
        .enable_federation()
        .data(db)
        .data(aggregates)
        .data(patient_ids)
        .finish()
}

/// The schema's SDL without any state, for `forloeb schema` and the drift test.
pub fn sdl() -> String {
    builder().finish().sdl()
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

    /// The schema is a contract: every type, field, argument-free enum value and input field
    /// says what it is.
    #[test]
    fn every_type_and_field_has_a_description() {
        let doc = async_graphql::parser::parse_schema(super::sdl()).expect("sdl parses");
        let mut missing = Vec::new();
        for def in doc.definitions {
            let TypeSystemDefinition::Type(ty) = def else {
                continue;
            };
            let name = ty.node.name.node.to_string();
            if name.starts_with("__") {
                continue;
            }
            // Relay connection types come from async-graphql, which gives them no description.
            if ty.node.description.is_none() && !name.ends_with("Connection") {
                missing.push(name.clone());
            }
            let fields: Vec<(String, bool)> = match &ty.node.kind {
                TypeKind::Object(o) => o
                    .fields
                    .iter()
                    .map(|f| (f.node.name.node.to_string(), f.node.description.is_some()))
                    .collect(),
                TypeKind::Enum(e) => e
                    .values
                    .iter()
                    .map(|v| (v.node.value.node.to_string(), v.node.description.is_some()))
                    .collect(),
                TypeKind::InputObject(i) => i
                    .fields
                    .iter()
                    .map(|f| (f.node.name.node.to_string(), f.node.description.is_some()))
                    .collect(),
                _ => Vec::new(),
            };
            for (field, described) in fields {
                if !described && !field.starts_with("__") {
                    missing.push(format!("{name}.{field}"));
                }
            }
        }
        assert!(missing.is_empty(), "without a description: {missing:?}");
    }

    /// A root field some role is refused must be nullable: a refused non-null field nulls
    /// the whole answer, and routers and engines disagree on how far.
    #[test]
    fn root_fields_that_can_be_refused_are_nullable() {
        use crate::access::policy::allows;
        use crate::auth::Role;
        let doc = async_graphql::parser::parse_schema(super::sdl()).expect("sdl parses");
        for def in doc.definitions {
            let TypeSystemDefinition::Type(ty) = def else {
                continue;
            };
            let (name, TypeKind::Object(o)) = (ty.node.name.node.as_str(), &ty.node.kind) else {
                continue;
            };
            if name != "Query" {
                continue;
            }
            for f in &o.fields {
                let field = f.node.name.node.as_str();
                let refusable = Role::ALL.iter().any(|r| !allows(*r, "Query", field));
                assert!(
                    !refusable || f.node.ty.node.nullable,
                    "Query.{field} can be refused but is non-null"
                );
            }
        }
    }
}
