//! Row scopes: which persons and which aggregates a principal reaches.

use crate::auth::{Actor, Principal, Role};
use crate::domain::{Cpr, RegionCode, Ydernummer};

/// The rows a repository function may return. Built only from a `Principal`, so a resolver
/// cannot widen it by passing an argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A patient: their own person-level data.
    Person(Cpr),
    /// A clinician: patients listed at or treated by this clinic.
    Clinic(Ydernummer),
    /// No person-level data at all (region, ministry, supplier).
    NoPersons,
}

impl Scope {
    pub fn of(principal: &Principal) -> Self {
        match &principal.actor {
            Actor::Patient(cpr) => Scope::Person(cpr.clone()),
            Actor::Clinician(y) => Scope::Clinic(y.clone()),
            _ => Scope::NoPersons,
        }
    }
}

/// The caller as the resolvers see it: principal plus the facts their reach depends on.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub principal: Principal,
    /// A clinician's clinic's cluster, looked up once per request.
    pub cluster: Option<String>,
    pub disclosure_threshold: u32,
}

impl Viewer {
    pub fn role(&self) -> Role {
        self.principal.role()
    }

    pub fn scope(&self) -> Scope {
        Scope::of(&self.principal)
    }

    /// Whether this viewer may read the counts of a clinic (in `region`, `cluster`).
    /// Clinicians: their own clinic and its cluster. Regions: their region. Ministry: all.
    pub fn reaches_clinic(&self, ydernummer: &str, region: &str, cluster: Option<&str>) -> bool {
        match &self.principal.actor {
            Actor::Clinician(own) => {
                own.as_str() == ydernummer
                    || (cluster.is_some() && cluster == self.cluster.as_deref())
            }
            Actor::Region(code) => code.as_str() == region,
            Actor::Ministry => true,
            Actor::Patient(_) | Actor::Supplier(_) => false,
        }
    }

    /// Whether this viewer may read a cluster's figures.
    pub fn reaches_cluster(&self, cluster_id: &str, region: &str) -> bool {
        match &self.principal.actor {
            Actor::Clinician(_) => self.cluster.as_deref() == Some(cluster_id),
            Actor::Region(code) => code.as_str() == region,
            Actor::Ministry => true,
            Actor::Patient(_) | Actor::Supplier(_) => false,
        }
    }

    /// Whether this viewer may read a region's rollout (None: national).
    pub fn reaches_region(&self, region: Option<&RegionCode>) -> bool {
        match (&self.principal.actor, region) {
            (Actor::Clinician(_) | Actor::Region(_) | Actor::Ministry, None) => true,
            (Actor::Region(own), Some(r)) => own == r,
            (Actor::Ministry, Some(_)) => true,
            _ => false,
        }
    }

    /// Person counts are exact for a clinician within their reach; disclosure-controlled for
    /// everyone else (regions, the ministry, and clinicians looking at national figures).
    pub fn disclosure(&self, exact: bool) -> super::Disclosure {
        if exact && self.role() == Role::Clinician {
            super::Disclosure::Exact
        } else {
            super::Disclosure::Controlled {
                threshold: self.disclosure_threshold,
            }
        }
    }
}
