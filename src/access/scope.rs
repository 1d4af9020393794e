//! Row scopes: which persons and which aggregates a principal reaches.

use super::disclosure::{CellLedger, Disclosure};
use super::policy::{self, Reach};
use crate::auth::{Actor, Principal, Role};
use crate::domain::{Cpr, Source, Ydernummer};
use chrono::{Datelike, NaiveDate};
use std::sync::Arc;

/// The rows a repository function may return. Built only from a `Principal`, so a resolver
/// cannot widen it by passing an argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A patient: their own person-level data, and that of the people whose delegation to
    /// them holds today (`access::delegation`).
    Person(Cpr),
    /// A clinician: patients listed at or treated by this clinic.
    Clinic(Ydernummer),
    /// A supplier: no person, only the patients' entries on plans of its own source.
    Supplier(Source),
    /// No person-level data at all (region, ministry).
    NoPersons,
}

impl Scope {
    pub fn of(principal: &Principal) -> Self {
        match &principal.actor {
            Actor::Patient(cpr) => Scope::Person(cpr.clone()),
            Actor::Clinician(y) => Scope::Clinic(y.clone()),
            Actor::Supplier(source) => Scope::Supplier(*source),
            Actor::Region(_) | Actor::Ministry => Scope::NoPersons,
        }
    }
}

/// What a reach decision is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A person's data, by CPR number.
    Person(&'a Cpr),
    /// One clinic's figures.
    Clinic {
        ydernummer: &'a str,
        region: &'a str,
        cluster: Option<&'a str>,
    },
    /// One cluster's figures.
    Cluster { id: &'a str, region: &'a str },
    /// One region's figures, by code.
    Region(&'a str),
    /// The national figures.
    Nation,
}

/// Whose listed patients a count reads: one clinic's, or one cluster's clinics'. Built only by
/// `Viewer::count_scope`, once the viewer's reach on the field covers it, so a count
/// repository cannot be asked for persons outside the caller's reach (as `Scope` does for
/// person reads).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CountScope(Counts);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Counts {
    Clinic(String),
    Cluster(String),
}

impl CountScope {
    /// The clinic counted, when it is one clinic.
    pub fn clinic(&self) -> Option<&str> {
        match &self.0 {
            Counts::Clinic(y) => Some(y),
            Counts::Cluster(_) => None,
        }
    }

    /// The cluster counted, when it is a cluster.
    pub fn cluster(&self) -> Option<&str> {
        match &self.0 {
            Counts::Cluster(id) => Some(id),
            Counts::Clinic(_) => None,
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

    /// The patient's own CPR number, when the viewer is that patient (whose data is "own").
    pub fn own_person(&self) -> Option<&Cpr> {
        match &self.principal.actor {
            Actor::Patient(cpr) => Some(cpr),
            _ => None,
        }
    }

    /// May this viewer read `type_name.field` of `subject`? The field's grant for the
    /// viewer's role in the policy table says how far it reaches; this executes that reach on
    /// the subject. Every resolver whose answer depends on whose rows it reads asks here.
    pub fn may(&self, type_name: &str, field: &str, subject: Subject<'_>) -> bool {
        policy::reach(self.role(), type_name, field)
            .is_some_and(|reach| self.reaches(reach, subject))
    }

    /// The persons `type_name.field` may count for this viewer about `subject` (a clinic or a
    /// cluster), or None when the field's reach does not cover it.
    pub fn count_scope(
        &self,
        type_name: &str,
        field: &str,
        subject: Subject<'_>,
    ) -> Option<CountScope> {
        if !self.may(type_name, field, subject) {
            return None;
        }
        match subject {
            Subject::Clinic { ydernummer, .. } => {
                Some(CountScope(Counts::Clinic(ydernummer.to_string())))
            }
            Subject::Cluster { id, .. } => Some(CountScope(Counts::Cluster(id.to_string()))),
            Subject::Person(_) | Subject::Region(_) | Subject::Nation => None,
        }
    }

    /// The regions a count over many clinics covers: the ones asked for, each within the
    /// field's reach (else None: refused), and for a viewer whose reach is their own region,
    /// that region whatever was asked.
    pub fn regions_within_reach(
        &self,
        type_name: &str,
        field: &str,
        asked: Vec<String>,
    ) -> Option<Vec<String>> {
        if !asked
            .iter()
            .all(|r| self.may(type_name, field, Subject::Region(r)))
        {
            return None;
        }
        match (
            policy::reach(self.role(), type_name, field)?,
            &self.principal.actor,
        ) {
            (Reach::OwnRegion, Actor::Region(own)) => Some(vec![own.as_str().to_string()]),
            (Reach::National, _) => Some(asked),
            _ => None,
        }
    }

    fn reaches(&self, reach: Reach, subject: Subject<'_>) -> bool {
        use Subject::*;
        match (reach, subject, &self.principal.actor) {
            (Reach::Open, _, _) => true,
            (Reach::Own, Person(cpr), Actor::Patient(own)) => own == cpr,
            (Reach::OwnClinic, Clinic { ydernummer, .. }, Actor::Clinician(own)) => {
                own.as_str() == ydernummer
            }
            (
                Reach::OwnCluster,
                Clinic {
                    ydernummer,
                    cluster,
                    ..
                },
                Actor::Clinician(own),
            ) => {
                own.as_str() == ydernummer
                    || (cluster.is_some() && cluster == self.cluster.as_deref())
            }
            (Reach::OwnCluster, Cluster { id, .. }, Actor::Clinician(_)) => {
                self.cluster.as_deref() == Some(id)
            }
            (
                Reach::OwnRegion,
                Clinic { region, .. } | Cluster { region, .. } | Region(region),
                Actor::Region(own),
            ) => own.as_str() == region,
            // National reach covers every aggregate, never a person's own data.
            (Reach::National, Person(_), _) => false,
            (Reach::National, _, _) => true,
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

    fn viewer(actor: Actor, cluster: Option<&str>) -> Viewer {
        Viewer {
            principal: Principal::new("t", actor),
            cluster: cluster.map(str::to_string),
            disclosure_threshold: 5,
            cells: Default::default(),
        }
    }

    /// The policy's reach, executed: each role against subjects inside and outside its reach.
    #[test]
    fn the_reach_table() {
        use crate::domain::RegionCode;
        let cpr = |s| Cpr::parse(s).expect("cpr");
        let y = |s| Ydernummer::parse(s).expect("y");
        let me = cpr("0101010101");
        let other = cpr("0202020202");
        let patient = viewer(Actor::Patient(me.clone()), None);
        let clinician = viewer(Actor::Clinician(y("000001")), Some("K1"));
        let lone = viewer(Actor::Clinician(y("000009")), None);
        let region = viewer(
            Actor::Region(RegionCode::parse("1084").expect("region")),
            None,
        );
        let ministry = viewer(Actor::Ministry, None);
        let supplier = viewer(Actor::Supplier(crate::domain::Source::Plsp), None);
        let clinic = |ydernummer, region, cluster| Subject::Clinic {
            ydernummer,
            region,
            cluster,
        };
        let own = clinic("000001", "1084", Some("K1"));
        let peer = clinic("000002", "1084", Some("K1"));
        let far = clinic("000003", "1081", Some("K2"));
        let unclustered = clinic("000009", "1081", None);
        let k1 = Subject::Cluster {
            id: "K1",
            region: "1084",
        };
        let k2 = Subject::Cluster {
            id: "K2",
            region: "1081",
        };
        for (who, v, field, subject, want) in [
            // Counts of a clinic: own cluster, own region, all.
            ("clinician", &clinician, ("Clinic", "population"), own, true),
            (
                "clinician",
                &clinician,
                ("Clinic", "population"),
                peer,
                true,
            ),
            (
                "clinician",
                &clinician,
                ("Clinic", "population"),
                far,
                false,
            ),
            (
                "lone clinician",
                &lone,
                ("Clinic", "population"),
                unclustered,
                true,
            ),
            (
                "lone clinician",
                &lone,
                ("Clinic", "population"),
                far,
                false,
            ),
            ("region", &region, ("Clinic", "activity"), peer, true),
            ("region", &region, ("Clinic", "activity"), far, false),
            ("ministry", &ministry, ("Clinic", "activity"), far, true),
            ("patient", &patient, ("Clinic", "activity"), own, false),
            ("supplier", &supplier, ("Clinic", "activity"), own, false),
            // Cluster views.
            ("clinician", &clinician, ("Cluster", "view"), k1, true),
            ("clinician", &clinician, ("Cluster", "view"), k2, false),
            ("region", &region, ("Cluster", "view"), k1, true),
            ("region", &region, ("Cluster", "view"), k2, false),
            ("ministry", &ministry, ("Cluster", "view"), k2, true),
            // A region's rollout, and the nation's.
            (
                "region",
                &region,
                ("Region", "rollout"),
                Subject::Region("1084"),
                true,
            ),
            (
                "region",
                &region,
                ("Region", "rollout"),
                Subject::Region("1081"),
                false,
            ),
            (
                "clinician",
                &clinician,
                ("Region", "rollout"),
                Subject::Region("1084"),
                false,
            ),
            (
                "ministry",
                &ministry,
                ("Region", "rollout"),
                Subject::Region("1081"),
                true,
            ),
            (
                "clinician",
                &clinician,
                ("Query", "rollout"),
                Subject::Nation,
                true,
            ),
            (
                "region",
                &region,
                ("Query", "rollout"),
                Subject::Nation,
                true,
            ),
            (
                "patient",
                &patient,
                ("Query", "rollout"),
                Subject::Nation,
                false,
            ),
            (
                "region",
                &region,
                ("Query", "planActivity"),
                Subject::Nation,
                false,
            ),
            // Persons: the patient's own; national reach never covers a person.
            (
                "patient",
                &patient,
                ("Patient", "plans"),
                Subject::Person(&me),
                true,
            ),
            (
                "patient",
                &patient,
                ("Patient", "plans"),
                Subject::Person(&other),
                false,
            ),
            (
                "ministry",
                &ministry,
                ("Patient", "plans"),
                Subject::Person(&me),
                false,
            ),
            // A field nobody is granted.
            ("ministry", &ministry, ("Clinic", "nosuch"), own, false),
        ] {
            assert_eq!(
                v.may(field.0, field.1, subject),
                want,
                "{who} {field:?} {subject:?}"
            );
        }
    }

    /// A count's scope exists only where the field's reach covers its subject.
    #[test]
    fn count_scopes_are_built_only_within_reach() {
        use crate::domain::RegionCode;
        let y = |s| Ydernummer::parse(s).expect("y");
        let clinician = viewer(Actor::Clinician(y("000001")), Some("K1"));
        let region = viewer(Actor::Region(RegionCode::parse("1084").expect("r")), None);
        let patient = viewer(Actor::Patient(Cpr::parse("0101010101").expect("cpr")), None);
        let clinic = |ydernummer, region, cluster| Subject::Clinic {
            ydernummer,
            region,
            cluster,
        };
        let peer = clinic("000002", "1084", Some("K1"));
        let far = clinic("000003", "1081", Some("K2"));
        let scope = clinician.count_scope("Clinic", "population", peer);
        assert_eq!(scope.as_ref().and_then(CountScope::clinic), Some("000002"));
        assert_eq!(clinician.count_scope("Clinic", "population", far), None);
        assert_eq!(patient.count_scope("Clinic", "population", peer), None);
        let k1 = Subject::Cluster {
            id: "K1",
            region: "1084",
        };
        let scope = region.count_scope("Cluster", "view", k1);
        assert_eq!(scope.as_ref().and_then(CountScope::cluster), Some("K1"));
        // Not a subject whose persons a count reads.
        assert_eq!(
            region.count_scope("Region", "rollout", Subject::Region("1084")),
            None
        );
    }

    #[test]
    fn regions_of_a_count_are_clamped_to_the_reach() {
        use crate::domain::RegionCode;
        let region = viewer(
            Actor::Region(RegionCode::parse("1084").expect("region")),
            None,
        );
        let ministry = viewer(Actor::Ministry, None);
        let clinician = viewer(
            Actor::Clinician(Ydernummer::parse("000001").expect("y")),
            Some("K1"),
        );
        let asked = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let within =
            |v: &Viewer, r: &[&str]| v.regions_within_reach("Query", "planActivity", asked(r));
        assert_eq!(within(&region, &[]), Some(asked(&["1084"])));
        assert_eq!(within(&region, &["1084"]), Some(asked(&["1084"])));
        assert_eq!(within(&region, &["1084", "1081"]), None);
        assert_eq!(within(&ministry, &[]), Some(asked(&[])));
        assert_eq!(within(&ministry, &["1081"]), Some(asked(&["1081"])));
        assert_eq!(within(&clinician, &[]), None);
    }

    /// Reach is decided here and nowhere else: the GraphQL and request layers ask `Viewer`
    /// and never look at the principal's actor themselves.
    #[test]
    fn no_reach_check_outside_access() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut found = Vec::new();
        let layers = [
            "plans",
            "population",
            "clusters",
            "rollout",
            "gql",
            "service",
            "http",
            "federation",
            "schema",
        ];
        let mut stack: Vec<std::path::PathBuf> = layers
            .iter()
            .map(|l| std::path::Path::new(root).join(l))
            .collect();
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).expect("dir") {
                    stack.push(entry.expect("entry").path());
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source");
            for (i, line) in text.lines().enumerate() {
                if [".actor", "Actor::"].iter().any(|p| line.contains(p)) {
                    found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "reach decided outside access/: {found:#?}"
        );
    }

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
