//! `_service { sdl }` in a subgraph process: the subgraph's own contract rather than the whole
//! graph's, which is what a router composes.

use super::{subgraph_sdl, Subgraph};
use crate::error::{ApiError, Code};
use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Selection, SelectionSet};
use async_graphql::Value;

/// The answer to a document of `_service` (and `__typename`) fields, or None for any other.
pub fn service_answer(subgraph: Subgraph, set: &SelectionSet) -> Option<Result<Value, ApiError>> {
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
    let mut data = IndexMap::new();
    for f in fields {
        let key = f.response_key().node.clone();
        if f.name.node == "__typename" {
            data.insert(key, Value::from("Query"));
            continue;
        }
        let mut service = IndexMap::new();
        for item in &f.selection_set.node.items {
            let Selection::Field(inner) = &item.node else {
                return Some(Err(ApiError::new(
                    Code::BadRequest,
                    "_service: select sdl (and __typename) as plain fields",
                )));
            };
            let value = match inner.node.name.node.as_str() {
                "sdl" => Value::from(subgraph_sdl(subgraph)),
                "__typename" => Value::from("_Service"),
                other => {
                    return Some(Err(ApiError::new(
                        Code::BadRequest,
                        format!("_service: has no field {other}"),
                    )))
                }
            };
            service.insert(inner.node.response_key().node.clone(), value);
        }
        data.insert(key, Value::Object(service));
    }
    Some(Ok(Value::Object(data)))
}
