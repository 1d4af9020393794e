//! Row scopes: which persons and which aggregates a principal reaches.

use super::disclosure::{CellLedger, Disclosure};
use crate::auth::{Actor, Principal, Role};
use crate::domain::{Cpr, RegionCode, Ydernummer};
use chrono::{Datelike, NaiveDate};
use std::sync::Arc;

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
    /// The controlled cells this request answered, for the daily budget.
    pub cells: Arc<CellLedger>,
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

    /// How this viewer sees the person counts of one clinic: exact only for the clinic's own
    /// clinicians; controlled for everyone else who may see them (the other clinics of a
    /// clinician's cluster, regions, the ministry).
    pub fn counts_for_clinic(&self, ydernummer: &str) -> Disclosure<'_> {
        match &self.principal.actor {
            Actor::Clinician(own) if own.as_str() == ydernummer => Disclosure::Exact,
            _ => self.controlled(),
        }
    }

    /// Person counts over several clinics (clusters, regions, the nation): controlled for
    /// everyone, the clinicians of one of those clinics too.
    pub fn controlled(&self) -> Disclosure<'_> {
        Disclosure::Controlled {
            threshold: self.disclosure_threshold,
            ledger: &self.cells,
        }
    }

    /// How the patients of an ad-hoc activity question reach this viewer: controlled, and not
    /// at all for a hand-picked union of several clinics or clusters, whose differences would
    /// isolate a few persons again and again, which is what averaging needs (README,
    /// "Disclosure control").
    pub fn counts_for_activity(
        &self,
        clinics: Option<&[String]>,
        clusters: Option<&[String]>,
    ) -> Disclosure<'_> {
        let union = [clinics, clusters]
            .into_iter()
            .flatten()
            .any(|list| list.len() > 1);
        if union {
            Disclosure::Withheld(super::Suppression::UnionOfClinics)
        } else {
            self.controlled()
        }
    }
}

/// The window of a controlled person count: a date inside a month is widened to the month
/// (DOMAIN.md, "Bounded question space"), so two answers a day apart are the same answer.
/// Exact counts keep the dates asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountWindow {
    pub from: Option<NaiveDate>,
    pub to: NaiveDate,
    pub widened: bool,
}

impl CountWindow {
    pub fn new(disclosure: &Disclosure<'_>, from: Option<NaiveDate>, to: NaiveDate) -> Self {
        if disclosure.is_exact() {
            return Self {
                from,
                to,
                widened: false,
            };
        }
        let first = from.map(first_of_month);
        let last = last_of_month(to);
        Self {
            widened: first != from || last != to,
            from: first,
            to: last,
        }
    }
}

pub fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

pub fn last_of_month(d: NaiveDate) -> NaiveDate {
    let next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    };
    next.and_then(|n| n.pred_opt()).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controlled_windows_are_whole_months() {
        let d = |s| crate::domain::parse_date(s).expect("date");
        let ledger = CellLedger::default();
        let controlled = Disclosure::Controlled {
            threshold: 5,
            ledger: &ledger,
        };
        let w = CountWindow::new(&controlled, Some(d("2022-02-14")), d("2024-02-03"));
        assert_eq!(
            (w.from, w.to, w.widened),
            (Some(d("2022-02-01")), d("2024-02-29"), true)
        );
        let w = CountWindow::new(&controlled, Some(d("2022-12-01")), d("2022-12-31"));
        assert!(!w.widened);
        let w = CountWindow::new(&Disclosure::Exact, None, d("2022-05-18"));
        assert_eq!((w.to, w.widened), (d("2022-05-18"), false));
    }
}
