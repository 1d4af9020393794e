//! The document a call runs and what is known of it before it runs: trusted or not, and the
//! selected operation's name, kind and root fields.

use crate::access::limits;
use crate::config::LimitSettings;
use crate::error::{ApiError, Code};
use crate::trusted::{self, Manifest};
use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationDefinition, OperationType,
    Selection, SelectionSet,
};
use async_graphql::{Value, Variables};

/// The text that runs, and the name of the trusted document it is, if it is one.
pub struct Document {
    pub text: String,
    pub trusted: Option<&'static str>,
}

/// By text, by id, or both (then the id must be the text's).
pub fn resolve(
    manifest: &Manifest,
    query: Option<String>,
    document_id: Option<String>,
) -> Result<Document, ApiError> {
    match (query, document_id) {
        (Some(text), None) => {
            let trusted = manifest.by_text(&text).map(|d| d.name);
            Ok(Document { text, trusted })
        }
        (Some(text), Some(id)) => {
            if trusted::normalize_id(&id) != trusted::document_id(&text) {
                return Err(ApiError::new(
                    Code::BadRequest,
                    "documentId: is not the SHA-256 of the query sent with it",
                ));
            }
            let trusted = manifest.get(&id).map(|d| d.name);
            Ok(Document { text, trusted })
        }
        (None, Some(id)) => match manifest.get(&id) {
            Some(doc) => Ok(Document {
                text: doc.text.to_string(),
                trusted: Some(doc.name),
            }),
            None => Err(ApiError::new(
                Code::PersistedQueryNotFound,
                "documentId: no trusted document has this id; `forloeb schema --manifest` \
                 lists them",
            )),
        },
        (None, None) => Err(ApiError::new(
            Code::BadRequest,
            "query: missing; send the GraphQL document in \"query\", or a trusted document's \
             id in \"documentId\"",
        )),
    }
}

/// What the parse tells about the operation that will run.
#[derive(Default)]
pub struct Operation {
    /// False when the document did not parse: execution then answers the syntax error.
    pub parsed: bool,
    /// The selected operation's name, when it has one.
    pub name: Option<String>,
    /// A mutation: it writes, and pays from the caller's write budget as well.
    pub writes: bool,
    /// Its root fields (through fragments); a subscription's are one empty name. Empty when no
    /// operation is selected (validation then says why).
    pub roots: Vec<String>,
}

/// Parses the request's document once (async-graphql keeps the parse for execution), finds
/// the operation that runs, checks its kind (`queries_only`) and, for a document that is not
/// trusted, the operation limits.
pub fn inspect(
    request: &mut async_graphql::Request,
    queries_only: bool,
    limits: Option<&LimitSettings>,
) -> Result<Operation, ApiError> {
    let wanted = request.operation_name.clone();
    let variables = request.variables.clone();
    let Ok(doc) = request.parsed_query() else {
        return Ok(Operation::default());
    };
    let mut operation = Operation {
        parsed: true,
        ..Operation::default()
    };
    let selected = match &doc.operations {
        DocumentOperations::Single(op) => Some((None, op)),
        DocumentOperations::Multiple(ops) => match &wanted {
            Some(name) => ops.get(name.as_str()).map(|op| (Some(name.clone()), op)),
            // One named operation and no operationName: that one runs.
            None if ops.len() == 1 => ops.iter().next().map(|(n, op)| (Some(n.to_string()), op)),
            None => None,
        },
    };
    let Some((name, op)) = selected else {
        return Ok(operation);
    };
    if queries_only && op.node.ty != OperationType::Query {
        return Err(ApiError::new(
            Code::MethodNotAllowed,
            "only queries may be sent over GET; send mutations with POST",
        ));
    }
    if let Some(limits) = limits {
        limits::check_operation(limits, doc, &op.node, &variables).map_err(super::limit)?;
    }
    coerce_dates(&op.node, &variables)?;
    if op.node.ty == OperationType::Subscription {
        operation.roots.push(String::new());
    } else {
        root_fields(doc, &op.node.selection_set.node, 0, &mut operation.roots);
    }
    operation.name = name;
    operation.writes = op.node.ty == OperationType::Mutation;
    Ok(operation)
}

/// Variables of the `Date` scalar are coerced before anything runs, as GraphQL's
/// CoerceVariableValues says (a value that does not coerce is a request error): a bad date then
/// names its variable and the rule, instead of surfacing later as a field's parse error.
/// Everything else about variables is the engine's to check.
fn coerce_dates(op: &OperationDefinition, variables: &Variables) -> Result<(), ApiError> {
    fn check(name: &str, base: &BaseType, value: &Value) -> Result<(), ApiError> {
        match (base, value) {
            (BaseType::Named(t), Value::String(s)) if t.as_str() == "Date" => {
                crate::domain::parse_date(s).map(|_| ()).map_err(|e| {
                    ApiError::new(
                        Code::BadUserInput,
                        format!("{name}: {e} (a Date is written YYYY-MM-DD)"),
                    )
                })
            }
            (BaseType::List(inner), Value::List(items)) => items
                .iter()
                .try_for_each(|item| check(name, &inner.base, item)),
            _ => Ok(()),
        }
    }
    for def in &op.variable_definitions {
        let name = def.node.name.node.as_str();
        if let Some(value) = variables.get(&def.node.name.node) {
            check(name, &def.node.var_type.node.base, value)?;
        }
    }
    Ok(())
}

/// The root fields an operation selects, through fragments and inline fragments at the root.
/// `depth` stops fragment cycles, which validation refuses only later; what lies deeper counts
/// as an unnamed data field, so that nesting cannot hide a data field behind `__typename`.
fn root_fields(doc: &ExecutableDocument, set: &SelectionSet, depth: usize, out: &mut Vec<String>) {
    if depth > 16 {
        out.push(String::new());
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => out.push(f.node.name.node.to_string()),
            Selection::InlineFragment(i) => {
                root_fields(doc, &i.node.selection_set.node, depth + 1, out)
            }
            Selection::FragmentSpread(s) => {
                if let Some(f) = doc.fragments.get(&s.node.fragment_name.node) {
                    root_fields(doc, &f.node.selection_set.node, depth + 1, out);
                }
            }
        }
    }
}
