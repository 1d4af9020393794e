//! Clinical quality indicators (DOMAIN.md "Quality indicators"): for RKKP reporting and the
//! cluster views. Each is a share of a clinic's listed patients with a diagnosis, as of a
//! date, from the measurements carried by plan versions made on or before that date.
//!
//! The snapshot keeps every patient's measurements of the indicator codes once (`Measures`):
//! a measurement repeated in later versions is one measurement, carried from the day of the
//! first version that has it. An indicator as of any date is then a pass over the listed
//! patients' few measurements, with no database read; late data rebuilds the snapshot, so it
//! is reflected at once.

// Patient and code numbers index tables this module builds (each below the table's length,
// by construction); counts stay far below 2^32 at national scale.
#![allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]

use super::metrics::year_back;
use super::population::Listed;
use super::series::Day;
use super::snapshot::day;
use crate::access::PersonSet;
use crate::db::tables::plan_versions;
use crate::db::{DbConnection, DbError};
use crate::domain::{Measurement, MeasurementCode, PlanType};
use chrono::NaiveDate;
use diesel::prelude::*;

/// The ten indicators, in the order reports list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Indicator {
    Dm2Hba1c,
    Dm2Hba1cTarget,
    Dm2Bp,
    Dm2Ldl,
    KolFev1,
    KolMrc,
    KolSmoking,
    IhdLdl,
    IhdLdlTarget,
    IhdBp,
}

/// The numerator's condition on the latest value, for the two outcome indicators.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    AtMost(f64),
    Below(f64),
}

impl Indicator {
    pub const ALL: [Indicator; 10] = [
        Self::Dm2Hba1c,
        Self::Dm2Hba1cTarget,
        Self::Dm2Bp,
        Self::Dm2Ldl,
        Self::KolFev1,
        Self::KolMrc,
        Self::KolSmoking,
        Self::IhdLdl,
        Self::IhdLdlTarget,
        Self::IhdBp,
    ];

    /// The name RKKP and `reference.py` use, e.g. `DM2_HBA1C_TARGET`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dm2Hba1c => "DM2_HBA1C",
            Self::Dm2Hba1cTarget => "DM2_HBA1C_TARGET",
            Self::Dm2Bp => "DM2_BP",
            Self::Dm2Ldl => "DM2_LDL",
            Self::KolFev1 => "KOL_FEV1",
            Self::KolMrc => "KOL_MRC",
            Self::KolSmoking => "KOL_SMOKING",
            Self::IhdLdl => "IHD_LDL",
            Self::IhdLdlTarget => "IHD_LDL_TARGET",
            Self::IhdBp => "IHD_BP",
        }
    }

    /// The diagnosis whose listed patients the indicator is about.
    pub fn diagnosis(self) -> PlanType {
        match self {
            Self::Dm2Hba1c | Self::Dm2Hba1cTarget | Self::Dm2Bp | Self::Dm2Ldl => PlanType::Dm2,
            Self::KolFev1 | Self::KolMrc | Self::KolSmoking => PlanType::Kol,
            Self::IhdLdl | Self::IhdLdlTarget | Self::IhdBp => PlanType::Ihd,
        }
    }

    /// The measurement it reads.
    pub fn code(self) -> MeasurementCode {
        match self {
            Self::Dm2Hba1c | Self::Dm2Hba1cTarget => MeasurementCode::Hba1c,
            Self::Dm2Bp | Self::IhdBp => MeasurementCode::BpSys,
            Self::Dm2Ldl | Self::IhdLdl | Self::IhdLdlTarget => MeasurementCode::Ldl,
            Self::KolFev1 => MeasurementCode::Fev1Pct,
            Self::KolMrc => MeasurementCode::Mrc,
            Self::KolSmoking => MeasurementCode::Smoker,
        }
    }

    fn target(self) -> Option<Target> {
        match self {
            Self::Dm2Hba1cTarget => Some(Target::AtMost(53.0)),
            Self::IhdLdlTarget => Some(Target::Below(1.8)),
            _ => None,
        }
    }

    /// What the numerator counts, in words (for the schema and the report).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Dm2Hba1c => "type 2 diabetes: HbA1c measured in the 12 months",
            Self::Dm2Hba1cTarget => {
                "type 2 diabetes: latest HbA1c at most 53 mmol/mol, of those with HbA1c measured"
            }
            Self::Dm2Bp => "type 2 diabetes: blood pressure measured in the 12 months",
            Self::Dm2Ldl => "type 2 diabetes: LDL cholesterol measured in the 12 months",
            Self::KolFev1 => "COPD: lung function (FEV1) measured in the 12 months",
            Self::KolMrc => "COPD: breathlessness (MRC) recorded in the 12 months",
            Self::KolSmoking => "COPD: smoking status recorded in the 12 months",
            Self::IhdLdl => "ischaemic heart disease: LDL cholesterol measured in the 12 months",
            Self::IhdLdlTarget => {
                "ischaemic heart disease: latest LDL below 1.8 mmol/L, of those with LDL measured"
            }
            Self::IhdBp => "ischaemic heart disease: blood pressure measured in the 12 months",
        }
    }
}

/// The codes the indicators read, in a fixed order: a measurement's slot.
const CODES: [MeasurementCode; 6] = [
    MeasurementCode::Hba1c,
    MeasurementCode::BpSys,
    MeasurementCode::Ldl,
    MeasurementCode::Fev1Pct,
    MeasurementCode::Mrc,
    MeasurementCode::Smoker,
];

fn slot(code: MeasurementCode) -> Option<u8> {
    CODES.iter().position(|c| *c == code).map(|i| i as u8)
}

/// One measurement of one patient, once.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Measured {
    code: u8,
    on: Day,
    /// The local day of the first plan version that carries it: from then on it counts.
    made: Day,
    value: f64,
}

/// Every patient's measurements of the indicator codes, by the snapshot's person number.
#[derive(Debug, Default)]
pub struct Measures {
    /// Person p's measurements are `items[offsets[p]..offsets[p + 1]]`.
    offsets: Vec<u32>,
    items: Vec<Measured>,
}

impl Measures {
    /// Reads the measurements of every plan version; `person` numbers a CPR (0..persons), or
    /// is None for one the snapshot does not know.
    pub fn load(
        conn: &mut DbConnection,
        persons: usize,
        person: impl Fn(&str) -> Option<u32>,
    ) -> Result<Self, DbError> {
        let mut all: Vec<(u32, Measured)> = Vec::new();
        let query = plan_versions::table.select((
            plan_versions::cpr,
            plan_versions::local_date,
            plan_versions::measurements,
        ));
        let mut take = |cpr: String, made: NaiveDate, stored: String| {
            let Some(p) = person(&cpr) else { return };
            // Stored by the import from checked values: one that does not parse now is a
            // fault of the database, counted and left out rather than guessed at.
            let Ok(list) = serde_json::from_str::<Vec<Measurement>>(&stored) else {
                crate::db::count_unparsable_stored_value();
                tracing::error!(
                    column = "plan_versions.measurements",
                    "a stored value does not parse; it is left out of the quality indicators"
                );
                return;
            };
            for m in list {
                if let Some(code) = slot(m.code) {
                    all.push((
                        p,
                        Measured {
                            code,
                            on: day(m.measured_on),
                            made: day(made),
                            value: m.value,
                        },
                    ));
                }
            }
        };
        crate::on_backend!(conn, |c| {
            for row in query
                .load_iter::<(String, NaiveDate, String), diesel::connection::DefaultLoadingMode>(
                    c,
                )?
            {
                let (cpr, made, stored) = row?;
                take(cpr, made, stored);
            }
        });
        Ok(Self::from_rows(persons, all))
    }

    fn from_rows(persons: usize, mut all: Vec<(u32, Measured)>) -> Self {
        // The same measurement (code, day, value) in several versions is one, carried from the
        // earliest of them.
        all.sort_by(|(p, a), (q, b)| {
            (p, a.code, a.on)
                .cmp(&(q, b.code, b.on))
                .then(a.value.total_cmp(&b.value))
                .then(a.made.cmp(&b.made))
        });
        all.dedup_by(|(p, later), (q, first)| {
            p == q && later.code == first.code && later.on == first.on && later.value == first.value
        });
        let mut offsets = Vec::with_capacity(persons + 1);
        let mut items = Vec::with_capacity(all.len());
        let mut rows = all.into_iter().peekable();
        for p in 0..persons as u32 {
            offsets.push(items.len() as u32);
            while let Some((_, m)) = rows.next_if(|(q, _)| *q == p) {
                items.push(m);
            }
        }
        offsets.push(items.len() as u32);
        Self { offsets, items }
    }

    fn of(&self, person: u32) -> &[Measured] {
        let p = person as usize;
        match (self.offsets.get(p), self.offsets.get(p + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }

    /// The value that counts for `code` as of `d`: of the measurements in the 12 months to `d`
    /// carried by a version made on or before `d`, the latest, and of several on that day the
    /// highest (the cautious reading).
    fn latest(&self, person: u32, code: u8, after: Day, d: Day) -> Option<f64> {
        self.of(person)
            .iter()
            .filter(|m| m.code == code && m.on > after && m.on <= d && m.made <= d)
            .map(|m| (m.on, m.value))
            .max_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
            .map(|(_, v)| v)
    }
}

/// One indicator's two parts, as sets of persons (for disclosure control) that also give the
/// exact counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parts {
    pub numerator: PersonSet,
    pub denominator: PersonSet,
}

/// Every indicator's parts, in `Indicator::ALL` order.
pub type Cells = [Parts; Indicator::ALL.len()];

/// The indicators of these listed patients (one clinic's, or several clinics' together) as of
/// `d`.
pub fn cells(rows: &[Listed], measures: &Measures, d: NaiveDate) -> Cells {
    let (after, until) = (day(year_back(d)), day(d));
    let mut out = Cells::default();
    for r in rows {
        let mut latest: [Option<Option<f64>>; CODES.len()] = [None; CODES.len()];
        for (i, ind) in Indicator::ALL.iter().enumerate() {
            if !r.has(ind.diagnosis()) {
                continue;
            }
            let Some(code) = slot(ind.code()) else {
                continue;
            };
            let value = *latest[code as usize]
                .get_or_insert_with(|| measures.latest(r.person(), code, after, until));
            let cell = &mut out[i];
            match (ind.target(), value) {
                (None, v) => {
                    cell.denominator.add(r.key);
                    if v.is_some() {
                        cell.numerator.add(r.key);
                    }
                }
                (Some(target), Some(v)) => {
                    cell.denominator.add(r.key);
                    let met = match target {
                        Target::AtMost(limit) => v <= limit,
                        Target::Below(limit) => v < limit,
                    };
                    if met {
                        cell.numerator.add(r.key);
                    }
                }
                (Some(_), None) => {}
            }
        }
    }
    out
}

/// Adds one clinic's cells to a total: persons are listed at one clinic, so the sets are
/// disjoint and a total is their union.
pub fn add(total: &mut Cells, more: &Cells) {
    for (t, m) in total.iter_mut().zip(more) {
        t.numerator.union_disjoint(m.numerator);
        t.denominator.union_disjoint(m.denominator);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::domain::parse_date(s).expect("date")
    }

    fn m(code: MeasurementCode, on: &str, made: &str, value: f64) -> (u32, Measured) {
        (
            0,
            Measured {
                code: slot(code).expect("an indicator code"),
                on: day(d(on)),
                made: day(d(made)),
                value,
            },
        )
    }

    fn latest(rows: Vec<(u32, Measured)>, code: MeasurementCode, as_of: &str) -> Option<f64> {
        let measures = Measures::from_rows(1, rows);
        let slot = slot(code).expect("code");
        measures.latest(0, slot, day(year_back(d(as_of))), day(d(as_of)))
    }

    #[test]
    fn the_latest_day_counts_and_of_one_day_the_highest_value() {
        use MeasurementCode::Hba1c;
        let rows = vec![
            m(Hba1c, "2022-03-01", "2022-03-05", 70.0),
            m(Hba1c, "2022-04-01", "2022-04-05", 50.0),
            m(Hba1c, "2022-04-01", "2022-04-05", 54.0),
        ];
        // The later day wins over a higher earlier value; on that day the higher value.
        assert_eq!(latest(rows.clone(), Hba1c, "2022-05-18"), Some(54.0));
        // Before the later versions were made, the earlier measurement is all there is.
        assert_eq!(latest(rows.clone(), Hba1c, "2022-04-04"), Some(70.0));
        // A measurement carried by a version made after the date does not count, even if it
        // was measured before.
        assert_eq!(latest(rows.clone(), Hba1c, "2022-03-04"), None);
        // Out of the 12 months: a measurement on the first day after D − 1 year counts, one on
        // that day does not.
        assert_eq!(latest(rows.clone(), Hba1c, "2023-03-01"), Some(54.0));
        assert_eq!(latest(rows.clone(), Hba1c, "2023-04-01"), None);
        assert_eq!(latest(rows, Hba1c, "2023-03-31"), Some(54.0));
    }

    #[test]
    fn a_measurement_repeated_in_later_versions_counts_from_the_first() {
        use MeasurementCode::Ldl;
        let rows = vec![
            m(Ldl, "2022-01-10", "2022-06-01", 2.0),
            m(Ldl, "2022-01-10", "2022-01-15", 2.0),
            m(Ldl, "2022-01-10", "2022-03-01", 2.0),
        ];
        let measures = Measures::from_rows(1, rows);
        assert_eq!(measures.of(0).len(), 1);
        assert_eq!(measures.of(0)[0].made, day(d("2022-01-15")));
        assert_eq!(
            latest(
                vec![m(Ldl, "2022-01-10", "2022-01-15", 2.0)],
                Ldl,
                "2022-01-20"
            ),
            Some(2.0)
        );
    }

    #[test]
    fn targets_are_at_most_53_and_below_1_8() {
        assert_eq!(
            Indicator::Dm2Hba1cTarget.target(),
            Some(Target::AtMost(53.0))
        );
        assert_eq!(Indicator::IhdLdlTarget.target(), Some(Target::Below(1.8)));
        assert_eq!(
            Indicator::ALL
                .iter()
                .filter(|i| i.target().is_some())
                .count(),
            2
        );
        let names: Vec<&str> = Indicator::ALL.iter().map(|i| i.as_str()).collect();
        let mut sorted = names.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), 10, "{names:?}");
    }
}
