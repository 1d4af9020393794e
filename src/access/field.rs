//! The one place field access is decided: `field`, asked for every field resolution, whatever
//! path led there (aliases, fragments, interfaces, `_entities`), by the schema's field
//! extension (`schema::fields`).

use super::{forbidden, policy, Viewer};
use async_graphql::extensions::{ExtensionContext, ResolveInfo};
use async_graphql::{PathSegment, QueryPathSegment, ServerError, ServerResult};

/// May this request's viewer resolve this field? The refusal carries the field's path.
pub fn field(ctx: &ExtensionContext<'_>, info: &ResolveInfo<'_>) -> ServerResult<()> {
    // A list's items come through here too, as the list's field again at an index; the
    // field itself was checked when the list was resolved.
    let list_item = matches!(info.path_node.segment, QueryPathSegment::Index(_));
    // Meta fields (__typename, and __schema/__type, which admission opens per role) describe
    // the schema, not anyone's data. A subgraph's `_entities` and `_service` only lead to
    // entities, each found by the viewer's scope and each field checked here.
    let meta = info.name.starts_with("__")
        || (info.parent_type == "Query" && matches!(info.name, "_entities" | "_service"));
    let allowed = info.is_for_introspection
        || meta
        || list_item
        || ctx
            .data_opt::<Viewer>()
            .is_some_and(|v| policy::allows(v.role(), info.parent_type, info.name));
    if allowed {
        return Ok(());
    }
    let path = info
        .path_node
        .to_string_vec()
        .into_iter()
        .map(|s| match s.parse::<usize>() {
            Ok(i) => PathSegment::Index(i),
            Err(_) => PathSegment::Field(s),
        })
        .collect();
    let mut err: ServerError = forbidden().into_server_error(info.field.name.pos);
    err.path = path;
    Err(err)
}
