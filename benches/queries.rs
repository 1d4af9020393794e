//! In-process latency of the named operations on a loaded database: the patient's own plans
//! and the regional dashboard and steering-group queries (issue 5's targets).
//!
//!     cargo bench --bench queries -- DATABASE_URL [RUNS]
//!
//! Load the database first, e.g. `forloeb import FEED_DIR --database national.db`. Each
//! operation runs through the gateway's own GraphQL service (`service::GraphqlService`: the
//! document's admission and limits, the schema, the per-request state, the question log and
//! the audit write), as an HTTP request does, without the socket. Prints p50, p90, p99 and max
//! per operation in ms.

// A benchmark stops at the first thing it did not expect; that is how it reports.
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use forloeb_gateway::auth::{Actor, Principal};
use forloeb_gateway::config::{Secret, Settings};
use forloeb_gateway::db::{run_migrations, Db};
use forloeb_gateway::domain::{Cpr, RegionCode, Ydernummer};
use forloeb_gateway::service::{Call, Caller, GraphqlService};
use std::time::Instant;

/// A named operation from schema/operations, or an inline document (starting with `{`).
fn operation(name: &str) -> String {
    if name.starts_with('{') {
        return name.to_string();
    }
    let path = format!(
        "{}/schema/operations/{name}.graphql",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// What refusing a bomb costs: text checks, parsing and the limit walk, in microseconds.
fn limit_checks(settings: &Settings) {
    use forloeb_gateway::access::limits;
    let spreads = format!(
        "{{ regions {{ {} }} }} fragment F on Region {{ code }}",
        vec!["...F"; 60].join(" ")
    );
    let aliases = format!(
        "{{ {} }}",
        (0..40)
            .map(|i| format!("a{i}: apiVersion"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut deep = String::from("code");
    for _ in 0..15 {
        deep = format!("clusters {{ region {{ {deep} }} }}");
    }
    let deep = format!("{{ regions {{ {deep} }} }}");
    let cycle = "{ regions { ...A } } fragment A on Region { clusters { region { ...B } } } fragment B on Region { ...A }".to_string();
    let tokens = format!("{{ {} }}", vec!["a"; 2100].join(" "));
    let normal = operation("RegionalDashboard");
    let variables = async_graphql::Variables::default();
    println!(
        "\n{:<26} {:>10} {:>10}   (check_text + parse + check_operation, 2,000 runs)",
        "document", "p50 µs", "p99 µs"
    );
    for (name, doc) in [
        ("normal: RegionalDashboard", &normal),
        ("60 fragment spreads", &spreads),
        ("40 aliases", &aliases),
        ("depth 31", &deep),
        ("fragment cycle", &cycle),
        ("2,100 tokens", &tokens),
    ] {
        let mut times = Vec::with_capacity(2000);
        for _ in 0..2000 {
            let started = Instant::now();
            let verdict = limits::check_text(&settings.limits, doc).and_then(|()| {
                match async_graphql::parser::parse_query(doc) {
                    Ok(parsed) => match parsed.operations.iter().next() {
                        Some((_, op)) => {
                            limits::check_operation(&settings.limits, &parsed, &op.node, &variables)
                        }
                        None => Ok(()),
                    },
                    Err(_) => Ok(()),
                }
            });
            times.push(started.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(verdict).ok();
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{name:<26} {:>10.1} {:>10.1}",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let url = args.first().cloned().unwrap_or_else(|| {
        eprintln!("usage: cargo bench --bench queries -- DATABASE_URL [RUNS]");
        std::process::exit(2)
    });
    let runs: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(200);
    let mut settings = Settings::load_from(None, Vec::new()).expect("settings");
    limit_checks(&settings);
    settings.database.url = Secret::new(url);
    // The bench asks the same controlled cells hundreds of times a run: it measures latency,
    // and the daily cell budget (which would refuse the ad-hoc questions after the first
    // rounds) is not what it measures. The question log is still written for new cells.
    settings.access.cell_budget = forloeb_gateway::config::RoleAmounts {
        clinician: u64::MAX,
        region: u64::MAX,
        ministry: u64::MAX,
    };
    let db = Db::connect(&settings.database).expect("database");
    run_migrations(&mut db.get().expect("connection")).expect("migrations");
    let env = forloeb_gateway::app::service(&settings, db.clone()).expect("service");

    // Sample callers from the data: a patient with plans, their clinic, its cluster and region.
    let (cpr, clinic, cluster, region) = {
        use diesel::prelude::*;
        use forloeb_gateway::db::tables::{clinics, plan_versions};
        let mut conn = db.get().expect("connection");
        let (cpr, y): (String, String) = plan_versions::table
            .filter(plan_versions::version.eq(3))
            .order(plan_versions::plan_id)
            .select((plan_versions::cpr, plan_versions::ydernummer))
            .first(&mut *conn)
            .expect("a patient with a third plan version");
        let (cluster, region): (Option<String>, String) = clinics::table
            .filter(clinics::ydernummer.eq(&y))
            .select((clinics::cluster_id, clinics::region_code))
            .first(&mut *conn)
            .expect("clinic");
        (cpr, y, cluster.unwrap_or_default(), region)
    };
    let patient = Principal::new("bench", Actor::Patient(Cpr::parse(&cpr).expect("cpr")));
    let clinician = Principal::new(
        "bench",
        Actor::Clinician(Ydernummer::parse(&clinic).expect("y")),
    );
    let regional = Principal::new(
        "bench",
        Actor::Region(RegionCode::parse(&region).expect("region")),
    );
    let ministry = Principal::new("bench", Actor::Ministry);
    let as_of = "2022-12-31";
    let weekly = format!("{{ rollout(asOf: \"{as_of}\", region: \"{region}\") {{ weekly {{ week newPlans maintainedPlans }} }} }}");
    let ok22 = format!("{{ rollout(asOf: \"{as_of}\", region: \"{region}\") {{ ok22 {{ met share distribution {{ bucket clinics }} }} }} }}");
    let inactive = format!("{{ rollout(asOf: \"{as_of}\", region: \"{region}\") {{ inactiveClinics {{ count clinics {{ ydernummer name }} }} }} }}");
    let cases: Vec<(&str, Principal, serde_json::Value)> = vec![
        ("MyPlans", patient, serde_json::json!({})),
        (weekly.as_str(), regional.clone(), serde_json::json!({})),
        (ok22.as_str(), regional.clone(), serde_json::json!({})),
        (inactive.as_str(), regional.clone(), serde_json::json!({})),
        (
            "RegionalDashboard",
            regional.clone(),
            serde_json::json!({"region": region, "asOf": as_of}),
        ),
        (
            "ClusterView",
            clinician.clone(),
            serde_json::json!({"id": cluster, "asOf": as_of}),
        ),
        (
            "PlansByRegionTypeMonth",
            ministry.clone(),
            serde_json::json!({"from": "2022-01-01", "to": "2022-12-31"}),
        ),
        (
            "QuietClinics",
            ministry,
            serde_json::json!({"region": region, "from": "2022-01-01", "to": "2022-12-31"}),
        ),
        (
            "ClinicPatients",
            clinician,
            serde_json::json!({"ydernummer": clinic, "first": 50}),
        ),
    ];
    println!(
        "{:<26} {:>6} {:>9} {:>9} {:>9} {:>9}   ({} backend, {runs} runs after 5 warm-up)",
        "operation",
        "runs",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        format!("{:?}", db.backend()).to_lowercase()
    );
    actix_web::rt::System::new().block_on(async {
        for (name, principal, vars) in cases {
            let doc = operation(name);
            let mut times = Vec::with_capacity(runs);
            for i in 0..runs + 5 {
                let ms = run_once(&env, &principal, &doc, &vars).await;
                if i >= 5 {
                    times.push(ms);
                }
            }
            times.sort_by(|a, b| a.total_cmp(b));
            let label = match name {
                n if n.contains("weekly") => "weekly (region)",
                n if n.contains("ok22") => "OK22 distribution (region)",
                n if n.contains("inactiveClinics") => "inactive clinics (region)",
                n => n,
            };
            println!(
                "{label:<26} {runs:>6} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                percentile(&times, 0.5),
                percentile(&times, 0.9),
                percentile(&times, 0.99),
                times[times.len() - 1]
            );
        }
        disclosure_cost(&env, &clinic, &cluster, &region, runs).await;
    });
}

/// One request through the gateway's GraphQL service; ms.
async fn run_once(
    env: &GraphqlService,
    principal: &Principal,
    doc: &str,
    vars: &serde_json::Value,
) -> f64 {
    let caller = Caller {
        principal: Some(principal.clone()),
        request_id: "bench".to_string(),
        client_request_id: None,
    };
    let call = Call {
        query: Some(doc.to_string()),
        variables: vars.as_object().cloned(),
        ..Call::default()
    };
    let started = Instant::now();
    let answer = env.execute(&caller, call).await.expect("answer");
    let errors = &answer.response.errors;
    assert!(errors.is_empty(), "{doc}: {errors:?}");
    started.elapsed().as_secs_f64() * 1000.0
}

/// What disclosure control costs: each query answered with controlled person counts against
/// the same query answered without them, in alternating rounds (median of the rounds' p50s).
/// Where a viewer gets exact counts (a clinic's own clinicians) that is the baseline; the
/// rollout's app users and the ad-hoc patients have no exact viewer, so their baseline is the
/// same query without the person counts, an upper bound on what the cell keys cost.
async fn disclosure_cost(
    env: &GraphqlService,
    clinic: &str,
    cluster: &str,
    region: &str,
    runs: usize,
) {
    let own = Principal::new(
        "bench",
        Actor::Clinician(Ydernummer::parse(clinic).expect("y")),
    );
    let regional = Principal::new(
        "bench",
        Actor::Region(RegionCode::parse(region).expect("region")),
    );
    let ministry = Principal::new("bench", Actor::Ministry);
    let population = format!(
        "{{ clinic(ydernummer: \"{clinic}\") {{ population(asOf: \"2022-12-31\") {{ diagnosed {{ value }} \
         withPlan {{ value }} withoutPlan {{ value }} byAgeBand {{ count {{ value }} }} bySex {{ count {{ value }} }} }} }} }}"
    );
    let view = |counts: bool| {
        format!(
            "{{ cluster(id: \"{cluster}\") {{ view(asOf: \"2022-12-31\") {{ clinics {{ newPlans12m {} }} }} }} }}",
            if counts { "coverage { diagnosed { value } withPlan { value } withoutPlan { value } }" } else { "" }
        )
    };
    let users = |counts: bool| {
        format!(
            "{{ rollout(asOf: \"2022-12-31\", region: \"{region}\") {{ openClinics yearToDate {{ plans }} {} }} }}",
            if counts { "appUsers { withPlan { value } active { value } }" } else { "" }
        )
    };
    let activity = |counts: bool| {
        format!(
            "{{ planActivity(from: \"2022-01-01\", to: \"2022-12-31\", groupBy: [REGION, TYPE, MONTH], limit: 1000) \
             {{ rows {{ plans newPlans {} }} }} }}",
            if counts { "patients { value }" } else { "" }
        )
    };
    type Asked = (Principal, String);
    let pairs: Vec<(&str, Asked, Asked)> = vec![
        (
            "clinic population",
            (regional.clone(), population.clone()),
            (own.clone(), population),
        ),
        (
            "cluster view coverage",
            (regional.clone(), view(true)),
            (own, view(true)),
        ),
        (
            "app users (region)",
            (regional.clone(), users(true)),
            (regional, users(false)),
        ),
        (
            "planActivity patients",
            (ministry.clone(), activity(true)),
            (ministry, activity(false)),
        ),
    ];
    let none = serde_json::json!({});
    println!(
        "\n{:<24} {:>12} {:>12} {:>8}   (p50 ms, median of 5 alternating rounds of {} runs)",
        "disclosure control",
        "controlled",
        "baseline",
        "ratio",
        runs / 5
    );
    for (label, (pc, qc), (pb, qb)) in pairs {
        let (mut controlled, mut baseline) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            for (p, q, out) in [(&pc, &qc, &mut controlled), (&pb, &qb, &mut baseline)] {
                let mut t: Vec<f64> = Vec::new();
                for _ in 0..(runs / 5).max(3) {
                    t.push(run_once(env, p, q, &none).await);
                }
                t.sort_by(|a, b| a.total_cmp(b));
                out.push(percentile(&t, 0.5));
            }
        }
        controlled.sort_by(|a, b| a.total_cmp(b));
        baseline.sort_by(|a, b| a.total_cmp(b));
        let (c, b) = (percentile(&controlled, 0.5), percentile(&baseline, 0.5));
        println!("{label:<24} {c:>12.3} {b:>12.3} {:>8.2}", c / b);
    }
}
