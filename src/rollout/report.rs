//! The steering group's status report (`forloeb report`): the same figures as the API, in the
//! shape of `reference.py --report D` for machines and as tables for people.

use super::metrics::{self, ClinicFigures, NewMaintained};
use super::snapshot::Snapshot;
use crate::access::RecordKeys;
use crate::db::{DbConnection, DbError};
use crate::domain::{IsoWeek, RegionCode};
use chrono::NaiveDate;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Exact figures (an operator's report, not an API answer): the record keys are needed only to
/// load the aggregates.
pub fn build(conn: &mut DbConnection, d: NaiveDate, keys: &RecordKeys) -> Result<Value, DbError> {
    let snapshot = Snapshot::load(conn, keys)?;
    let dir = &snapshot.directory;
    let after = metrics::year_back(d);
    let windows = snapshot.clinic_windows(after, d);
    let days = snapshot.day_counts(metrics::first_day_needed(d), d);
    let (with_plan, active) = snapshot.app_users(after, d, None);

    let national = metrics::clinic_figures(dir, &windows, d, |_| true);
    let mut region = Map::new();
    let mut ytd_region = Map::new();
    for code in RegionCode::ALL {
        let r = code.as_str();
        let f = metrics::clinic_figures(dir, &windows, d, |c| c.region == r);
        region.insert(r.into(), figures_json(&f));
        ytd_region.insert(
            r.into(),
            metrics::year_to_date(&days, d, |x| x.region == r).into(),
        );
    }
    let weekly_of =
        |keep: &dyn Fn(&metrics::DayCount) -> bool| weeks_json(&metrics::weekly(&days, d, keep));
    let grouped = |key: fn(&metrics::DayCount) -> &str| {
        let mut keys: Vec<&str> = days.iter().map(key).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut m = Map::new();
        for k in keys {
            let w = metrics::weekly(&days, d, |x| key(x) == k);
            if !w.is_empty() {
                m.insert(k.to_string(), weeks_json(&w));
            }
        }
        Value::Object(m)
    };
    Ok(json!({
        "as_of": d.to_string(),
        "national": figures_json(&national),
        "region": region,
        "app_users": { "with_plan": with_plan.len(), "active": active.len() },
        "year_to_date": {
            "national": metrics::year_to_date(&days, d, |_| true),
            "region": ytd_region,
        },
        "weekly": {
            "national": weekly_of(&|_| true),
            "region": grouped(|x| x.region.as_str()),
            "type": grouped(|x| x.plan_type.as_str()),
            "source": grouped(|x| x.source.as_str()),
        },
    }))
}

fn figures_json(f: &ClinicFigures) -> Value {
    let buckets: Map<String, Value> = f
        .buckets
        .iter()
        .map(|(name, n)| (name.to_string(), (*n).into()))
        .collect();
    json!({
        "open_clinics": f.open_clinics,
        "buckets": buckets,
        "ok22_met": f.ok22_met,
        "inactive": f.inactive,
        "heart": f.heart,
    })
}

fn weeks_json(weeks: &BTreeMap<IsoWeek, NewMaintained>) -> Value {
    Value::Object(
        weeks
            .iter()
            .map(|(w, c)| (w.to_string(), json!([c.new_plans, c.maintained])))
            .collect(),
    )
}

/// The report for people: one table per section, targets beside the figures.
// serde_json's `Value` index answers Null for a missing key or item; it cannot panic.
#[allow(clippy::indexing_slicing)]
pub fn text(report: &Value) -> String {
    let n = |v: &Value| v.as_i64().unwrap_or_default();
    let pct = |part: i64, whole: i64| {
        metrics::share(part, whole).map_or("–".to_string(), |s| format!("{:.1} %", s * 100.0))
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Forløbsplaner: status as of {}",
        report["as_of"].as_str().unwrap_or("?")
    );
    let _ = writeln!(out, "\nClinics (OK22: at least 5 new plans in the 12 months; targets 70 % on 2022-06-30, 85 % on 2022-12-31; heart plans 50 % on 2022-12-31)");
    let _ = writeln!(
        out,
        "{:<22} {:>6} {:>7} {:>8} {:>9} {:>8} {:>8}  buckets 0 / 1-4 / 5-9 / 10-19 / 20-49 / 50+",
        "area", "open", "OK22", "share", "inactive", "heart", "share"
    );
    let mut row = |name: &str, f: &Value| {
        let open = n(&f["open_clinics"]);
        let b = &f["buckets"];
        let buckets: Vec<String> = metrics::BUCKETS
            .iter()
            .map(|(k, _, _)| n(&b[*k]).to_string())
            .collect();
        let _ = writeln!(
            out,
            "{:<22} {:>6} {:>7} {:>8} {:>9} {:>8} {:>8}  {}",
            name,
            open,
            n(&f["ok22_met"]),
            pct(n(&f["ok22_met"]), open),
            n(&f["inactive"]),
            n(&f["heart"]),
            pct(n(&f["heart"]), open),
            buckets.join(" / ")
        );
    };
    row("Danmark", &report["national"]);
    for code in RegionCode::ALL {
        row(code.name(), &report["region"][code.as_str()]);
    }
    let ytd = &report["year_to_date"];
    let _ = writeln!(out, "\nPlans made this year (target 2022: 120,000)");
    let _ = writeln!(out, "{:<22} {:>9}", "Danmark", n(&ytd["national"]));
    for code in RegionCode::ALL {
        let _ = writeln!(
            out,
            "{:<22} {:>9}",
            code.name(),
            n(&ytd["region"][code.as_str()])
        );
    }
    let app = &report["app_users"];
    let _ = writeln!(
        out,
        "\nActive app users (target 75 % on 2022-12-31): {} of {} patients with a plan ({})",
        n(&app["active"]),
        n(&app["with_plan"]),
        pct(n(&app["active"]), n(&app["with_plan"]))
    );
    let _ = writeln!(out, "\nWeekly plans, national (new / maintained)");
    if let Some(weeks) = report["weekly"]["national"].as_object() {
        for (week, c) in weeks {
            let _ = writeln!(out, "{week}  {:>6} / {:>6}", n(&c[0]), n(&c[1]));
        }
    }
    out
}
