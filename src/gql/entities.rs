//! The entities several subgraphs extend — Clinic, Cluster and Region — as the subgraphs see
//! them: a type each schema chooses (`Graph`). A subgraph's fields return `G::Clinic` and never
//! name another subgraph's types; the one-process schema chooses the merged types with every
//! subgraph's fields (`schema::whole`), a subgraph schema its own part or, where it owns no
//! field of the entity, the key alone (`ClinicKey` and friends below).

use crate::domain::RegionCode;
use crate::facts::{ClinicInfo, ClusterInfo};
use async_graphql::{Context, Object, OutputType};
use std::borrow::Cow;

/// The types one schema gives the shared entities.
pub trait Graph: Send + Sync + 'static {
    /// A general practice, from its directory entry.
    type Clinic: OutputType + From<ClinicInfo>;
    /// A cluster, from its directory entry.
    type Cluster: OutputType + From<ClusterInfo>;
    /// A region, from its code.
    type Region: OutputType + From<RegionCode>;

    /// The GraphQL name of a subgraph's part of an entity: the entity's own name when the part
    /// is a subgraph's type, a name of its own when it is merged into the one-process type
    /// (async-graphql refuses two Rust types of one name in a schema; the merged type's parts
    /// are never shown).
    fn part_name(entity: &'static str, _part: &'static str) -> Cow<'static, str> {
        Cow::Borrowed(entity)
    }
}

/// A subgraph's part of an entity: a struct over the entity's data, built from it, named by
/// the schema it is in (`Graph::part_name`, for `#[Object(name_type)]`).
#[macro_export]
macro_rules! entity_part {
    ($(#[$doc:meta])* $part:ident($data:ty), $entity:literal, $hidden:literal) => {
        $(#[$doc])*
        pub struct $part<G>(pub $data, std::marker::PhantomData<G>);

        impl<G> From<$data> for $part<G> {
            fn from(data: $data) -> Self {
                $part(data, std::marker::PhantomData)
            }
        }

        impl<G: $crate::gql::Graph> async_graphql::TypeName for $part<G> {
            fn type_name() -> std::borrow::Cow<'static, str> {
                G::part_name($entity, $hidden)
            }
        }
    };
}

/// A subgraph's root fields for any schema: `Default` without asking it of the schema.
#[macro_export]
macro_rules! root_part {
    ($(#[$doc:meta])* $root:ident) => {
        $(#[$doc])*
        pub struct $root<G>(std::marker::PhantomData<G>);

        impl<G> Default for $root<G> {
            fn default() -> Self {
                $root(std::marker::PhantomData)
            }
        }
    };
}

/// A clinic in a subgraph that owns none of its fields: the key, for the router to ask the
/// subgraphs that do.
pub struct ClinicKey(ClinicInfo);

impl From<ClinicInfo> for ClinicKey {
    fn from(c: ClinicInfo) -> Self {
        ClinicKey(c)
    }
}

/// A general practice (lægehus, klinik), identified by its ydernummer.
#[Object(name = "Clinic", unresolvable = "ydernummer")]
impl ClinicKey {
    /// Provider number (ydernummer): 6 digits, leading zeros kept.
    async fn ydernummer(&self) -> &str {
        self.0.ydernummer.as_str()
    }
}

/// A cluster in a subgraph that owns none of its fields: the key.
pub struct ClusterKey(ClusterInfo);

impl From<ClusterInfo> for ClusterKey {
    fn from(c: ClusterInfo) -> Self {
        ClusterKey(c)
    }
}

/// A cluster (klynge): a quality-improvement group of clinics in one region.
#[Object(name = "Cluster", unresolvable = "id")]
impl ClusterKey {
    /// Cluster id, e.g. K1084-03.
    async fn id(&self) -> &str {
        &self.0.id
    }
}

/// A region in a subgraph that owns none of its fields: the key.
pub struct RegionKey(RegionCode);

impl From<RegionCode> for RegionKey {
    fn from(c: RegionCode) -> Self {
        RegionKey(c)
    }
}

/// A Danish region.
#[Object(name = "Region", unresolvable = "code")]
impl RegionKey {
    /// Region code: 1081–1085.
    async fn code(&self) -> &str {
        self.0.as_str()
    }
}

/// A clinic by ydernummer from the request's directory, as the schema's clinic type; None
/// when there is none.
pub async fn clinic<C: From<ClinicInfo>>(
    ctx: &Context<'_>,
    ydernummer: &str,
) -> super::Result<Option<C>> {
    Ok(super::directory(ctx)
        .await?
        .clinics
        .get(ydernummer)
        .cloned()
        .map(C::from))
}

/// A cluster by id from the request's directory; None when there is none.
pub async fn cluster<C: From<ClusterInfo>>(
    ctx: &Context<'_>,
    id: &str,
) -> super::Result<Option<C>> {
    Ok(super::directory(ctx)
        .await?
        .clusters
        .get(id)
        .cloned()
        .map(C::from))
}
