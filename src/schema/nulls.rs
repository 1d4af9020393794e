//! A nullable field whose resolver fails is answered as null in place, with its error.
//!
//! async-graphql turns a failure *inside* a nullable value into null (its `Option` output
//! type catches the inner error), but a resolver of a nullable field that itself returns an
//! error leaves the field out of its object, and a query whose every root field failed out of
//! `data` altogether. GraphQL answers such a field as null where it stands. This extension
//! wraps every field's resolution (outside access control, so a refused field is caught as
//! well): a nullable field's error becomes a null value and the error is kept for the
//! response; a non-null field's error goes up as it does without the extension, to the
//! nearest nullable field above it.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextResolve, ResolveInfo,
};
use async_graphql::{Response, ServerError, ServerResult, Value};
use std::sync::{Arc, Mutex, PoisonError};

/// Registered on every schema by `schema::build` and `schema::build_subgraph`, before
/// `AccessControl`.
pub struct NullsInPlace;

impl ExtensionFactory for NullsInPlace {
    /// One per request: it keeps that request's errors until the response is assembled.
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(NullsInPlaceExtension::default())
    }
}

#[derive(Default)]
struct NullsInPlaceExtension {
    errors: Mutex<Vec<ServerError>>,
}

#[async_trait::async_trait]
impl Extension for NullsInPlaceExtension {
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
        match next.run(ctx, info).await {
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
