//! The policy table: for every (type, field) of the schema, which roles may read it and how
//! far their rows reach. Nothing else grants access; a field missing here is refused, and a
//! test walks the schema and fails on any field without a rule.

use crate::auth::Role;
use std::collections::HashMap;
use std::fmt::Write;

/// How far a grant reaches: executed by `Viewer::may` for aggregates and by `Scope` for
/// person rows, and printed by `forloeb policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The patient's own data.
    Own,
    /// Patients listed at or treated by the clinician's clinic.
    OwnClinic,
    /// The clinician's clinic and the clinics of its cluster.
    OwnCluster,
    /// The region user's region.
    OwnRegion,
    /// Everything; person counts disclosure-controlled for regions and the ministry.
    National,
    /// A supplier's own source: the patients' entries on plans it delivered.
    OwnSource,
    /// Reference data without persons (names, codes, versions).
    Open,
}

impl Reach {
    fn as_str(self) -> &'static str {
        match self {
            Reach::Own => "own",
            Reach::OwnClinic => "own clinic",
            Reach::OwnCluster => "own clinic and cluster",
            Reach::OwnRegion => "own region",
            Reach::National => "national",
            Reach::OwnSource => "own source",
            Reach::Open => "yes",
        }
    }
}

type Grant = &'static [(Role, Reach)];

use Reach::*;
use Role::{Clinician as C, Ministry as M, Patient as P, Region as R, Supplier as S};

/// Everyone authenticated.
const ANY: Grant = &[(P, Open), (C, Open), (R, Open), (M, Open), (S, Open)];
/// Person-level data: the patient and the clinicians of the patient's clinic.
const PERSON: Grant = &[(P, Own), (C, OwnClinic)];
/// The patient alone.
const PATIENT: Grant = &[(P, Own)];
/// Clinic population lists, for the clinic's own clinicians.
const CLINIC_LIST: Grant = &[(C, OwnClinic)];
/// The patient's own entries: written by the patient (and the people they may act for), read
/// by them, the clinicians of the patient's clinic, and the supplier whose plan it is on.
const ENTRY: Grant = &[(P, Own), (C, OwnClinic), (S, OwnSource)];
/// A supplier's cursor over the entries on its plans.
const SUPPLIER_ENTRIES: Grant = &[(S, OwnSource)];
/// Paging, of a clinic's lists and of a supplier's entries.
const PAGES: Grant = &[(C, OwnClinic), (S, OwnSource)];
/// Reference data for staff: names and codes of clinics, clusters, regions.
const STAFF: Grant = &[(C, Open), (R, Open), (M, Open)];
/// Clinic names and codes; a patient sees the name of the clinic that made their plan.
const CLINIC_NAME: Grant = &[(P, Own), (C, Open), (R, Open), (M, Open)];
/// Counts per clinic or cluster.
const COUNTS: Grant = &[(C, OwnCluster), (R, OwnRegion), (M, National)];
/// National rollout figures, targets and milestones.
const ROLLOUT: Grant = &[(C, National), (R, National), (M, National)];
/// Per-region rollout and the names of inactive clinics (whom to call).
const REGIONAL: Grant = &[(R, OwnRegion), (M, National)];

/// (type, fields, grant). Interfaces need rows of their own: the extension sees the
/// interface's name as the parent type.
pub const TABLE: &[(&str, &[&str], Grant)] = &[
    ("Query", &["apiVersion"], ANY),
    ("Query", &["me", "myAccessLog"], PATIENT),
    ("Query", &["patient"], CLINIC_LIST),
    ("Query", &["patientEntries"], SUPPLIER_ENTRIES),
    (
        "Mutation",
        &[
            "markGoal",
            "addHomeMeasurement",
            "writeNote",
            "withdrawEntry",
        ],
        PATIENT,
    ),
    (
        "Query",
        &[
            "clinic",
            "clinics",
            "cluster",
            "clusters",
            "region",
            "regions",
            "milestones",
        ],
        STAFF,
    ),
    ("Query", &["rollout"], ROLLOUT),
    ("Query", &["planActivity"], REGIONAL),
    (
        "ActivityResult",
        &["window", "rows", "total", "truncated"],
        REGIONAL,
    ),
    (
        "ActivityRow",
        &[
            "region",
            "cluster",
            "clinic",
            "type",
            "source",
            "week",
            "month",
            "year",
            "plans",
            "newPlans",
            "maintainedPlans",
            "clinics",
            "patients",
        ],
        REGIONAL,
    ),
    (
        "Patient",
        &[
            "id",
            "cpr",
            "birthDate",
            "sex",
            "listed",
            "clinic",
            "diagnoses",
            "plans",
            "plan",
        ],
        PERSON,
    ),
    ("Patient", &["actingFor"], PATIENT),
    ("Diagnosis", &["type", "since"], PERSON),
    (
        "CarePlan",
        &[
            "id", "source", "planId", "type", "clinic", "current", "history", "entries",
        ],
        PERSON,
    ),
    (
        "PlanVersion",
        &[
            "version",
            "status",
            "createdAt",
            "nextControl",
            "isNew",
            "clinic",
            "goals",
            "measurements",
        ],
        PERSON,
    ),
    (
        "Goal",
        &["text", "setOn", "achieved", "patientMark"],
        PERSON,
    ),
    (
        "PatientGoalMark",
        &["reached", "at", "byDelegate", "entry"],
        PERSON,
    ),
    (
        "PatientEntry",
        &[
            "id",
            "kind",
            "at",
            "plan",
            "source",
            "planId",
            "byDelegate",
            "withdrawn",
            "goalText",
            "goalSetOn",
            "reached",
            "measurement",
            "note",
            "withdraws",
        ],
        ENTRY,
    ),
    (
        "HomeMeasurement",
        &["code", "label", "value", "unit", "measuredOn"],
        ENTRY,
    ),
    (
        "PatientEntryConnection",
        &["edges", "nodes", "pageInfo"],
        SUPPLIER_ENTRIES,
    ),
    ("PatientEntryEdge", &["cursor", "node"], SUPPLIER_ENTRIES),
    (
        "Measurement",
        &["code", "label", "value", "unit", "validRange", "measuredOn"],
        PERSON,
    ),
    ("ValueRange", &["min", "max"], PERSON),
    (
        "AccessLogEntry",
        &["at", "role", "clinic", "operation"],
        PATIENT,
    ),
    ("Clinic", &["ydernummer", "name"], CLINIC_NAME),
    (
        "Clinic",
        &["region", "cluster", "openedOn", "closedOn", "isOpen"],
        STAFF,
    ),
    ("Clinic", &["activity", "population", "quality"], COUNTS),
    ("Clinic", &["patients", "uninvited"], CLINIC_LIST),
    (
        "PatientConnection",
        &["edges", "nodes", "pageInfo"],
        CLINIC_LIST,
    ),
    ("PatientEdge", &["cursor", "node"], CLINIC_LIST),
    (
        "PageInfo",
        &["hasPreviousPage", "hasNextPage", "startCursor", "endCursor"],
        PAGES,
    ),
    (
        "ClinicActivity",
        &[
            "asOf",
            "newPlans12m",
            "plansMade12m",
            "heartPlans12m",
            "ok22Bucket",
            "ok22Met",
            "inactive",
        ],
        COUNTS,
    ),
    (
        "Population",
        &[
            "type",
            "diagnosed",
            "withPlan",
            "withoutPlan",
            "coverage",
            "window",
            "byAgeBand",
            "bySex",
        ],
        COUNTS,
    ),
    ("AgeBandCount", &["band", "count"], COUNTS),
    ("SexCount", &["sex", "count"], COUNTS),
    (
        "PersonCount",
        &["value", "suppressed", "controlled", "perturbed"],
        COUNTS,
    ),
    ("Rate", &["value", "suppressed", "controlled"], COUNTS),
    ("Window", &["from", "to", "widened"], ROLLOUT),
    ("Cluster", &["id", "name", "region", "clinics"], STAFF),
    ("Cluster", &["view"], COUNTS),
    ("ClusterView", &["asOf", "cluster", "clinics"], COUNTS),
    (
        "ClusterViewRow",
        &[
            "clinic",
            "open",
            "newPlans12m",
            "ok22Met",
            "inactive",
            "coverage",
            "quality",
        ],
        COUNTS,
    ),
    (
        "QualityIndicator",
        &[
            "indicator",
            "type",
            "description",
            "numerator",
            "denominator",
            "rate",
            "window",
        ],
        COUNTS,
    ),
    (
        "Coverage",
        &[
            "type",
            "diagnosed",
            "withPlan",
            "withoutPlan",
            "rate",
            "window",
        ],
        COUNTS,
    ),
    ("Region", &["code", "name", "clusters", "clinics"], STAFF),
    ("Region", &["rollout"], REGIONAL),
    (
        "Rollout",
        &[
            "asOf",
            "region",
            "openClinics",
            "ok22",
            "heartPlanClinics",
            "appUsers",
            "yearToDate",
            "weekly",
            "inactiveClinics",
            "quality",
        ],
        ROLLOUT,
    ),
    ("InactiveClinics", &["count"], ROLLOUT),
    ("InactiveClinics", &["clinics"], REGIONAL),
    (
        "Ok22",
        &["distribution", "met", "share", "targets"],
        ROLLOUT,
    ),
    ("BucketCount", &["bucket", "clinics"], ROLLOUT),
    ("ClinicShare", &["clinics", "share", "targets"], ROLLOUT),
    (
        "AppUsers",
        &["withPlan", "active", "share", "window", "targets"],
        ROLLOUT,
    ),
    ("YearToDate", &["year", "plans", "target", "share"], ROLLOUT),
    ("Target", &["due", "value"], ROLLOUT),
    (
        "WeekCount",
        &["week", "newPlans", "maintainedPlans", "plans"],
        ROLLOUT,
    ),
    (
        "Milestone",
        &["number", "text", "planned", "reached", "status"],
        ROLLOUT,
    ),
];

/// The table by (type, field): asked on every field of every answer, so a hash lookup rather
/// than a walk of the table (an entry-heavy answer resolves hundreds of fields).
static BY_FIELD: std::sync::LazyLock<HashMap<(&'static str, &'static str), Grant>> =
    std::sync::LazyLock::new(|| {
        let mut by = HashMap::new();
        for (ty, fields, grant) in TABLE {
            for field in *fields {
                // The first rule for a field wins, as the walk of the table did.
                by.entry((*ty, *field)).or_insert(*grant);
            }
        }
        by
    });

/// The grant for one field, if any.
pub fn grant(type_name: &str, field: &str) -> Option<Grant> {
    BY_FIELD.get(&(type_name, field)).copied()
}

/// How far `role` reaches on `type_name.field`, if it may read it at all.
pub fn reach(role: Role, type_name: &str, field: &str) -> Option<Reach> {
    grant(type_name, field)?
        .iter()
        .find(|(r, _)| *r == role)
        .map(|(_, reach)| *reach)
}

/// May `role` read `type_name.field`? Introspection (`__*`) is governed per request instead.
pub fn allows(role: Role, type_name: &str, field: &str) -> bool {
    if field.starts_with("__") || type_name.starts_with("__") {
        return true;
    }
    grant(type_name, field).is_some_and(|g| g.iter().any(|(r, _)| *r == role))
}

/// The matrix as Markdown, for `forloeb policy` and the README.
pub fn markdown() -> String {
    let roles = [P, C, R, M, S];
    let mut out = String::from("| type | field |");
    for r in roles {
        let _ = write!(out, " {r} |");
    }
    out.push_str("\n|---|---|");
    for _ in roles {
        out.push_str("---|");
    }
    out.push('\n');
    for (ty, fields, grant) in TABLE {
        for field in *fields {
            let _ = write!(out, "| {ty} | {field} |");
            for role in roles {
                let cell = grant
                    .iter()
                    .find(|(r, _)| *r == role)
                    .map_or("—", |(_, reach)| reach.as_str());
                let _ = write!(out, " {cell} |");
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};

    /// Deny by default, checked: every field of every object and interface in the schema has
    /// a rule, and every rule names a field that exists.
    #[test]
    fn every_schema_field_has_a_rule_and_every_rule_a_field() {
        let sdl = crate::schema::sdl();
        let doc = async_graphql::parser::parse_schema(&sdl).expect("sdl parses");
        let mut seen = Vec::new();
        for def in doc.definitions {
            let TypeSystemDefinition::Type(ty) = def else {
                continue;
            };
            let name = ty.node.name.node.to_string();
            let fields = match &ty.node.kind {
                TypeKind::Object(o) => &o.fields,
                TypeKind::Interface(i) => &i.fields,
                _ => continue,
            };
            for f in fields {
                let field = f.node.name.node.to_string();
                if field.starts_with("__") || name.starts_with("__") {
                    continue;
                }
                assert!(
                    grant(&name, &field).is_some(),
                    "{name}.{field} has no rule in access::policy::TABLE"
                );
                seen.push((name.clone(), field));
            }
        }
        for (ty, fields, _) in TABLE {
            for f in *fields {
                assert!(
                    seen.iter().any(|(t, x)| t == ty && x == f),
                    "policy rule for {ty}.{f}, which the schema does not have"
                );
            }
        }
    }

    #[test]
    fn suppliers_read_nothing_but_the_version_and_the_entries_on_their_plans() {
        let entries = [
            "PatientEntry",
            "HomeMeasurement",
            "PatientEntryConnection",
            "PatientEntryEdge",
            "PageInfo",
        ];
        for (ty, fields, _) in TABLE {
            for f in *fields {
                let want = (*ty == "Query" && matches!(*f, "apiVersion" | "patientEntries"))
                    || entries.contains(ty);
                assert_eq!(allows(S, ty, f), want, "{ty}.{f}");
            }
        }
    }

    #[test]
    fn only_patients_write() {
        for (ty, fields, _) in TABLE.iter().filter(|(t, _, _)| *t == "Mutation") {
            for f in *fields {
                for role in [C, R, M, S] {
                    assert!(!allows(role, ty, f), "{role} may {ty}.{f}");
                }
                assert!(allows(P, ty, f));
            }
        }
    }

    #[test]
    fn person_fields_are_closed_to_region_and_ministry() {
        for ty in [
            "Patient",
            "CarePlan",
            "PlanVersion",
            "Goal",
            "Measurement",
            "PatientGoalMark",
            "PatientEntry",
            "HomeMeasurement",
        ] {
            for (t, fields, _) in TABLE.iter().filter(|(t, _, _)| *t == ty) {
                for f in *fields {
                    assert!(!allows(R, t, f) && !allows(M, t, f), "{t}.{f}");
                }
            }
        }
    }

    #[test]
    fn the_readme_shows_the_current_matrix() {
        let readme = include_str!("../../README.md");
        assert!(
            readme.contains(markdown().trim()),
            "README.md: replace the policy table with the output of `forloeb policy`"
        );
    }
}
