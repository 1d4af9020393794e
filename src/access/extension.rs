//! The one place field access is enforced: an async-graphql extension whose `resolve` hook runs
//! for every field, whatever path led there (aliases, fragments, interfaces, `_entities`).

use super::{forbidden, policy, Viewer};
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::{PathSegment, QueryPathSegment, Response, ServerError, ServerResult, Value};
use std::sync::{Arc, Mutex};

/// Registered on the schema by `schema::build`.
pub struct AccessControl;

impl ExtensionFactory for AccessControl {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AccessControlExtension::default())
    }
}

/// One per request. A refused nullable field answers null, and its error is kept here and
/// added to the response, so the answer has the field (null) and the rest of its object. An
/// error returned from `resolve` would fail the whole parent object instead.
#[derive(Default)]
struct AccessControlExtension {
    refused: Mutex<Vec<ServerError>>,
}

#[async_trait::async_trait]
impl Extension for AccessControlExtension {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        let refused = std::mem::take(&mut *self.refused.lock().unwrap_or_else(|p| p.into_inner()));
        response.errors.extend(refused);
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // A list's items come through here too, as the list's field again at an index; the
        // field itself was checked when the list was resolved.
        let list_item = matches!(info.path_node.segment, QueryPathSegment::Index(_));
        // Meta fields (__typename, and __schema/__type, which the HTTP layer opens per role)
        // describe the schema, not anyone's data. A subgraph's `_entities` (and `_service`)
        // only lead to entities: each found by the viewer's scope, each field checked here.
        let allowed = info.is_for_introspection
            || info.name.starts_with('_')
            || list_item
            || ctx
                .data_opt::<Viewer>()
                .is_some_and(|v| policy::allows(v.role(), info.parent_type, info.name));
        if allowed {
            return next.run(ctx, info).await;
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
        // A non-null field cannot answer null: its error nulls the nearest nullable parent.
        if info.return_type.ends_with('!') {
            return Err(err);
        }
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(err);
        Ok(Some(Value::Null))
    }
}
