//! What a subgraph process adds to `/graphql`: it answers only its own root fields (plus
//! `_entities`), and `_service { sdl }` with its own contract rather than the whole graph's,
//! which is what a router composes.

use crate::error::{Code, HttpError};
use crate::federation::{subgraph_sdl, Subgraph};
use async_graphql::parser::types::{Selection, SelectionSet};
use serde_json::{Map, Value};

/// Refuses root fields another subgraph answers, naming that subgraph.
pub fn check_roots(subgraph: Subgraph, roots: &[&str]) -> Result<(), HttpError> {
    let foreign = roots.iter().find(|r| {
        !r.starts_with("__")
            && !matches!(**r, "_entities" | "_service")
            && !subgraph.root_fields().any(|f| f == **r)
    });
    match foreign {
        None => Ok(()),
        Some(field) => {
            let owner = Subgraph::owner_of_root_field(field)
                .map_or("no".to_string(), |s| format!("the {}", s.as_str()));
            Err(HttpError::new(
                Code::BadRequest,
                format!(
                    "{field}: this process serves the {} subgraph; {owner} subgraph answers \
                     it (send it to the router)",
                    subgraph.as_str()
                ),
            ))
        }
    }
}

/// The answer to a document of `_service` (and `__typename`) fields, or None for any other.
pub fn service_answer(subgraph: Subgraph, set: &SelectionSet) -> Option<Result<Value, HttpError>> {
    let fields: Vec<_> = set
        .items
        .iter()
        .map(|i| match &i.node {
            Selection::Field(f) => Some(&f.node),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    if !fields.iter().any(|f| f.name.node == "_service")
        || !fields
            .iter()
            .all(|f| matches!(f.name.node.as_str(), "_service" | "__typename"))
    {
        return None;
    }
    let mut data = Map::new();
    for f in fields {
        let key = f.response_key().node.to_string();
        if f.name.node == "__typename" {
            data.insert(key, Value::from("Query"));
            continue;
        }
        let mut service = Map::new();
        for item in &f.selection_set.node.items {
            let Selection::Field(inner) = &item.node else {
                return Some(Err(HttpError::new(
                    Code::BadRequest,
                    "_service: select sdl (and __typename) as plain fields",
                )));
            };
            let value = match inner.node.name.node.as_str() {
                "sdl" => Value::from(subgraph_sdl(subgraph)),
                "__typename" => Value::from("_Service"),
                other => {
                    return Some(Err(HttpError::new(
                        Code::BadRequest,
                        format!("_service: has no field {other}"),
                    )))
                }
            };
            service.insert(inner.node.response_key().node.to_string(), value);
        }
        data.insert(key, Value::Object(service));
    }
    Some(Ok(Value::Object(data)))
}
