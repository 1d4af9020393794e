//! Apollo Federation v2: the graph split into four domain subgraphs behind a router.
//!
//! Each subgraph process serves its own schema (`schema::build_subgraph`): the fields its
//! folder holds, its entity lookups, and its SDL in `_service` (`forloeb schema --subgraph
//! NAME`), all from the schema itself. `OWNERSHIP` says the same split as a table, for the
//! admission of root fields (`access::admission::subgraph_roots`, which names the subgraph to
//! ask instead) and for readers; a test keeps it equal to the subgraph schemas.

/// One domain of the graph, served as a federation subgraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Subgraph {
    Plans,
    Population,
    Clusters,
    Rollout,
}

impl Subgraph {
    pub const ALL: [Subgraph; 4] = [
        Subgraph::Plans,
        Subgraph::Population,
        Subgraph::Clusters,
        Subgraph::Rollout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Subgraph::Plans => "plans",
            Subgraph::Population => "population",
            Subgraph::Clusters => "clusters",
            Subgraph::Rollout => "rollout",
        }
    }

    /// The root fields this subgraph answers (besides `_entities`, `_service` and meta fields).
    pub fn root_fields(self) -> impl Iterator<Item = &'static str> {
        SHARED_ROOT_FIELDS.iter().copied().chain(
            OWNERSHIP
                .iter()
                .filter(move |(s, ty, _)| *s == self && matches!(*ty, "Query" | "Mutation"))
                .flat_map(|(_, _, fields)| fields.iter().copied()),
        )
    }

    /// Which subgraph answers a root field, for an error that points the caller there.
    pub fn owner_of_root_field(field: &str) -> Option<Subgraph> {
        OWNERSHIP
            .iter()
            .find(|(_, ty, fields)| matches!(*ty, "Query" | "Mutation") && fields.contains(&field))
            .map(|(s, _, _)| *s)
    }
}

/// Root fields every subgraph answers (marked `@shareable`).
pub const SHARED_ROOT_FIELDS: &[&str] = &["apiVersion"];

/// Who resolves what: root fields and entity fields (besides the key) by subgraph. `*` is every
/// field of the type. A test checks it against the subgraph schemas and that every root field
/// and entity field has exactly one owner.
pub const OWNERSHIP: &[(Subgraph, &str, &[&str])] = &[
    (
        Subgraph::Clusters,
        "Query",
        &[
            "clinic", "clinics", "cluster", "clusters", "region", "regions",
        ],
    ),
    (
        Subgraph::Clusters,
        "Clinic",
        &[
            "name", "region", "cluster", "openedOn", "closedOn", "isOpen", "activity",
        ],
    ),
    (
        Subgraph::Clusters,
        "Cluster",
        &["name", "region", "clinics"],
    ),
    (
        Subgraph::Clusters,
        "Region",
        &["name", "clusters", "clinics"],
    ),
    (Subgraph::Population, "Clinic", &["population", "quality"]),
    (Subgraph::Population, "Cluster", &["view"]),
    (
        Subgraph::Plans,
        "Query",
        &["me", "myAccessLog", "patient", "patientEntries"],
    ),
    (
        Subgraph::Plans,
        "Mutation",
        &[
            "markGoal",
            "addHomeMeasurement",
            "writeNote",
            "withdrawEntry",
        ],
    ),
    (Subgraph::Plans, "Clinic", &["patients", "uninvited"]),
    (Subgraph::Plans, "Patient", &["*"]),
    (Subgraph::Plans, "CarePlan", &["*"]),
    (
        Subgraph::Rollout,
        "Query",
        &["rollout", "planActivity", "milestones"],
    ),
    (Subgraph::Rollout, "Region", &["rollout"]),
];
