//! What the hardening costs, over real HTTP against the release binary:
//!
//! 1. a patient's own plans (`MyPlans`) from many phones: throughput and p99 on a gateway with
//!    limits, rate limits and trusted documents on (the shipped defaults, the app sending the
//!    document id) against one with them off (no rate limits, the text sent ad hoc, limits
//!    set out of reach), in alternating runs;
//! 2. the same normal traffic alone and beside a flood of query bombs from one client: the
//!    normal traffic's p99 in both, in alternating runs;
//! 3. the same normal traffic with a regional dashboard every second, alone and beside an
//!    adversary holding a ministry token who sends, as fast as admitted, the most expensive
//!    documents the limits still admit (aliased three-year breakdowns by every dimension,
//!    every cluster's view, every clinic's population): the patients' p99 in both, and no
//!    5xx or 408 for the patients or the dashboard.
//!
//!     cargo bench --bench hardening -- DATABASE_URL [SECONDS] [RUNS] [SECTIONS]
//!
//! Load the database first, e.g. `forloeb demo --no-serve --clinics 1693 --database nat.db`.
//! Client and server share the machine, so the figures are medians over RUNS (default 5)
//! phases of SECONDS (default 5) each, with the ratio taken within each pair of phases.
//! SECTIONS (default 123) names the comparisons to run, e.g. 3 for the adversary alone.

// A benchmark stops at the first thing it did not expect; that is how it reports.
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

use forloeb_gateway::auth::{Actor, Authenticator, Principal};
use forloeb_gateway::config::{Secret, Settings};
use forloeb_gateway::db::Db;
use forloeb_gateway::domain::{Cpr, Ydernummer};
use forloeb_gateway::trusted::document_id;
#[path = "support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{bombs, median, percentile, post, start, Gateway};

/// Threads that play phones.
const CLIENTS: usize = 6;
/// Threads that send bombs, all as one client.
const FLOODERS: usize = 2;
/// Patients' requests a second in the adversary comparison: a busy hour of the Min Læge App
/// (about 165,000 patients with plans) is well below it.
const STEADY_RATE: f64 = 300.0;

/// One phone: its token, its address and what it sends.
#[derive(Clone)]
struct Phone {
    token: String,
    address: String,
    body: String,
}

struct Phase {
    requests: usize,
    refused: usize,
    p50_ms: f64,
    p99_ms: f64,
    per_second: f64,
    flood: Vec<(u16, usize)>,
    /// Dashboard answers other than 200.
    dashboard_failures: usize,
}

fn phase(gw: &Gateway, phones: &[Phone], seconds: f64, bombs: Option<(&str, &[String])>) -> Phase {
    phase_with(gw, phones, seconds, bombs, None, None)
}

/// As `phase`, with a dashboard (token, request) asked once a second beside the phones, and
/// the phones at a steady `rate` (requests a second in all) instead of as fast as they can.
fn phase_with(
    gw: &Gateway,
    phones: &[Phone],
    seconds: f64,
    bombs: Option<(&str, &[String])>,
    dashboard: Option<(&str, &str)>,
    rate: Option<f64>,
) -> Phase {
    let url = format!("{}/graphql", gw.base);
    let stop = Arc::new(AtomicBool::new(false));
    let board = dashboard.map(|(token, body)| {
        let (url, stop, token, body) = (
            url.clone(),
            stop.clone(),
            token.to_string(),
            body.to_string(),
        );
        std::thread::spawn(move || {
            let agent = ureq::AgentBuilder::new().build();
            let mut statuses = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                statuses.push(post(&agent, &url, &token, "203.0.113.5", &body));
                std::thread::sleep(Duration::from_secs(1).saturating_sub(t.elapsed()));
            }
            statuses
        })
    });
    let flooders: Vec<_> = bombs
        .map(|(token, docs)| {
            (0..FLOODERS)
                .map(|_| {
                    let (url, stop, token) = (url.clone(), stop.clone(), token.to_string());
                    let docs = docs.to_vec();
                    std::thread::spawn(move || {
                        let agent = ureq::AgentBuilder::new().build();
                        let mut counts = std::collections::BTreeMap::<u16, usize>::new();
                        let mut i = 0;
                        while !stop.load(Ordering::Relaxed) {
                            let s =
                                post(&agent, &url, &token, "198.51.100.66", &docs[i % docs.len()]);
                            *counts.entry(s).or_default() += 1;
                            i += 1;
                        }
                        counts
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (url, stop) = (url.clone(), stop.clone());
            let mine: Vec<Phone> = phones.iter().skip(c).step_by(CLIENTS).cloned().collect();
            let every = rate.map(|r| Duration::from_secs_f64(CLIENTS as f64 / r));
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().build();
                let (mut times, mut refused) = (Vec::new(), 0usize);
                let mut i = 0;
                let mut next = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    if let Some(every) = every {
                        std::thread::sleep(next.saturating_duration_since(Instant::now()));
                        next += every;
                    }
                    let p = &mine[i % mine.len()];
                    let t = Instant::now();
                    if post(&agent, &url, &p.token, &p.address, &p.body) != 200 {
                        refused += 1;
                    }
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                    i += 1;
                }
                (times, refused)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let (mut times, mut refused) = (Vec::new(), 0);
    for c in clients {
        let (t, r) = c.join().expect("client");
        times.extend(t);
        refused += r;
    }
    let dashboard_failures = board
        .map(|b| b.join().expect("dashboard"))
        .unwrap_or_default()
        .into_iter()
        .filter(|s| *s != 200)
        .count();
    let mut flood = std::collections::BTreeMap::<u16, usize>::new();
    for f in flooders {
        for (s, n) in f.join().expect("flooder") {
            *flood.entry(s).or_default() += n;
        }
    }
    times.sort_by(f64::total_cmp);
    Phase {
        requests: times.len(),
        refused,
        p50_ms: percentile(&times, 0.5),
        p99_ms: percentile(&times, 0.99),
        per_second: times.len() as f64 / elapsed,
        flood: flood.into_iter().collect(),
        dashboard_failures,
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(url) = args.first().cloned() else {
        eprintln!(
            "usage: cargo bench --bench hardening -- DATABASE_URL [SECONDS] [RUNS] [SECTIONS]"
        );
        std::process::exit(2)
    };
    let seconds: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let runs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let sections = args.get(3).cloned().unwrap_or_else(|| "123".into());
    let mut settings = Settings::load_from(None, Vec::new()).expect("settings");
    settings.database.url = Secret::new(url.clone());

    // Phones: patients with plans, each with a token, an address and the app's request.
    let (cprs, clinic): (Vec<String>, String) = {
        use diesel::prelude::*;
        use forloeb_gateway::db::tables::plan_versions;
        let db = Db::connect(&settings.database).expect("database");
        let mut conn = db.get().expect("connection");
        let cprs: Vec<String> = plan_versions::table
            .select(plan_versions::cpr)
            .distinct()
            .limit(6000)
            .load(&mut *conn)
            .expect("patients with plans");
        let clinic: String = plan_versions::table
            .select(plan_versions::ydernummer)
            .first(&mut *conn)
            .expect("a clinic");
        (cprs, clinic)
    };
    assert!(
        !cprs.is_empty(),
        "the database holds no plans; load it first"
    );
    let manifest = forloeb_gateway::trusted::Manifest::builtin();
    let text = manifest.by_name("MyPlans").expect("MyPlans").text;
    let mint = |sub: String, actor: Actor| {
        Authenticator::mint(
            &settings.auth,
            &Principal::new(sub, actor),
            Duration::from_secs(3600),
        )
        .expect("mint")
    };
    let phones = |body: &str| -> Vec<Phone> {
        cprs.iter()
            .enumerate()
            .map(|(i, cpr)| Phone {
                token: mint(
                    format!("phone-{i}"),
                    Actor::Patient(Cpr::parse(cpr).expect("cpr")),
                ),
                address: format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256),
                body: body.to_string(),
            })
            .collect()
    };
    let by_text = phones(&serde_json::json!({ "query": text }).to_string());
    let by_id = phones(&serde_json::json!({ "documentId": document_id(text) }).to_string());
    let clinician = mint(
        "flooder".into(),
        Actor::Clinician(Ydernummer::parse(&clinic).expect("ydernummer")),
    );
    let bombs = bombs();

    let big = "1000000";
    let plain = start(
        &url,
        &[
            ("FORLOEB_RATE_LIMIT_ENABLED", "false"),
            (
                "FORLOEB_DOCUMENTS_AD_HOC_ROLES",
                r#"["patient","clinician","region","ministry","supplier"]"#,
            ),
            ("FORLOEB_LIMITS_DOCUMENT_BYTES", big),
            ("FORLOEB_LIMITS_TOKENS", big),
            ("FORLOEB_LIMITS_DEPTH", big),
            ("FORLOEB_LIMITS_COMPLEXITY", big),
            ("FORLOEB_LIMITS_ALIASES", big),
            ("FORLOEB_LIMITS_ROOT_FIELDS", big),
            ("FORLOEB_LIMITS_DIRECTIVES", big),
            ("FORLOEB_LIMITS_FRAGMENT_SPREADS", big),
        ],
    );
    let hardened = start(
        &url,
        &[("FORLOEB_RATE_LIMIT_TRUSTED_PROXIES", r#"["127.0.0.1"]"#)],
    );
    // Warm both (first requests build the rollout snapshot and fill caches).
    phase(&plain, &by_text, 1.0, None);
    phase(&hardened, &by_id, 1.0, None);
    println!(
        "\n{CLIENTS} phone threads, {} patients, {seconds} s phases, {runs} runs\n",
        by_id.len()
    );
    if sections.contains('1') {
        section_1(&plain, &hardened, &by_text, &by_id, seconds, runs);
    }
    drop(plain);
    if sections.contains('2') {
        section_2(&hardened, &by_id, &clinician, &bombs, seconds, runs);
    }
    if sections.contains('3') {
        section_3(&hardened, &by_id, &mint, &manifest, seconds, runs);
    }
}

/// 1. MyPlans with hardening off and on.
fn section_1(
    plain: &Gateway,
    hardened: &Gateway,
    by_text: &[Phone],
    by_id: &[Phone],
    seconds: f64,
    runs: usize,
) {
    println!(
        "1. MyPlans: hardening off (text, no rate limits) vs on (document id, limits, rate limits)"
    );
    println!(
        "{:<5} {:>12} {:>10} {:>12} {:>10} {:>9}",
        "run", "off req/s", "off p99", "on req/s", "on p99", "on/off"
    );
    let (mut ratios, mut off_rps, mut on_rps, mut off_p99, mut on_p99) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs {
        let off = phase(plain, by_text, seconds, None);
        let on = phase(hardened, by_id, seconds, None);
        assert_eq!(off.refused + on.refused, 0, "normal requests were refused");
        let ratio = on.per_second / off.per_second;
        println!(
            "{run:<5} {:>12.0} {:>8.2}ms {:>12.0} {:>8.2}ms {:>9.3}",
            off.per_second, off.p99_ms, on.per_second, on.p99_ms, ratio
        );
        ratios.push(ratio);
        off_rps.push(off.per_second);
        on_rps.push(on.per_second);
        off_p99.push(off.p99_ms);
        on_p99.push(on.p99_ms);
    }
    println!(
        "median {:>11.0} {:>8.2}ms {:>12.0} {:>8.2}ms {:>9.3}   (target: on/off ≥ 0.90)",
        median(off_rps),
        median(off_p99),
        median(on_rps),
        median(on_p99),
        median(ratios)
    );
}

/// 2. MyPlans quiet and beside a flood of bombs.
fn section_2(
    hardened: &Gateway,
    by_id: &[Phone],
    clinician: &str,
    bombs: &[String],
    seconds: f64,
    runs: usize,
) {
    println!("\n2. MyPlans on the hardened gateway, quiet vs beside {FLOODERS} threads of bombs from one client");
    println!(
        "{:<5} {:>10} {:>10} {:>10} {:>10} {:>8}   flood answers (status: count)",
        "run", "quiet p50", "quiet p99", "flood p50", "flood p99", "ratio"
    );
    let mut p99_ratios = Vec::new();
    let (mut quiet_p99s, mut flood_p99s) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let quiet = phase(hardened, by_id, seconds, None);
        let flood = phase(hardened, by_id, seconds, Some((clinician, bombs)));
        assert_eq!(
            quiet.refused + flood.refused,
            0,
            "normal requests were refused"
        );
        let ratio = flood.p99_ms / quiet.p99_ms;
        println!(
            "{run:<5} {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>8.2}   {:?} ({} normal)",
            quiet.p50_ms,
            quiet.p99_ms,
            flood.p50_ms,
            flood.p99_ms,
            ratio,
            flood.flood,
            flood.requests
        );
        p99_ratios.push(ratio);
        quiet_p99s.push(quiet.p99_ms);
        flood_p99s.push(flood.p99_ms);
    }
    println!(
        "median {:>19.2}ms {:>19.2}ms {:>8.2}   (target: flood p99 / quiet p99 ≤ 2)",
        median(quiet_p99s),
        median(flood_p99s),
        median(p99_ratios)
    );
}

/// 3. MyPlans and a regional dashboard, quiet and beside a ministry adversary.
fn section_3(
    hardened: &Gateway,
    by_id: &[Phone],
    mint: &dyn Fn(String, Actor) -> String,
    manifest: &forloeb_gateway::trusted::Manifest,
    seconds: f64,
    runs: usize,
) {
    // 3. An adversary with a ministry token and the costliest documents the limits admit.
    let ministry = mint("adversary".into(), Actor::Ministry);
    let regional = mint(
        "dashboard".into(),
        Actor::Region(forloeb_gateway::domain::RegionCode::parse("1084").expect("region")),
    );
    let dashboard_text = manifest
        .by_name("RegionalDashboard")
        .expect("RegionalDashboard")
        .text;
    let dashboard = serde_json::json!({
        "documentId": document_id(dashboard_text),
        "variables": { "region": "1084", "asOf": "2022-11-15" },
    })
    .to_string();
    let breakdowns = (0..12)
        .map(|i| format!("a{i}: planActivity(from: \"2020-01-01\", to: \"2022-12-30\", groupBy: [REGION, CLUSTER, CLINIC, TYPE, SOURCE, WEEK, MONTH, YEAR], limit: 1) {{ total {{ plans }} }}"))
        .collect::<Vec<_>>()
        .join(" ");
    let costly: Vec<String> = [
        format!("{{ {breakdowns} }}"),
        "{ clusters { view(asOf: \"2022-12-31\") { clinics { coverage { diagnosed { value } withPlan { value } } } } } }".to_string(),
        "{ clinics { population(asOf: \"2022-12-31\") { diagnosed { value } } } }".to_string(),
    ]
    .iter()
    .map(|d| serde_json::json!({ "query": d }).to_string())
    .collect();
    println!(
        "\n3. MyPlans at {STEADY_RATE} a second and a regional dashboard each second, quiet vs \
         beside a ministry adversary ({FLOODERS} threads of the costliest admitted documents)"
    );
    println!(
        "{:<5} {:>10} {:>10} {:>10} {:>10} {:>8}   adversary answers (status: count)",
        "run", "quiet p50", "quiet p99", "adv. p50", "adv. p99", "ratio"
    );
    let (mut ratios3, mut quiet3, mut adv3) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs {
        let quiet = phase_with(
            hardened,
            by_id,
            seconds,
            None,
            Some((&regional, &dashboard)),
            Some(STEADY_RATE),
        );
        let adv = phase_with(
            hardened,
            by_id,
            seconds,
            Some((&ministry, &costly)),
            Some((&regional, &dashboard)),
            Some(STEADY_RATE),
        );
        assert_eq!(quiet.refused + adv.refused, 0, "patients were refused");
        assert_eq!(
            quiet.dashboard_failures + adv.dashboard_failures,
            0,
            "the dashboard failed"
        );
        let ratio = adv.p99_ms / quiet.p99_ms;
        println!(
            "{run:<5} {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>8.2}ms {:>8.2}   {:?}",
            quiet.p50_ms, quiet.p99_ms, adv.p50_ms, adv.p99_ms, ratio, adv.flood
        );
        ratios3.push(ratio);
        quiet3.push(quiet.p99_ms);
        adv3.push(adv.p99_ms);
    }
    println!(
        "median {:>19.2}ms {:>19.2}ms {:>8.2}   (target: adversary p99 / quiet p99 ≤ 2, no 5xx or 408 for patients)",
        median(quiet3),
        median(adv3),
        median(ratios3)
    );
}
