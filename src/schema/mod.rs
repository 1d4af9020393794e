//! The GraphQL schemas: the one-process schema, joined from the four subgraphs' fields
//! (`whole`), and each subgraph's own schema, served alone behind a router with federation on,
//! so its SDL and `_service` come from the schema itself. Field access (`access::field`) is
//! asked on every field of each, and failed nullable fields are answered as null in place
//! (`fields`).

mod fields;
mod whole;

use crate::access::work::{Deadline, WorkAdmission};
use crate::access::{AuditContext, Viewer};
use crate::db::Db;
use crate::facts::snapshot::Aggregates;
use crate::federation::Subgraph;
use crate::gql::{self, RequestState};
use crate::plans::entry_graphql::{EntriesDataLoader, EntriesLoader};
use crate::plans::graphql::{PlansDataLoader, PlansLoader};
use crate::plans::patient_id::PatientIds;
use crate::{clusters, plans, population, rollout};
use async_graphql::{
    EmptyMutation, EmptySubscription, MergedObject, Object, ObjectType, SDLExportOptions, Schema,
    SchemaBuilder,
};
use fields::Fields;
use std::sync::Arc;

pub use whole::Query;

pub type GatewaySchema = Schema<Query, Mutation, EmptySubscription>;

/// The root of every write: the patient's entries (Min Læge App), in the plans subgraph.
#[derive(MergedObject, Default)]
pub struct Mutation(plans::entry_graphql::PlansMutation);

/// The fields every schema has.
#[derive(Default)]
pub struct BaseQuery;

#[Object]
impl BaseQuery {
    /// The gateway's version (semantic versioning), for clients that report what they talk to.
    #[graphql(shareable)]
    async fn api_version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
}

// The plans subgraph's root: its fields and its entity lookups.
/// The root of every read.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct PlansRoot(
    BaseQuery,
    plans::graphql::PlansQuery<plans::graphql::Alone>,
    plans::graphql::PlansEntities,
);

// The population subgraph's root: no fields of its own, its entity lookups.
/// The root of every read.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct PopulationRoot(BaseQuery, population::graphql::PopulationEntities);

// The clusters subgraph's root.
/// The root of every read.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct ClustersRoot(
    BaseQuery,
    clusters::graphql::ClustersQuery<clusters::graphql::Alone>,
    clusters::graphql::ClustersEntities,
);

// The rollout subgraph's root.
/// The root of every read.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct RolloutRoot(
    BaseQuery,
    rollout::graphql::RolloutQuery<rollout::graphql::Alone>,
    rollout::graphql::RolloutEntities,
);

type Of<Q, M = EmptyMutation> = Schema<Q, M, EmptySubscription>;

/// What a process serves: the whole graph, or one subgraph of it behind a router.
pub enum Served {
    Gateway(GatewaySchema),
    Plans(Of<PlansRoot, Mutation>),
    Population(Of<PopulationRoot>),
    Clusters(Of<ClustersRoot>),
    Rollout(Of<RolloutRoot>),
}

impl Served {
    pub async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        match self {
            Served::Gateway(s) => s.execute(request).await,
            Served::Plans(s) => s.execute(request).await,
            Served::Population(s) => s.execute(request).await,
            Served::Clusters(s) => s.execute(request).await,
            Served::Rollout(s) => s.execute(request).await,
        }
    }
}

/// Attaches what the resolvers read per request: the viewer and its loaders (none for
/// anonymous introspection), the database lane (patients read on the reserved one), and
/// fresh request state with the deadline, which the caller keeps for the audit.
pub fn attach(
    mut request: async_graphql::Request,
    db: &Db,
    viewer: Option<Viewer>,
    work: &Arc<WorkAdmission>,
    deadline: Deadline,
    asked: AuditContext,
) -> (async_graphql::Request, Arc<RequestState>) {
    let state = Arc::new(RequestState::new(deadline, asked));
    if let Some(viewer) = viewer {
        let db = gql::lane(db, &viewer);
        request = request
            .data(PlansDataLoader::new(
                PlansLoader {
                    db: db.clone(),
                    scope: viewer.scope(),
                },
                actix_web::rt::spawn,
            ))
            .data(EntriesDataLoader::new(
                EntriesLoader {
                    db: db.clone(),
                    scope: viewer.scope(),
                },
                actix_web::rt::spawn,
            ))
            .data(db)
            .data(viewer);
    }
    (request.data(work.clone()).data(state.clone()), state)
}

fn builder<Q, M>() -> SchemaBuilder<Q, M, EmptySubscription>
where
    Q: ObjectType + Default + 'static,
    M: ObjectType + Default + 'static,
{
    Schema::build(Q::default(), M::default(), EmptySubscription).extension(Fields)
}

/// A subgraph's schema builder: federation on.
fn subgraph_builder<Q, M>() -> SchemaBuilder<Q, M, EmptySubscription>
where
    Q: ObjectType + Default + 'static,
    M: ObjectType + Default + 'static,
{
    builder::<Q, M>().enable_federation()
}

/// The shared state every schema's resolvers read from the context.
struct Shared {
    db: Db,
    aggregates: Arc<Aggregates>,
    patient_ids: PatientIds,
}

impl Shared {
    fn finish<Q: ObjectType + 'static, M: ObjectType + 'static>(
        self,
        builder: SchemaBuilder<Q, M, EmptySubscription>,
    ) -> Of<Q, M> {
        builder
            .data(self.db)
            .data(self.aggregates)
            .data(self.patient_ids)
            .finish()
    }
}

/// Builds the one-process schema with the shared state its resolvers read.
pub fn build(db: Db, aggregates: Arc<Aggregates>, patient_ids: PatientIds) -> GatewaySchema {
    Shared {
        db,
        aggregates,
        patient_ids,
    }
    .finish(builder::<Query, Mutation>())
}

/// Builds one subgraph's schema, to be served alone behind a router.
pub fn build_subgraph(
    subgraph: Subgraph,
    db: Db,
    aggregates: Arc<Aggregates>,
    patient_ids: PatientIds,
) -> Served {
    let shared = Shared {
        db,
        aggregates,
        patient_ids,
    };
    match subgraph {
        Subgraph::Plans => Served::Plans(shared.finish(subgraph_builder())),
        Subgraph::Population => {
            Served::Population(shared.finish(subgraph_builder::<_, EmptyMutation>()))
        }
        Subgraph::Clusters => {
            Served::Clusters(shared.finish(subgraph_builder::<_, EmptyMutation>()))
        }
        Subgraph::Rollout => Served::Rollout(shared.finish(subgraph_builder::<_, EmptyMutation>())),
    }
}

/// The one-process schema's SDL without any state, for `forloeb schema` and the drift test.
pub fn sdl() -> String {
    builder::<Query, Mutation>().finish().sdl()
}

/// A subgraph's Federation v2 SDL, as its `_service { sdl }` answers it: what a router
/// composes (`forloeb schema --subgraph NAME`, `schema/subgraphs/`).
pub fn subgraph_sdl(subgraph: Subgraph) -> String {
    fn of<Q: ObjectType + Default + 'static, M: ObjectType + Default + 'static>() -> String {
        subgraph_builder::<Q, M>()
            .finish()
            .sdl_with_options(SDLExportOptions::new().federation().compose_directive())
    }
    match subgraph {
        Subgraph::Plans => of::<PlansRoot, Mutation>(),
        Subgraph::Population => of::<PopulationRoot, EmptyMutation>(),
        Subgraph::Clusters => of::<ClustersRoot, EmptyMutation>(),
        Subgraph::Rollout => of::<RolloutRoot, EmptyMutation>(),
    }
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

    /// The fields of each object type of an SDL, by type name.
    fn object_fields(sdl: &str) -> std::collections::BTreeMap<String, Vec<String>> {
        let doc = async_graphql::parser::parse_schema(sdl).expect("sdl parses");
        doc.definitions
            .into_iter()
            .filter_map(|d| match d {
                TypeSystemDefinition::Type(t) => match &t.node.kind {
                    TypeKind::Object(o) => Some((
                        t.node.name.node.to_string(),
                        o.fields
                            .iter()
                            .map(|f| f.node.name.node.to_string())
                            .collect(),
                    )),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    /// The entity types of the subgraph schemas and the field each is keyed by, read from their
    /// `@key` directives (the schema states them; no table repeats them).
    fn entity_keys() -> std::collections::BTreeMap<String, String> {
        use crate::federation::Subgraph;
        let mut keys = std::collections::BTreeMap::new();
        for s in Subgraph::ALL {
            let doc = async_graphql::parser::parse_schema(super::subgraph_sdl(s)).expect("sdl");
            for def in doc.definitions {
                let TypeSystemDefinition::Type(t) = def else {
                    continue;
                };
                for d in t
                    .node
                    .directives
                    .iter()
                    .filter(|d| d.node.name.node == "key")
                {
                    if let Some(async_graphql::Value::String(f)) =
                        d.node.get_argument("fields").map(|v| &v.node)
                    {
                        keys.insert(t.node.name.node.to_string(), f.clone());
                    }
                }
            }
        }
        keys
    }

    /// `federation::OWNERSHIP` says what the subgraph schemas have: each subgraph's root fields
    /// and entity fields (besides the key) are the table's, and every root and entity field of
    /// the one-process schema has exactly one owner (the shared root fields every one).
    #[test]
    fn the_ownership_table_is_what_the_subgraph_schemas_serve() {
        use crate::federation::{Subgraph, OWNERSHIP, SHARED_ROOT_FIELDS};
        let whole = object_fields(&super::sdl());
        let keys = entity_keys();
        assert_eq!(
            keys.keys().map(String::as_str).collect::<Vec<_>>(),
            ["CarePlan", "Clinic", "Cluster", "Patient", "Region"]
        );
        let key_of = |ty: &str| keys.get(ty).map(String::as_str);
        let tabled = |s: Subgraph, ty: &str| -> Vec<String> {
            let mut fields: Vec<String> = OWNERSHIP
                .iter()
                .filter(|(o, t, _)| *o == s && *t == ty)
                .flat_map(|(_, _, fs)| fs.iter())
                .flat_map(|f| match *f {
                    "*" => whole[ty].clone(),
                    f => vec![f.to_string()],
                })
                .filter(|f| Some(f.as_str()) != key_of(ty))
                .collect();
            if ty == "Query" {
                fields.extend(SHARED_ROOT_FIELDS.iter().map(|f| f.to_string()));
            }
            fields.sort();
            fields
        };
        let mut owners: std::collections::BTreeMap<(String, String), usize> = Default::default();
        for s in Subgraph::ALL {
            let served = object_fields(&super::subgraph_sdl(s));
            for ty in std::iter::once("Query").chain(keys.keys().map(String::as_str)) {
                let mut has: Vec<String> = served
                    .get(ty)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|f| Some(f.as_str()) != key_of(ty))
                    .collect();
                has.sort();
                assert_eq!(has, tabled(s, ty), "{s:?} {ty}");
                for f in has {
                    *owners.entry((ty.to_string(), f)).or_default() += 1;
                }
            }
        }
        for ty in std::iter::once("Query").chain(keys.keys().map(String::as_str)) {
            for f in &whole[ty] {
                if Some(f.as_str()) == key_of(ty) {
                    continue;
                }
                let n = owners.get(&(ty.to_string(), f.clone())).copied();
                let expected = if SHARED_ROOT_FIELDS.contains(&f.as_str()) {
                    4
                } else {
                    1
                };
                assert_eq!(n, Some(expected), "{ty}.{f}");
            }
        }
    }

    #[test]
    fn subgraphs_key_a_patient_by_its_opaque_id_never_by_cpr() {
        use crate::federation::Subgraph;
        let plans = super::subgraph_sdl(Subgraph::Plans);
        assert!(
            plans.contains("type Patient @key(fields: \"id\")"),
            "{plans}"
        );
        for s in Subgraph::ALL {
            let sdl = super::subgraph_sdl(s);
            assert!(!sdl.contains("@key(fields: \"cpr\")"), "{s:?}");
            assert!(sdl.contains("apiVersion: String! @shareable"), "{s:?}");
        }
    }

    #[test]
    fn the_committed_subgraph_schemas_are_current() {
        use crate::federation::Subgraph;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/subgraphs");
        for s in Subgraph::ALL {
            let path = dir.join(format!("{}.graphql", s.as_str()));
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == super::subgraph_sdl(s),
                "{} is stale: run `forloeb schema --subgraph {}` into it",
                path.display(),
                s.as_str()
            );
        }
    }
}
