//! Which documents a caller may send: one decision over the caller's role, what is known of
//! the document, and the settings. The HTTP layer asks and maps the answer to a status; it
//! decides nothing itself.
//!
//! Two moments, because the first is taken before the text is parsed (a patient's ad-hoc
//! document is refused without paying for the parse):
//! - `document`: a role outside `documents.ad_hoc_roles` runs only trusted documents, and,
//!   when it is in `documents.introspection_roles`, documents of introspection alone (what
//!   GraphiQL, codegen and gql send to learn the schema; they read no data);
//! - `operation`: once the selected operation's root fields are known, an anonymous caller
//!   may ask only `__typename` (and, with `auth.anonymous_introspection`, `__schema` and
//!   `__type`), and introspection is open only to `documents.introspection_roles`;
//! - `subgraph_roots`: a process serving one subgraph answers only that subgraph's root fields.

use crate::auth::Role;
use crate::config::DocumentSettings;
use crate::federation::Subgraph;

/// What the operation asks for at its root, as far as admission cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// The document did not parse: it is answered with its syntax error alone, whoever asks,
    /// and nothing runs.
    Unparsable,
    /// Nothing but meta fields (`__typename`, `__schema`, `__type`, `_service`); `introspects`
    /// when one of them describes the schema.
    MetaOnly { introspects: bool },
    /// Data fields, with or without meta fields beside them.
    Data { introspects: bool },
}

impl Roots {
    /// From the root field names of the selected operation (empty when it did not parse or
    /// no operation was selected; a subscription counts as data).
    pub fn of(parsed: bool, names: &[&str]) -> Self {
        if !parsed {
            return Self::Unparsable;
        }
        // A subgraph's `_service { sdl }` describes the schema as introspection does.
        let introspects = names
            .iter()
            .any(|r| matches!(*r, "__schema" | "__type" | "_service"));
        let meta_only = !names.is_empty()
            && names
                .iter()
                .all(|r| r.starts_with("__") || *r == "_service");
        if meta_only {
            Self::MetaOnly { introspects }
        } else {
            Self::Data { introspects }
        }
    }

    fn introspects(self) -> bool {
        matches!(
            self,
            Self::MetaOnly { introspects: true } | Self::Data { introspects: true }
        )
    }
}

/// Why a document is not admitted; each maps to one error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAdmitted {
    #[error(
        "the {0} role may run only trusted documents: send a documentId from \
         `forloeb schema --manifest` (schema/operations/)"
    )]
    TrustedOnly(Role),
    #[error("Authorization: missing; send \"Authorization: Bearer <token>\"")]
    Unauthenticated,
    #[error("introspection (__schema, __type, _service) is not open to the {0} role")]
    IntrospectionClosed(Role),
    #[error(
        "{field}: this process serves the {} subgraph; {} answers it (send it to the router)",
        served.as_str(),
        owner.map_or("no subgraph".to_string(), |s| format!("the {} subgraph", s.as_str()))
    )]
    ForeignRoot {
        field: String,
        served: Subgraph,
        owner: Option<Subgraph>,
    },
}

/// How an admitted operation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// As sent.
    AsSent,
    /// With introspection switched off, so that `__schema` and `__type` inside fragments the
    /// root walk does not reach answer nothing either.
    WithoutIntrospection,
}

/// What a caller may send, as far as is known before the parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sendable {
    /// Any document (a trusted one, or a role in `ad_hoc_roles`, or no role yet).
    Any,
    /// A document of its own only if it selects nothing but meta fields: a role outside
    /// `ad_hoc_roles` that may introspect.
    MetaOnly,
}

/// Before parsing: may this caller send this document at all?
pub fn document(
    role: Option<Role>,
    trusted: bool,
    settings: &DocumentSettings,
) -> Result<Sendable, NotAdmitted> {
    match role {
        Some(role) if !trusted && !settings.ad_hoc_roles.contains(&role) => {
            if settings.introspection_roles.contains(&role) {
                Ok(Sendable::MetaOnly)
            } else {
                Err(NotAdmitted::TrustedOnly(role))
            }
        }
        _ => Ok(Sendable::Any),
    }
}

/// After parsing: may this caller run the selected operation, and how?
pub fn operation(
    role: Option<Role>,
    sendable: Sendable,
    roots: Roots,
    settings: &DocumentSettings,
    anonymous_introspection: bool,
) -> Result<Admitted, NotAdmitted> {
    if let (Some(role), Sendable::MetaOnly) = (role, sendable) {
        if !matches!(roots, Roots::MetaOnly { .. }) {
            return Err(NotAdmitted::TrustedOnly(role));
        }
    }
    match role {
        None => match roots {
            Roots::Unparsable => Ok(Admitted::AsSent),
            Roots::MetaOnly { introspects } if !introspects || anonymous_introspection => {
                Ok(Admitted::AsSent)
            }
            _ => Err(NotAdmitted::Unauthenticated),
        },
        Some(role) if settings.introspection_roles.contains(&role) => Ok(Admitted::AsSent),
        Some(role) if roots.introspects() => Err(NotAdmitted::IntrospectionClosed(role)),
        Some(_) => Ok(Admitted::WithoutIntrospection),
    }
}

/// In a process serving one subgraph (`served`), the operation's root fields must be that
/// subgraph's (or meta fields, `_entities`, `_service`); the whole graph answers every one.
pub fn subgraph_roots(served: Option<Subgraph>, roots: &[&str]) -> Result<(), NotAdmitted> {
    let Some(served) = served else {
        return Ok(());
    };
    let foreign = roots.iter().find(|r| {
        !r.starts_with("__")
            && !matches!(**r, "_entities" | "_service")
            && !served.root_fields().any(|f| f == **r)
    });
    match foreign {
        None => Ok(()),
        Some(field) => Err(NotAdmitted::ForeignRoot {
            field: field.to_string(),
            served,
            owner: Subgraph::owner_of_root_field(field),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    fn settings() -> DocumentSettings {
        DocumentSettings {
            ad_hoc_roles: vec![Clinician, Region, Ministry],
            introspection_roles: vec![Clinician, Region, Ministry, Supplier],
        }
    }

    #[test]
    fn the_document_table() {
        let s = settings();
        use Sendable::*;
        for (role, trusted, want) in [
            (None, false, Ok(Any)),
            (Some(Patient), true, Ok(Any)),
            (Some(Patient), false, Err(NotAdmitted::TrustedOnly(Patient))),
            // Not ad hoc, but may introspect: its own documents only if they introspect.
            (Some(Supplier), false, Ok(MetaOnly)),
            (Some(Supplier), true, Ok(Any)),
            (Some(Clinician), false, Ok(Any)),
            (Some(Region), false, Ok(Any)),
            (Some(Ministry), false, Ok(Any)),
            (Some(Ministry), true, Ok(Any)),
        ] {
            assert_eq!(
                document(role, trusted, &s),
                want,
                "{role:?} trusted={trusted}"
            );
        }
    }

    #[test]
    fn the_operation_table() {
        let s = settings();
        let (typename, schema, service, data, mixed) = (
            Roots::of(true, &["__typename"]),
            Roots::of(true, &["__schema", "__typename"]),
            Roots::of(true, &["_service"]),
            Roots::of(true, &["me"]),
            Roots::of(true, &["me", "__type"]),
        );
        let unparsable = Roots::of(false, &[]);
        let nothing_selected = Roots::of(true, &[]);
        use Admitted::*;
        use NotAdmitted::*;
        for (role, roots, open, want) in [
            // Anonymous: a syntax error, __typename, and introspection only when opened.
            (None, unparsable, false, Ok(AsSent)),
            (None, typename, false, Ok(AsSent)),
            (None, schema, false, Err(Unauthenticated)),
            (None, schema, true, Ok(AsSent)),
            (None, service, false, Err(Unauthenticated)),
            (None, service, true, Ok(AsSent)),
            (None, data, true, Err(Unauthenticated)),
            (None, mixed, true, Err(Unauthenticated)),
            (None, nothing_selected, true, Err(Unauthenticated)),
            // Introspection roles run anything admitted so far as sent.
            (Some(Ministry), schema, false, Ok(AsSent)),
            (Some(Supplier), mixed, false, Ok(AsSent)),
            // Others: refused when the roots introspect, and run without introspection.
            (
                Some(Patient),
                schema,
                true,
                Err(IntrospectionClosed(Patient)),
            ),
            (
                Some(Patient),
                service,
                true,
                Err(IntrospectionClosed(Patient)),
            ),
            (
                Some(Patient),
                mixed,
                true,
                Err(IntrospectionClosed(Patient)),
            ),
            (Some(Patient), data, true, Ok(WithoutIntrospection)),
            (Some(Patient), typename, false, Ok(WithoutIntrospection)),
            (Some(Patient), unparsable, false, Ok(WithoutIntrospection)),
        ] {
            assert_eq!(
                operation(role, Sendable::Any, roots, &s, open),
                want,
                "{role:?} {roots:?} anonymous_introspection={open}"
            );
        }
        // A role that may send only introspection of its own: meta fields alone pass, and
        // nothing with data, nothing unparsed, nothing empty.
        for (roots, want) in [
            (schema, Ok(AsSent)),
            (service, Ok(AsSent)),
            (typename, Ok(AsSent)),
            (data, Err(TrustedOnly(Supplier))),
            (mixed, Err(TrustedOnly(Supplier))),
            (unparsable, Err(TrustedOnly(Supplier))),
            (nothing_selected, Err(TrustedOnly(Supplier))),
        ] {
            assert_eq!(
                operation(Some(Supplier), Sendable::MetaOnly, roots, &s, false),
                want,
                "{roots:?}"
            );
        }
    }

    #[test]
    fn the_subgraph_roots_table() {
        let foreign = |field: &str, served, owner| {
            Err(NotAdmitted::ForeignRoot {
                field: field.to_string(),
                served,
                owner,
            })
        };
        use Subgraph::*;
        for (served, roots, want) in [
            (None, vec!["me", "rollout"], Ok(())),
            (Some(Plans), vec!["me", "patient", "apiVersion"], Ok(())),
            (
                Some(Plans),
                vec!["__typename", "_entities", "_service"],
                Ok(()),
            ),
            (
                Some(Plans),
                vec!["me", "rollout"],
                foreign("rollout", Plans, Some(Rollout)),
            ),
            (
                Some(Rollout),
                vec!["clinics"],
                foreign("clinics", Rollout, Some(Clusters)),
            ),
            (
                Some(Clusters),
                vec!["clinic", "nosuch"],
                foreign("nosuch", Clusters, None),
            ),
            (Some(Population), vec![""], foreign("", Population, None)),
        ] {
            assert_eq!(subgraph_roots(served, &roots), want, "{served:?} {roots:?}");
        }
        let message = foreign("rollout", Plans, Some(Rollout))
            .expect_err("foreign")
            .to_string();
        assert_eq!(
            message,
            "rollout: this process serves the plans subgraph; the rollout subgraph answers it \
             (send it to the router)"
        );
    }
}
