//! Operation limits, checked before execution and in time linear in the document: size and
//! tokens before parsing; depth, complexity, aliases, root fields, directives and fragment
//! spreads (cycles refused) on the parsed document. The walk stops at the first limit passed,
//! so a bomb costs no more to refuse than a document at the limits.

use crate::config::LimitSettings;
use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Variables};
use async_graphql_value::{ConstValue, Value};
use std::collections::HashMap;

/// Which limit a document passed, and by how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    pub limit: &'static str,
    pub max: u64,
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.max == 0 {
            write!(f, "operation limit: {} is not allowed", self.limit)
        } else {
            write!(
                f,
                "operation limit: {} exceeds the limit of {}",
                self.limit, self.max
            )
        }
    }
}

/// Arguments that say how many items a list field returns.
const PAGE_ARGUMENTS: [&str; 2] = ["first", "limit"];

/// Checks the number of requests in one batched body (0 in the settings: no batching).
pub fn check_batch(limits: &LimitSettings, requests: usize) -> Result<(), Exceeded> {
    if limits.batch == 0 || requests > limits.batch {
        return Err(Exceeded {
            limit: "batch",
            max: limits.batch as u64,
        });
    }
    Ok(())
}

/// Checks the text: bytes, then lexical tokens (names, numbers, strings, punctuators).
pub fn check_text(limits: &LimitSettings, query: &str) -> Result<(), Exceeded> {
    if query.len() > limits.document_bytes {
        return Err(Exceeded {
            limit: "document bytes",
            max: limits.document_bytes as u64,
        });
    }
    let b = query.as_bytes();
    let at = |i: usize| b.get(i).copied();
    let starts = |i: usize, p: &[u8]| b.get(i..).is_some_and(|r| r.starts_with(p));
    let step = |i: usize| if at(i) == Some(b'\\') { 2 } else { 1 };
    let (mut i, mut tokens) = (0usize, 0usize);
    while let Some(c) = at(i) {
        if c.is_ascii_whitespace() || c == b',' {
            i += 1;
            continue;
        }
        if c == b'#' {
            while at(i).is_some_and(|x| x != b'\n') {
                i += 1;
            }
            continue;
        }
        tokens += 1;
        if tokens > limits.tokens {
            return Err(Exceeded {
                limit: "tokens",
                max: limits.tokens as u64,
            });
        }
        if starts(i, b"\"\"\"") {
            i += 3;
            while at(i).is_some() && !starts(i, b"\"\"\"") {
                i += step(i);
            }
            i += 3;
        } else if c == b'"' {
            i += 1;
            while at(i).is_some_and(|x| x != b'"' && x != b'\n') {
                i += step(i);
            }
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
            while at(i).is_some_and(|x| {
                x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-' | b'+')
            }) {
                i += 1;
            }
        } else if starts(i, b"...") {
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

struct Walk<'a> {
    limits: &'a LimitSettings,
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'a Variables,
    aliases: usize,
    directives: usize,
    spreads: usize,
    complexity: u64,
    /// Fragments being expanded, to refuse cycles.
    stack: Vec<&'a str>,
    /// Inside `__schema` or `__type`: how many of the introspection's list fields enclose the
    /// current selection (see `INTROSPECTION_DEPTH`).
    introspection: Option<usize>,
}

/// Inside `__schema` and `__type` the depth limit is this instead of `limits.depth`. The
/// introspection query every standard tool sends (graphql-js's `getIntrospectionQuery`, used by
/// GraphiQL, graphql-codegen, Apollo's tooling and Python's gql) follows a type reference
/// through eight or nine `ofType`s, 14–15 levels deep, and must pass for every role that may
/// introspect. Depth is harmless there (`ofType` is a single type, and ends after a few
/// wrappers); what could grow is nesting the lists of the schema in one another (types →
/// fields → type → fields → …), so that is bounded on its own by `INTROSPECTION_LISTS`.
const INTROSPECTION_DEPTH: usize = 16;

/// List fields of the introspection schema nested on one path: graphql-js's query nests at
/// most three (`types { fields { args } }`), which bounds its answer by types × fields × args.
const INTROSPECTION_LISTS: usize = 3;

/// The introspection fields that answer lists, each a factor of the answer's size.
const INTROSPECTION_LIST_FIELDS: [&str; 8] = [
    "types",
    "fields",
    "args",
    "inputFields",
    "interfaces",
    "possibleTypes",
    "enumValues",
    "directives",
];

impl<'a> Walk<'a> {
    fn over(&self, limit: &'static str, value: u64, max: u64) -> Result<(), Exceeded> {
        if value > max {
            Err(Exceeded { limit, max })
        } else {
            Ok(())
        }
    }

    fn add_directives(&mut self, n: usize) -> Result<(), Exceeded> {
        self.directives += n;
        self.over(
            "directives",
            self.directives as u64,
            self.limits.directives as u64,
        )
    }

    fn page_size(&self, field: &async_graphql::parser::types::Field) -> u64 {
        for name in PAGE_ARGUMENTS {
            if let Some(v) = field.get_argument(name) {
                let value = match &v.node {
                    Value::Variable(var) => self.variables.get(var).cloned(),
                    other => other.clone().into_const(),
                };
                if let Some(ConstValue::Number(n)) = value {
                    return n.as_u64().unwrap_or(1).max(1);
                }
            }
        }
        1
    }

    /// Walks a selection set at `depth` whose fields each cost `multiplier`.
    fn set(
        &mut self,
        set: &'a SelectionSet,
        depth: usize,
        multiplier: u64,
    ) -> Result<usize, Exceeded> {
        let mut fields_here = 0;
        for sel in &set.items {
            match &sel.node {
                Selection::Field(f) => {
                    let f = &f.node;
                    fields_here += 1;
                    let name = f.name.node.as_str();
                    let outer = self.introspection;
                    self.introspection = match outer {
                        None if name == "__schema" || name == "__type" => Some(0),
                        Some(n) if INTROSPECTION_LIST_FIELDS.contains(&name) => Some(n + 1),
                        other => other,
                    };
                    match self.introspection {
                        Some(lists) => {
                            self.over("depth", depth as u64, INTROSPECTION_DEPTH as u64)?;
                            self.over(
                                "introspection lists nested",
                                lists as u64,
                                INTROSPECTION_LISTS as u64,
                            )?;
                        }
                        None => self.over("depth", depth as u64, self.limits.depth as u64)?,
                    }
                    if f.alias.is_some() {
                        self.aliases += 1;
                        self.over("aliases", self.aliases as u64, self.limits.aliases as u64)?;
                    }
                    self.add_directives(f.directives.len())?;
                    self.complexity = self.complexity.saturating_add(multiplier);
                    self.over("complexity", self.complexity, self.limits.complexity)?;
                    if !f.selection_set.node.items.is_empty() {
                        let inner = multiplier.saturating_mul(self.page_size(f));
                        self.set(&f.selection_set.node, depth + 1, inner)?;
                    }
                    self.introspection = outer;
                }
                Selection::InlineFragment(inline) => {
                    self.add_directives(inline.node.directives.len())?;
                    fields_here += self.set(&inline.node.selection_set.node, depth, multiplier)?;
                }
                Selection::FragmentSpread(spread) => {
                    self.spreads += 1;
                    self.over(
                        "fragment spreads",
                        self.spreads as u64,
                        self.limits.fragment_spreads as u64,
                    )?;
                    self.add_directives(spread.node.directives.len())?;
                    let name = spread.node.fragment_name.node.as_str();
                    if self.stack.contains(&name) {
                        return Err(Exceeded {
                            limit: "a fragment cycle",
                            max: 0,
                        });
                    }
                    // An unknown fragment is the validator's to report.
                    let Some(def) = self.fragments.get(name) else {
                        continue;
                    };
                    self.stack.push(name);
                    fields_here += self.set(&def.node.selection_set.node, depth, multiplier)?;
                    self.stack.pop();
                }
            }
        }
        Ok(fields_here)
    }
}

/// Checks the operation that will run.
pub fn check_operation(
    limits: &LimitSettings,
    doc: &ExecutableDocument,
    op: &OperationDefinition,
    variables: &Variables,
) -> Result<(), Exceeded> {
    let mut walk = Walk {
        limits,
        fragments: &doc.fragments,
        variables,
        aliases: 0,
        directives: op.directives.len(),
        spreads: 0,
        complexity: 0,
        stack: Vec::new(),
        introspection: None,
    };
    let root_fields = walk.set(&op.selection_set.node, 1, 1)?;
    walk.over("root fields", root_fields as u64, limits.root_fields as u64)
}
