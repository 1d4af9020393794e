//! The schema's one field extension: every field resolution asks `access::field` first, and a
//! nullable field whose resolver fails (or is refused) is answered as null in place, with its
//! error; and, when `telemetry.field_spans` is on, each field's resolution gets a span.
//!
//! Why the nulls: async-graphql turns a failure *inside* a nullable value into null (its
//! `Option` output type catches the inner error), but a resolver of a nullable field that
//! itself returns an error leaves the field out of its object, and a query whose every root
//! field failed out of `data` altogether; GraphQL answers such a field as null where it
//! stands. A non-null field's error goes up as it does without the extension, to the nearest
//! nullable field above it. One extension rather than two: each adds a boxed future to every
//! field's resolution.

use crate::access;
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::{Response, ServerError, ServerResult, Value};
use std::sync::{Arc, Mutex, PoisonError};
use tracing::Instrument;

/// Registered on every schema by `schema::build` and `schema::build_subgraph`.
pub struct Fields;

impl ExtensionFactory for Fields {
    /// One per request: it keeps that request's nulled fields' errors until the response is
    /// assembled.
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(FieldsExtension::default())
    }
}

#[derive(Default)]
struct FieldsExtension {
    errors: Mutex<Vec<ServerError>>,
}

#[async_trait::async_trait]
impl Extension for FieldsExtension {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        let caught =
            std::mem::take(&mut *self.errors.lock().unwrap_or_else(PoisonError::into_inner));
        response.errors.extend(caught);
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let nullable = !info.return_type.ends_with('!');
        let outcome = match access::field(ctx, &info) {
            Ok(()) if crate::telemetry::field_spans() => {
                // Names and the path only: never an argument's value.
                let span = tracing::trace_span!(
                    "field",
                    otel.name = %format_args!("{}.{}", info.parent_type, info.name),
                    graphql.field.path = %info.path_node,
                );
                next.run(ctx, info).instrument(span).await
            }
            Ok(()) => next.run(ctx, info).await,
            Err(refused) => Err(refused),
        };
        match outcome {
            Err(error) if nullable => {
                self.errors
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(error);
                Ok(Some(Value::Null))
            }
            other => other,
        }
    }
}
