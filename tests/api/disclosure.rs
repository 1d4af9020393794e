//! An attacker in the tests: a region user, the ministry and a clinician of a neighbouring
//! clinic, each holding a valid token and staying within every limit, try to learn a birth
//! date or a count from 1 to 4 from the gateway's answers, alone and in combination, on a
//! national-shaped demo data set (`forloeb demo`, 60 clinics; FORLOEB_TEST_DEMO_CLINICS=1693
//! runs the same attacks at national scale).
//!
//! The attacker knows the published rules (README, "Disclosure control"): a controlled value v
//! is the true count moved by −2…+2 (so the truth lies in [v − 2, v + 2], and a shown 0 in
//! [0, 2]); a suppressed one is a true count from 1 to 6. The solver below narrows every cell
//! of a breakdown with its total by interval propagation and reports any cell it pins to one
//! value from 1 to 4. Run over the same data with the old rules (exact counts, suppression
//! below 5, one complementary cell) it finds such cells: the test would fail against the old
//! behaviour.

use crate::helpers::{
    clinician, forloeb, ministry, region, shipped_defaults, spawn_app, spawn_with_demo, TestApp,
};
use serde_json::{json, Value};

/// What the attacker can say of a true count from one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Iv {
    lo: i64,
    hi: i64,
}

const UNBOUNDED: i64 = 1 << 40;

/// The published rule for a controlled count (threshold 5, adjustments −2…+2).
fn controlled(c: &Value) -> Iv {
    match c["value"].as_i64() {
        Some(v) => Iv {
            lo: (v - 2).max(0),
            hi: v + 2,
        },
        None => {
            assert_eq!(c["suppressed"], "BELOW_THRESHOLD", "{c}");
            Iv { lo: 1, hi: 6 }
        }
    }
}

/// The old rule, for comparison: exact counts, 1–4 suppressed, and when one cell of a
/// breakdown is hidden the smallest other non-zero cell is hidden too.
fn legacy(cells: &[i64], total: i64) -> (Vec<Iv>, Iv) {
    let mut out: Vec<Iv> = cells
        .iter()
        .map(|&n| {
            if (1..5).contains(&n) {
                Iv { lo: 1, hi: 4 }
            } else {
                Iv { lo: n, hi: n }
            }
        })
        .collect();
    let hidden = out.iter().filter(|c| c.lo != c.hi).count();
    if hidden == 1 {
        let partner = cells
            .iter()
            .enumerate()
            .filter(|(i, &n)| n > 0 && out[*i].lo == out[*i].hi)
            .min_by_key(|(_, &n)| n)
            .map(|(i, _)| i);
        if let Some(p) = partner {
            // Hidden, and known to be at least 5 and at most the smallest shown non-zero cell.
            let smallest_shown = cells
                .iter()
                .enumerate()
                .filter(|(i, &n)| *i != p && n > 0 && out[*i].lo == out[*i].hi)
                .map(|(_, &n)| n)
                .min()
                .unwrap_or(UNBOUNDED);
            out[p] = Iv {
                lo: 5,
                hi: smallest_shown.max(5),
            };
        }
    }
    let total = if (1..5).contains(&total) {
        Iv { lo: 1, hi: 4 }
    } else {
        Iv {
            lo: total,
            hi: total,
        }
    };
    (out, total)
}

/// Narrows cells that sum to `total` until nothing changes; returns the cells pinned to one
/// value from 1 to 4.
fn pinned_small(mut cells: Vec<Iv>, total: Iv) -> Vec<i64> {
    loop {
        let mut changed = false;
        let (sum_lo, sum_hi): (i64, i64) = cells
            .iter()
            .fold((0, 0), |(a, b), c| (a + c.lo, (b + c.hi).min(UNBOUNDED)));
        for c in cells.iter_mut() {
            let lo = c.lo.max(total.lo - (sum_hi - c.hi));
            let hi = c.hi.min(total.hi - (sum_lo - c.lo));
            if (lo, hi) != (c.lo, c.hi) && lo <= hi {
                *c = Iv { lo, hi };
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    cells
        .iter()
        .filter(|c| c.lo == c.hi && (1..5).contains(&c.lo))
        .map(|c| c.lo)
        .collect()
}

/// A gateway with the demo data; `shipped_budget` false lifts the disclosure budget (test
/// settings).
fn demo_app(shipped_budget: bool) -> TestApp {
    spawn_with_demo(|s| {
        if shipped_budget {
            s.access.cell_budget = shipped(|d| d.access.cell_budget.clone());
        }
    })
}

fn shipped<T>(pick: impl Fn(&forloeb_gateway::config::Settings) -> T) -> T {
    let mut s = crate::helpers::test_settings("unused.db");
    shipped_defaults(&mut s);
    pick(&s)
}

/// Every clinic: (ydernummer, region, cluster).
fn clinics(app: &TestApp) -> Vec<(String, String, String)> {
    let r = app
        .graphql_as(
            &ministry(),
            "{ clinics { ydernummer region { code } cluster { id } } }",
            json!({}),
        )
        .json();
    r["data"]["clinics"]
        .as_array()
        .expect("clinics")
        .iter()
        .map(|c| {
            (
                c["ydernummer"].as_str().unwrap_or_default().to_string(),
                c["region"]["code"].as_str().unwrap_or_default().to_string(),
                c["cluster"]["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

const POPULATION: &str = "type diagnosed { value suppressed controlled } \
    withPlan { value suppressed } withoutPlan { value suppressed } \
    byAgeBand { band count { value suppressed } } bySex { sex count { value suppressed } }";

/// The populations of several clinics as one viewer sees them, by ydernummer.
fn populations(app: &TestApp, token: &str, ys: &[&str], as_of: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for chunk in ys.chunks(10) {
        let fields: Vec<String> = chunk
            .iter()
            .map(|y| {
                format!(
                    "c{y}: clinic(ydernummer: \"{y}\") {{ population(asOf: \"{as_of}\") {{ {POPULATION} }} }}"
                )
            })
            .collect();
        let r = app
            .graphql_as(token, &format!("{{ {} }}", fields.join(" ")), json!({}))
            .json();
        assert!(r["errors"].is_null(), "{r}");
        for y in chunk {
            out.push((
                y.to_string(),
                r["data"][format!("c{y}")]["population"].clone(),
            ));
        }
    }
    out
}

/// The breakdowns of one population answer: (cells, total) per age bands, sex and coverage.
fn breakdowns(p: &Value, rule: impl Fn(&Value) -> Iv) -> Vec<(Vec<Iv>, Iv)> {
    let mut out = Vec::new();
    for t in p.as_array().expect("types") {
        let total = rule(&t["diagnosed"]);
        let cells = |list: &str| -> Vec<Iv> {
            t[list]
                .as_array()
                .expect("list")
                .iter()
                .map(|c| rule(&c["count"]))
                .collect()
        };
        out.push((cells("byAgeBand"), total));
        out.push((cells("bySex"), total));
        out.push((vec![rule(&t["withPlan"]), rule(&t["withoutPlan"])], total));
    }
    out
}

/// The same breakdowns from a clinic's own (exact) answer, under the old rules.
fn legacy_breakdowns(p: &Value) -> Vec<(Vec<Iv>, Iv)> {
    let n = |c: &Value| c["value"].as_i64().expect("exact for the own clinic");
    let mut out = Vec::new();
    for t in p.as_array().expect("types") {
        let total = n(&t["diagnosed"]);
        for list in ["byAgeBand", "bySex"] {
            let cells: Vec<i64> = t[list]
                .as_array()
                .expect("list")
                .iter()
                .map(|c| n(&c["count"]))
                .collect();
            out.push(legacy(&cells, total));
        }
        // Old coverage: diagnosed and withPlan, each suppressed below 5 on its own.
        let (d, w) = (n(&t["diagnosed"]), n(&t["withPlan"]));
        let iv = |v: i64| {
            if (1..5).contains(&v) {
                Iv { lo: 1, hi: 4 }
            } else {
                Iv { lo: v, hi: v }
            }
        };
        out.push((
            vec![
                iv(w),
                Iv {
                    lo: 0,
                    hi: UNBOUNDED,
                },
            ],
            iv(d),
        ));
    }
    out
}

#[test]
fn no_single_answer_determines_a_small_count_but_the_old_rules_did() {
    let app = demo_app(false);
    let all = clinics(&app);
    let ys: Vec<&str> = all.iter().map(|c| c.0.as_str()).collect();
    let (own_region, own_cluster_clinic) = {
        let c = all
            .iter()
            .find(|c| all.iter().filter(|o| o.2 == c.2).count() >= 3)
            .expect("a cluster of three or more");
        (c.1.clone(), c.0.clone())
    };
    let cluster_id = all
        .iter()
        .find(|c| c.0 == own_cluster_clinic)
        .map(|c| c.2.clone())
        .unwrap_or_default();
    let in_region: Vec<&str> = all
        .iter()
        .filter(|c| c.1 == own_region)
        .map(|c| c.0.as_str())
        .collect();
    let neighbours: Vec<&str> = all
        .iter()
        .filter(|c| c.2 == cluster_id && c.0 != own_cluster_clinic)
        .map(|c| c.0.as_str())
        .collect();
    let as_of = "2022-12-31";
    let mut cells_seen = 0;
    for (who, token, list) in [
        ("ministry", ministry(), ys.clone()),
        ("region", region(&own_region), in_region),
        ("neighbour", clinician(&own_cluster_clinic), neighbours),
    ] {
        for (y, p) in populations(&app, &token, &list, as_of) {
            for t in p.as_array().expect("types") {
                assert_eq!(t["diagnosed"]["controlled"], true, "{who} {y}");
            }
            for (cells, total) in breakdowns(&p, controlled) {
                cells_seen += cells.len();
                let pinned = pinned_small(cells.clone(), total);
                assert!(
                    pinned.is_empty(),
                    "{who} pins {pinned:?} at {y}: {cells:?} / {total:?}"
                );
            }
        }
    }
    assert!(cells_seen > 1_000, "{cells_seen}");
    // The same data under the old rules, from each clinic's exact counts: cells pinned.
    let mut pinned_by_old_rules = 0;
    for y in &ys {
        let own = populations(&app, &clinician(y), &[y], as_of);
        for (cells, total) in legacy_breakdowns(&own[0].1) {
            pinned_by_old_rules += pinned_small(cells, total).len();
        }
    }
    assert!(
        pinned_by_old_rules > 0,
        "the old rules should have given counts away on this data"
    );
}

#[test]
fn ages_never_change_within_a_year_so_a_date_scan_finds_no_birthday() {
    let app = demo_app(false);
    let all = clinics(&app);
    let y = &all[0].0;
    let neighbour = all
        .iter()
        .find(|c| c.2 == all[0].2 && c.0 != *y)
        .map(|c| c.0.clone());
    let mut viewers = vec![ministry(), region(&all[0].1), clinician(y)];
    viewers.extend(neighbour.map(|n| clinician(&n)));
    for token in viewers {
        // 30 consecutive days across a month boundary, one alias each.
        let days: Vec<String> = (0..30)
            .map(|i| {
                (chrono::NaiveDate::from_ymd_opt(2022, 3, 15).expect("date")
                    + chrono::Duration::days(i))
                .to_string()
            })
            .collect();
        let mut answers = Vec::new();
        for chunk in days.chunks(10) {
            let fields: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    format!("d{i}: clinic(ydernummer: \"{y}\") {{ population(asOf: \"{d}\") {{ type byAgeBand {{ band count {{ value suppressed }} }} }} }}")
                })
                .collect();
            let r = app
                .graphql_as(&token, &format!("{{ {} }}", fields.join(" ")), json!({}))
                .json();
            assert!(r["errors"].is_null(), "{r}");
            for i in 0..chunk.len() {
                answers.push(r["data"][format!("d{i}")].clone());
            }
        }
        for (d, a) in days.iter().zip(&answers) {
            assert_eq!(a, &answers[0], "age bands moved on {d}");
        }
    }
}

/// The pairs the issue lists: limit before suppression, filter and date-range differences,
/// coverage subtraction, region against nation and consecutive dates.
#[test]
fn no_pair_of_answers_determines_a_small_count() {
    let app = demo_app(false);
    let all = clinics(&app);
    let token = ministry();
    let activity = |args: &str| -> Value {
        let q = format!(
            "{{ planActivity({args}) {{ window {{ from to widened }} truncated \
             rows {{ clinic {{ ydernummer }} patients {{ value suppressed }} }} \
             total {{ patients {{ value suppressed }} }} }} }}"
        );
        let r = app.graphql_as(&token, &q, json!({})).json();
        assert!(r["errors"].is_null(), "{r}");
        r["data"]["planActivity"].clone()
    };
    // A difference of two controlled answers: the hidden count's interval, never one value.
    let difference = |a: &Value, b: &Value| {
        let (a, b) = (controlled(a), controlled(b));
        Iv {
            lo: (a.lo - b.hi).max(0),
            hi: a.hi - b.lo,
        }
    };
    // Limit before suppression: the total and the one row shown.
    let (a, b) = (&all[0].0, &all[1].0);
    let one = activity(&format!(
        "from: \"2022-01-01\", to: \"2022-12-31\", groupBy: [CLINIC], filter: {{ regions: [\"{}\"] }}, limit: 1",
        all[0].1
    ));
    let d = difference(&one["total"]["patients"], &one["rows"][0]["patients"]);
    assert!(d.hi - d.lo >= 4, "{d:?}");
    // A hand-picked union of clinics is not counted for controlled viewers at all.
    let union = activity(&format!(
        "from: \"2022-01-01\", to: \"2022-12-31\", groupBy: [CLINIC], filter: {{ clinics: [\"{a}\", \"{b}\"] }}"
    ));
    assert_eq!(union["total"]["patients"]["suppressed"], "UNION_OF_CLINICS");
    assert!(union["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .all(|r| r["patients"]["value"].is_null()));
    // Date ranges a day apart inside one month: widened to the same month, the same answer.
    let dec24 = activity("from: \"2022-01-01\", to: \"2022-12-24\", groupBy: [REGION]");
    let dec25 = activity("from: \"2022-01-01\", to: \"2022-12-25\", groupBy: [REGION]");
    assert_eq!(dec24["total"], dec25["total"]);
    assert_eq!(
        dec24["window"],
        json!({"from": "2022-01-01", "to": "2022-12-31", "widened": true})
    );
    // Filter differences: all types against all but one.
    let all_types = activity("from: \"2022-01-01\", to: \"2022-12-31\", groupBy: [YEAR]");
    let two_types = activity(
        "from: \"2022-01-01\", to: \"2022-12-31\", groupBy: [YEAR], filter: { types: [KOL, DM2] }",
    );
    let d = difference(
        &all_types["total"]["patients"],
        &two_types["total"]["patients"],
    );
    assert!(d.hi - d.lo >= 4, "{d:?}");
    // Coverage: diagnosed − withPlan against withoutPlan, all three controlled on their own.
    let pops = populations(&app, &token, &[a.as_str()], "2022-12-31");
    for t in pops[0].1.as_array().expect("types") {
        let cells = vec![controlled(&t["withPlan"]), controlled(&t["withoutPlan"])];
        assert!(
            pinned_small(cells, controlled(&t["diagnosed"])).is_empty(),
            "{t}"
        );
    }
    // App users: consecutive dates are one month, region against nation is noisy.
    let users = |args: &str| {
        let r = app
            .graphql_as(
                &token,
                &format!("{{ rollout({args}) {{ appUsers {{ withPlan {{ value suppressed }} active {{ value suppressed }} window {{ to widened }} }} }} }}"),
                json!({}),
            )
            .json();
        r["data"]["rollout"]["appUsers"].clone()
    };
    assert_eq!(
        users("asOf: \"2022-12-24\"")["active"],
        users("asOf: \"2022-12-25\"")["active"]
    );
    let nation = users("asOf: \"2022-12-31\"");
    let regions: Vec<Iv> = ["1081", "1082", "1083", "1084", "1085"]
        .iter()
        .map(|r| controlled(&users(&format!("asOf: \"2022-12-31\", region: \"{r}\""))["active"]))
        .collect();
    assert!(pinned_small(regions, controlled(&nation["active"])).is_empty());
}

/// The averaging attack: many different differences around one hidden count, as many as the
/// default budget allows. After spending it the attacker's 95 % interval is still wider than
/// ±1; the budget, not the attacker's patience, ends it.
#[test]
fn the_averaging_attack_runs_out_of_budget_before_it_learns_the_count() {
    let app = demo_app(true);
    // The busiest clinic: its months hold patients to hide.
    let busiest = app
        .graphql_as(
            &ministry(),
            "{ planActivity(from: \"2022-01-01\", to: \"2022-12-31\", groupBy: [CLINIC], \
             orderBy: PLANS_DESC, limit: 1) { rows { clinic { ydernummer region { code } } } } }",
            json!({}),
        )
        .json();
    let row = &busiest["data"]["planActivity"]["rows"][0]["clinic"];
    let (y, reg) = (
        row["ydernummer"].as_str().expect("clinic").to_string(),
        row["region"]["code"].as_str().expect("region").to_string(),
    );
    let token = region(&reg);
    let budget = shipped(|s| s.access.cell_budget.region) as usize;
    let ask = |from: &str, to: &str| {
        app.graphql_as(
            &token,
            &format!(
                "{{ planActivity(from: \"{from}\", to: \"{to}\", groupBy: [CLINIC], filter: {{ clinics: [\"{y}\"] }}) \
                 {{ total {{ patients {{ value suppressed }} }} }} }}"
            ),
            json!({}),
        )
    };
    let month = |k: i64| {
        let d = chrono::NaiveDate::from_ymd_opt(2022, 12, 1).expect("date")
            - chrono::Months::new(u32::try_from(k).expect("k"));
        d.to_string()
    };
    // Hidden: the clinic's patients in December 2022; pairs [Dec − k, Nov] and [Dec − k, Dec].
    let mut differences = Vec::new();
    let mut refused = None;
    for k in 1..=30 {
        let without = ask(&month(k), "2022-11-30");
        let with = ask(&month(k), "2022-12-31");
        if without.status == 429 || with.status == 429 {
            refused = Some(if with.status == 429 { with } else { without });
            break;
        }
        let (a, b) = (with.json(), without.json());
        let v = |r: &Value| r["data"]["planActivity"]["total"]["patients"]["value"].as_i64();
        if let (Some(a), Some(b)) = (v(&a), v(&b)) {
            differences.push(a - b);
        }
    }
    let refused = refused.expect("the budget ends the attack");
    assert_eq!(
        refused.json()["errors"][0]["extensions"]["code"],
        "DISCLOSURE_BUDGET"
    );
    assert!(refused.headers.iter().any(|(k, _)| k == "retry-after"));
    let pairs = differences.len();
    assert!(
        pairs * 2 <= budget,
        "{pairs} pairs within a budget of {budget}"
    );
    // σ of one difference: √(2 × 2.7), the variance of the published table.
    let half_width = 1.96 * (2.0f64 * 2.7).sqrt() / (pairs.max(1) as f64).sqrt();
    assert!(
        half_width > 1.0,
        "{pairs} pairs pin the count to ±{half_width:.2}"
    );
    // A cell answered before is free, and the named operations are not charged.
    let again = ask(&month(1), "2022-11-30");
    assert_eq!(again.status, 200, "{}", again.body);
    let manifest = forloeb_gateway::trusted::Manifest::builtin();
    let dashboard = manifest
        .documents()
        .iter()
        .find(|d| d.name == "RegionalDashboard")
        .expect("RegionalDashboard");
    let r = app
        .graphql_as(
            &token,
            dashboard.text,
            json!({"region": reg, "asOf": "2022-11-15"}),
        )
        .json();
    assert!(r["errors"].is_null(), "{r}");
    // The operator sees the attempt: every question, the refused one marked.
    let today = forloeb_gateway::domain::Timestamp::now()
        .local_date()
        .to_string();
    let out = forloeb()
        .args([
            "audit",
            "questions",
            "--since",
            &today,
            "--database",
            app.db.url(),
        ])
        .output()
        .expect("audit questions");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert!(lines.len() > pairs * 2, "{}", lines.len());
    assert!(lines.iter().any(|l| l["refused"] == true
        && l["role"] == "region"
        && l["document"]
            .as_str()
            .is_some_and(|d| d.contains("planActivity"))));
    assert!(lines.iter().all(|l| l["variables"].is_object()));
}

#[test]
fn the_question_log_is_append_only() {
    let app = demo_app(false);
    let r = app.graphql_as(
        &ministry(),
        "{ rollout(asOf: \"2022-12-31\") { appUsers { active { value } } } }",
        json!({}),
    );
    assert_eq!(r.status, 200);
    let mut settings = crate::helpers::test_settings(app.db.url());
    settings.database.pool_size = 1;
    let db = forloeb_gateway::db::Db::connect(&settings.database).expect("db");
    let mut conn = db.get().expect("conn");
    use diesel::RunQueryDsl;
    let count = |conn: &mut forloeb_gateway::db::DbConnection| -> i64 {
        use diesel::prelude::*;
        forloeb_gateway::db::tables::question_log::table
            .count()
            .get_result(conn)
            .expect("count")
    };
    assert!(count(&mut conn) >= 1);
    for sql in [
        "UPDATE question_log SET document = 'x'",
        "DELETE FROM question_log",
    ] {
        assert!(diesel::sql_query(sql).execute(&mut *conn).is_err(), "{sql}");
    }
    assert!(count(&mut conn) >= 1);
}

/// "Patient of own clinic" is listed at the clinic or with a plan made by it: a population
/// line that names the clinic with `listed: false` is not a listing.
#[test]
fn a_clinic_does_not_reach_a_person_it_no_longer_lists_and_never_planned_for() {
    let app = spawn_app();
    app.import(&crate::helpers::fixture("feed"));
    // In the fixture: listed: false at 586964, no plan anywhere.
    let q = "{ patient(cpr: \"1101554149\") { cpr } }";
    let r = app.graphql_as(&clinician("586964"), q, json!({})).json();
    assert!(r["data"]["patient"].is_null(), "{r}");
    assert!(!r.to_string().contains("1101554149"), "{r}");
    // A listed patient of the same clinic is still reached.
    let listed = std::fs::read_to_string(crate::helpers::fixture("feed/patients.ndjson"))
        .expect("patients")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|p| p["ydernummer"] == "586964" && p["listed"] != false)
        .and_then(|p| p["cpr"].as_str().map(String::from))
        .expect("a listed patient");
    let r = app
        .graphql_as(
            &clinician("586964"),
            &format!("{{ patient(cpr: \"{listed}\") {{ cpr }} }}"),
            json!({}),
        )
        .json();
    assert_eq!(r["data"]["patient"]["cpr"], json!(listed), "{r}");
}

/// The inactive clinics are listed by name only within the viewer's reach, wherever the list
/// appears; the count stays the national one.
#[test]
fn a_region_user_sees_only_its_own_inactive_clinics() {
    let app = demo_app(false);
    let q = "{ rollout(asOf: \"2022-12-31\") { inactiveClinics { count clinics { region { code } } } } }";
    let national = app.graphql_as(&ministry(), q, json!({})).json();
    let all = national["data"]["rollout"]["inactiveClinics"]["clinics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut regions: Vec<String> = all
        .iter()
        .filter_map(|c| c["region"]["code"].as_str().map(String::from))
        .collect();
    regions.sort();
    regions.dedup();
    assert!(
        regions.len() > 1,
        "inactive clinics in several regions: {national}"
    );
    for code in &regions {
        let r = app.graphql_as(&region(code), q, json!({})).json();
        let inactive = &r["data"]["rollout"]["inactiveClinics"];
        assert_eq!(
            inactive["count"],
            national["data"]["rollout"]["inactiveClinics"]["count"]
        );
        let shown = inactive["clinics"].as_array().expect("clinics");
        assert!(!shown.is_empty());
        assert!(
            shown.iter().all(|c| c["region"]["code"] == json!(code)),
            "{code} sees {r}"
        );
        let own = all
            .iter()
            .filter(|c| c["region"]["code"] == json!(code))
            .count();
        assert_eq!(shown.len(), own);
    }
}

/// Every ad-hoc question of a region or ministry user is logged before its answer leaves;
/// many at once, on SQLite's one writer, must all be answered (a transaction that read
/// before it wrote failed at once with "database is locked").
#[test]
fn many_questions_at_once_are_all_logged_and_answered() {
    let app = spawn_app();
    let tokens = [ministry(), region("1084"), region("1081"), ministry()];
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = tokens
            .iter()
            .map(|token| {
                let app = &app;
                scope.spawn(move || {
                    (0..25)
                        .map(|i| {
                            let q = format!("query Q{i} {{ apiVersion regions {{ code }} }}");
                            app.graphql_as(token, &q, json!({})).status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client"))
            .collect()
    });
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let today = forloeb_gateway::domain::Timestamp::now()
        .local_date()
        .to_string();
    let out = forloeb()
        .args(["audit", "questions", "--since", &today, "--database"])
        .arg(app.db.url())
        .output()
        .expect("audit questions");
    let logged = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(logged, 100, "every question is in the log");
}

/// A cluster view asked without coverage spends no disclosure budget: coverage is counted
/// (and its cells charged) only when asked for. The same months asked with coverage run out of
/// the budget, so the walk is long enough to show a charge where there is one.
#[test]
fn a_cluster_view_without_coverage_spends_no_disclosure_budget() {
    let app = demo_app(true);
    let (_, reg, cluster) = clinics(&app)
        .into_iter()
        .find(|(_, _, cluster)| !cluster.is_empty())
        .expect("a clinic in a cluster");
    let token = region(&reg);
    let ask = |as_of: &str, fields: &str| {
        app.graphql_as(
            &token,
            &format!(
                "{{ cluster(id: \"{cluster}\") {{ view(asOf: \"{as_of}\") {{ clinics {{ {fields} }} }} }} }}"
            ),
            json!({}),
        )
    };
    let months: Vec<String> = (0..48)
        .map(|k| {
            (chrono::NaiveDate::from_ymd_opt(2019, 1, 31).expect("date") + chrono::Months::new(k))
                .to_string()
        })
        .collect();
    for as_of in &months {
        let r = ask(as_of, "newPlans12m ok22Met inactive");
        assert_eq!(r.status, 200, "{as_of}: {}", r.body);
        assert!(r.json().get("errors").is_none(), "{as_of}: {}", r.body);
    }
    let refused = months
        .iter()
        .map(|as_of| ask(as_of, "coverage { type withPlan { value suppressed } }"))
        .find(|r| r.status == 429)
        .expect("coverage of 48 months spends the shipped budget");
    assert_eq!(
        refused.json()["errors"][0]["extensions"]["code"],
        "DISCLOSURE_BUDGET"
    );
}
