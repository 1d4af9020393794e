//! A subgraph's SDL, cut from the one-process SDL by the ownership table: its root fields and
//! entity fields, the key of every entity it touches, and every type those reach. The text of
//! descriptions is copied, so composition sees one description per element.

use super::{Subgraph, KEYS, OWNERSHIP, SHARED_ROOT_FIELDS};
use async_graphql::parser::types::{
    FieldDefinition, InputValueDefinition, TypeDefinition, TypeKind, TypeSystemDefinition,
};
use async_graphql::parser::Positioned;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write;
use std::sync::OnceLock;

const BUILT_IN_SCALARS: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];

/// The type definitions of the one-process schema, by name, in SDL order.
fn definitions(full_sdl: &str) -> Vec<TypeDefinition> {
    async_graphql::parser::parse_schema(full_sdl)
        .map(|doc| {
            doc.definitions
                .into_iter()
                .filter_map(|d| match d {
                    TypeSystemDefinition::Type(t) => Some(t.node),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn key_of(ty: &str) -> Option<&'static str> {
    KEYS.iter().find(|(t, _)| *t == ty).map(|(_, k)| *k)
}

fn owned(subgraph: Subgraph, ty: &str, field: &str) -> bool {
    (ty == "Query" && SHARED_ROOT_FIELDS.contains(&field))
        || key_of(ty) == Some(field)
        || OWNERSHIP.iter().any(|(s, t, fields)| {
            *s == subgraph && *t == ty && (fields.contains(&field) || fields.contains(&"*"))
        })
}

fn is_owner_of_type(subgraph: Subgraph, ty: &str) -> bool {
    OWNERSHIP.iter().any(|(s, t, _)| *s == subgraph && *t == ty)
}

fn named(ty: &async_graphql::parser::types::Type) -> String {
    ty.to_string()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// Type name → the fields the subgraph has of it (None: all of them).
fn reach(
    subgraph: Subgraph,
    defs: &BTreeMap<String, &TypeDefinition>,
) -> BTreeMap<String, Option<BTreeSet<String>>> {
    let mut out: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    let mut queue: VecDeque<String> = VecDeque::new();
    // Entity types and the root: only the fields the subgraph owns.
    for name in std::iter::once("Query").chain(KEYS.iter().map(|(t, _)| *t)) {
        if name == "Query" || is_owner_of_type(subgraph, name) {
            out.insert(name.to_string(), Some(BTreeSet::new()));
            queue.push_back(name.to_string());
        }
    }
    while let Some(name) = queue.pop_front() {
        let Some(def) = defs.get(&name) else { continue };
        let mut referenced = Vec::new();
        match &def.kind {
            TypeKind::Object(o) => {
                for f in &o.fields {
                    let field = f.node.name.node.as_str();
                    let restricted = name == "Query" || key_of(&name).is_some();
                    if restricted && !owned(subgraph, &name, field) {
                        continue;
                    }
                    if let Some(Some(fields)) = out.get_mut(&name) {
                        fields.insert(field.to_string());
                    }
                    referenced.push(named(&f.node.ty.node));
                    referenced.extend(f.node.arguments.iter().map(|a| named(&a.node.ty.node)));
                }
            }
            TypeKind::InputObject(i) => {
                referenced.extend(i.fields.iter().map(|f| named(&f.node.ty.node)));
            }
            _ => {}
        }
        for r in referenced {
            if BUILT_IN_SCALARS.contains(&r.as_str()) || out.contains_key(&r) {
                continue;
            }
            // An entity reached from here but owned elsewhere: its key alone.
            let fields = key_of(&r).map(|k| BTreeSet::from([k.to_string()]));
            let stub = fields.is_some();
            out.insert(r.clone(), fields);
            if !stub {
                queue.push_back(r);
            }
        }
    }
    out
}

/// The Federation v2 SDL of one subgraph, derived once per process.
pub fn subgraph_sdl(subgraph: Subgraph) -> &'static str {
    static CUT: OnceLock<Vec<(Subgraph, String)>> = OnceLock::new();
    let all = CUT.get_or_init(|| Subgraph::ALL.iter().map(|s| (*s, cut(*s))).collect());
    all.iter()
        .find(|(s, _)| *s == subgraph)
        .map_or("", |(_, sdl)| sdl.as_str())
}

fn cut(subgraph: Subgraph) -> String {
    let full = crate::schema::sdl();
    let defs = definitions(&full);
    let by_name: BTreeMap<String, &TypeDefinition> =
        defs.iter().map(|d| (d.name.node.to_string(), d)).collect();
    let reached: Vec<_> = Subgraph::ALL
        .iter()
        .map(|s| (*s, reach(*s, &by_name)))
        .collect();
    let mine = &reached
        .iter()
        .find(|(s, _)| *s == subgraph)
        .map(|(_, r)| r.clone())
        .unwrap_or_default();
    // A value type several subgraphs return must be declared shareable in each.
    let shared = |ty: &str| {
        key_of(ty).is_none()
            && ty != "Query"
            && reached.iter().filter(|(_, r)| r.contains_key(ty)).count() > 1
    };
    let mut out = String::from(
        "extend schema\n\t@link(url: \"https://specs.apollo.dev/federation/v2.5\", import: [\"@key\", \"@shareable\"])\n",
    );
    for def in &defs {
        let name = def.name.node.as_str();
        let Some(fields) = mine.get(name) else {
            continue;
        };
        out.push('\n');
        description(&mut out, 0, def.description.as_ref());
        match &def.kind {
            TypeKind::Scalar => {
                let _ = writeln!(out, "scalar {name}");
            }
            TypeKind::Enum(e) => {
                let _ = writeln!(out, "enum {name} {{");
                for v in &e.values {
                    description(&mut out, 1, v.node.description.as_ref());
                    let _ = writeln!(out, "\t{}", v.node.value.node);
                }
                out.push_str("}\n");
            }
            TypeKind::InputObject(i) => {
                let _ = writeln!(out, "input {name} {{");
                for f in &i.fields {
                    input_value(&mut out, 1, &f.node);
                }
                out.push_str("}\n");
            }
            TypeKind::Object(o) => {
                let _ = write!(out, "type {name}");
                if let Some(key) = key_of(name) {
                    let _ = write!(out, " @key(fields: \"{key}\")");
                }
                if shared(name) {
                    out.push_str(" @shareable");
                }
                out.push_str(" {\n");
                for f in o.fields.iter().filter(|f| {
                    fields
                        .as_ref()
                        .is_none_or(|keep| keep.contains(f.node.name.node.as_str()))
                }) {
                    let shareable =
                        name == "Query" && SHARED_ROOT_FIELDS.contains(&f.node.name.node.as_str());
                    field(&mut out, &f.node, shareable);
                }
                out.push_str("}\n");
            }
            // The one-process schema has no interfaces or unions.
            TypeKind::Interface(_) | TypeKind::Union(_) => {}
        }
    }
    out
}

fn description(out: &mut String, depth: usize, text: Option<&Positioned<String>>) {
    let Some(text) = text else { return };
    let indent = "\t".repeat(depth);
    let _ = writeln!(out, "{indent}\"\"\"");
    for line in text.node.lines() {
        let _ = writeln!(out, "{indent}{line}");
    }
    let _ = writeln!(out, "{indent}\"\"\"");
}

fn input_value(out: &mut String, depth: usize, v: &InputValueDefinition) {
    description(out, depth, v.description.as_ref());
    let indent = "\t".repeat(depth);
    let _ = write!(out, "{indent}{}: {}", v.name.node, v.ty.node);
    if let Some(default) = &v.default_value {
        let _ = write!(out, " = {}", default.node);
    }
    out.push('\n');
}

fn field(out: &mut String, f: &FieldDefinition, shareable: bool) {
    description(out, 1, f.description.as_ref());
    let _ = write!(out, "\t{}", f.name.node);
    if !f.arguments.is_empty() {
        out.push_str("(\n");
        for a in &f.arguments {
            input_value(out, 2, &a.node);
        }
        out.push_str("\t)");
    }
    let _ = write!(out, ": {}", f.ty.node);
    if shareable {
        out.push_str(" @shareable");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields_of(ty: &str) -> Vec<String> {
        let full = crate::schema::sdl();
        definitions(&full)
            .into_iter()
            .find(|d| d.name.node.as_str() == ty)
            .and_then(|d| match d.kind {
                TypeKind::Object(o) => Some(
                    o.fields
                        .iter()
                        .map(|f| f.node.name.node.to_string())
                        .collect(),
                ),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Every root field and every entity field but the key is resolved by exactly one
    /// subgraph (the shared root fields by all), and the table names only fields that exist.
    #[test]
    fn every_root_and_entity_field_has_one_owner() {
        for ty in std::iter::once("Query").chain(KEYS.iter().map(|(t, _)| *t)) {
            let fields = fields_of(ty);
            assert!(!fields.is_empty(), "{ty}");
            for f in &fields {
                let owners: Vec<_> = Subgraph::ALL
                    .iter()
                    .filter(|s| {
                        OWNERSHIP.iter().any(|(o, t, fs)| {
                            o == *s && *t == ty && (fs.contains(&f.as_str()) || fs.contains(&"*"))
                        })
                    })
                    .collect();
                let expected = if key_of(ty) == Some(f.as_str())
                    || (ty == "Query" && SHARED_ROOT_FIELDS.contains(&f.as_str()))
                {
                    owners.len() <= 1
                } else {
                    owners.len() == 1
                };
                assert!(expected, "{ty}.{f}: owned by {owners:?}");
            }
        }
        for (_, ty, listed) in OWNERSHIP {
            let fields = fields_of(ty);
            for f in listed.iter().filter(|f| **f != "*") {
                assert!(fields.iter().any(|x| x == f), "{ty}.{f} does not exist");
            }
        }
    }

    #[test]
    fn subgraphs_never_key_a_patient_by_cpr_and_keep_to_their_fields() {
        let plans = subgraph_sdl(Subgraph::Plans);
        assert!(
            plans.contains("type Patient @key(fields: \"id\")"),
            "{plans}"
        );
        assert!(!plans.contains("@key(fields: \"cpr\")"));
        let population = subgraph_sdl(Subgraph::Population);
        assert!(population.contains("type Clinic @key(fields: \"ydernummer\")"));
        assert!(population.contains("\tpopulation("));
        assert!(!population.contains("\tpatients("), "{population}");
        assert!(!population.contains("type Patient"), "{population}");
        for s in Subgraph::ALL {
            assert!(
                subgraph_sdl(s).contains("apiVersion: String! @shareable"),
                "{s:?}"
            );
        }
    }

    #[test]
    fn the_committed_subgraph_schemas_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/subgraphs");
        for s in Subgraph::ALL {
            let path = dir.join(format!("{}.graphql", s.as_str()));
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == subgraph_sdl(s),
                "{} is stale: run `forloeb schema --subgraph {}` into it",
                path.display(),
                s.as_str()
            );
        }
    }
}
