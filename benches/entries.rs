//! The patient's writes and what they cost the app's main read (issue 19), over real HTTP on a
//! copy of the given database (national demo data), with the release gateway:
//!
//! 1. Writes: 6 clients each add home measurements (`AddHomeMeasurement` by trusted document
//!    id, a fresh UUID each) on the active plans of patients of their own, for SECONDS:
//!    requests/s and p50/p99, every answer checked (200, the entry in `data`, no errors).
//! 2. Reads: `MyPlans` of two patients A and B with one active plan each, alternating one
//!    request of each for ROUNDS rounds of 200 (medians of each round's p50 and p99): first
//!    before A has entries (how much their plans alone differ), then with 20 entries on A's
//!    plan. The entries' own cost is A/B with them over A/B without.
//!
//! Rate limits are off (the load comes from one process); everything else is the shipped
//! defaults.
//!
//!     cargo bench --bench entries -- DATABASE [SECONDS] [ROUNDS]
//!
//! DATABASE: a SQLite file (copied first, so the writes do not stay in it) or a postgres:// URL
//! (written to). `benches/entries.sh` loads the national demo when the file is missing.

// A benchmark stops at the first thing it did not expect; that is how it reports.
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

#[path = "support/mod.rs"]
mod support;

use forloeb_gateway::auth::{Actor, Authenticator, Principal};
use forloeb_gateway::config::{Secret, Settings};
use forloeb_gateway::db::Db;
use forloeb_gateway::domain::{Cpr, Timestamp};
use forloeb_gateway::trusted::{document_id, Manifest};
use serde_json::json;
use std::time::{Duration, Instant};
use support::{median, percentile, post_answer, start};

const CLIENTS: usize = 6;
const PATIENTS_PER_CLIENT: usize = 50;
const READS_PER_ROUND: usize = 200;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(given) = args.first().cloned() else {
        eprintln!("usage: cargo bench --bench entries -- DATABASE [SECONDS] [ROUNDS]");
        std::process::exit(2)
    };
    let seconds: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20.0);
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);

    // A copy of a SQLite file, so the writes do not stay in the caller's database.
    let copy = tempfile::tempdir().expect("temp dir");
    let url = if given.starts_with("postgres://") || given.starts_with("postgresql://") {
        given.clone()
    } else {
        let to = copy.path().join("entries.db");
        eprintln!("copying {given} (the writes go to the copy)");
        std::fs::copy(&given, &to).expect("copy the database");
        to.display().to_string()
    };
    let mut settings = Settings::load_from(None, Vec::new()).expect("settings");
    settings.database.url = Secret::new(url.clone());

    // Patients with exactly one plan, whose current version is active: (cpr, plan id).
    let writers: Vec<(String, String)> = {
        use diesel::prelude::*;
        use forloeb_gateway::db::tables::plan_versions;
        let db = Db::connect(&settings.database).expect("database");
        let mut conn = db.get().expect("connection");
        let rows: Vec<(String, String, String, i32, String)> = plan_versions::table
            .select((
                plan_versions::cpr,
                plan_versions::source,
                plan_versions::plan_id,
                plan_versions::version,
                plan_versions::status,
            ))
            .order((
                plan_versions::cpr,
                plan_versions::plan_id,
                plan_versions::version,
            ))
            .limit(200_000)
            .load(&mut *conn)
            .expect("plans");
        let mut by_person: std::collections::BTreeMap<String, Vec<(String, String)>> =
            Default::default();
        for (cpr, source, plan_id, _, status) in rows {
            let plans = by_person.entry(cpr).or_default();
            let id = format!("{source}:{plan_id}");
            // Versions come in order: the last status of a plan is its current one.
            match plans.iter_mut().find(|(p, _)| *p == id) {
                Some(p) => p.1 = status,
                None => plans.push((id, status)),
            }
        }
        by_person
            .into_iter()
            .filter(|(_, plans)| plans.len() == 1 && plans[0].1 == "active")
            .map(|(cpr, plans)| (cpr, plans[0].0.clone()))
            .take(CLIENTS * PATIENTS_PER_CLIENT + 2)
            .collect()
    };
    assert!(
        writers.len() == CLIENTS * PATIENTS_PER_CLIENT + 2,
        "the database has too few patients with one active plan: load the national demo"
    );
    let manifest = Manifest::builtin();
    let body = |name: &str, variables: serde_json::Value| {
        let text = manifest.by_name(name).expect("operation").text;
        json!({ "documentId": document_id(text), "variables": variables }).to_string()
    };
    let mint = |i: usize, cpr: &str| {
        Authenticator::mint(
            &settings.auth,
            &Principal::new(
                format!("patient-{i}"),
                Actor::Patient(Cpr::parse(cpr).expect("cpr")),
            ),
            Duration::from_secs(4 * 3600),
        )
        .expect("mint")
    };
    let tokens: Vec<String> = writers
        .iter()
        .enumerate()
        .map(|(i, (cpr, _))| mint(i, cpr))
        .collect();
    let today = Timestamp::now().local_date().to_string();
    let add = document_id(
        manifest
            .by_name("AddHomeMeasurement")
            .expect("operation")
            .text,
    );

    let gw = start(&url, &[("FORLOEB_RATE_LIMIT_ENABLED", "false")]);
    let endpoint = format!("{}/graphql", gw.base);
    // Warm: the first request waits for the snapshot the gateway builds at start.
    let (last_cpr_index, (_, reader_plan)) = (writers.len() - 2, &writers[writers.len() - 2]);
    let warm = post_answer(
        &agent(),
        &endpoint,
        &tokens[last_cpr_index],
        "127.0.0.1",
        &body("MyPlans", json!({})),
    );
    assert!(ok(warm.0, &warm.1), "MyPlans: {warm:?}");

    // 1. Writes from 6 clients.
    eprintln!("writes: {CLIENTS} clients for {seconds} s");
    let begun = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let endpoint = endpoint.clone();
            let mine: Vec<(String, String)> = (0..PATIENTS_PER_CLIENT)
                .map(|k| {
                    let i = c * PATIENTS_PER_CLIENT + k;
                    (tokens[i].clone(), writers[i].1.clone())
                })
                .collect();
            let (add, today) = (add.clone(), today.clone());
            std::thread::spawn(move || {
                let agent = agent();
                let mut ms = Vec::new();
                let mut n = 0;
                while begun.elapsed().as_secs_f64() < seconds {
                    let (token, plan) = &mine[n % mine.len()];
                    let sent = Instant::now();
                    let (status, answer) = post_answer(
                        &agent,
                        &endpoint,
                        token,
                        "127.0.0.1",
                        &measurement(&add, plan, n, &today),
                    );
                    assert!(
                        ok(status, &answer) && answer.contains("HOME_MEASUREMENT"),
                        "{status} {answer}"
                    );
                    ms.push(sent.elapsed().as_secs_f64() * 1000.0);
                    n += 1;
                }
                ms
            })
        })
        .collect();
    let mut writes: Vec<f64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("client"))
        .collect();
    let elapsed = begun.elapsed().as_secs_f64();
    writes.sort_by(f64::total_cmp);

    // 2. MyPlans of two patients, alternating: before the first has entries (how much their
    // plans alone differ), then with 20 entries on the first.
    let with = writers.len() - 2;
    let without = writers.len() - 1;
    let reader = agent();
    let my_plans = body("MyPlans", json!({}));
    let read = |who: usize| {
        let sent = Instant::now();
        let (status, answer) =
            post_answer(&reader, &endpoint, &tokens[who], "127.0.0.1", &my_plans);
        assert!(ok(status, &answer), "{answer}");
        (
            sent.elapsed().as_secs_f64() * 1000.0,
            answer.matches(r#""kind":"#).count(),
        )
    };
    let alternate = |rounds: usize| -> [(f64, f64); 2] {
        let mut p50s = [Vec::new(), Vec::new()];
        let mut p99s = [Vec::new(), Vec::new()];
        for round in 0..rounds {
            let mut ms = [Vec::new(), Vec::new()];
            // Alternate which goes first, so neither always follows the other.
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for _ in 0..READS_PER_ROUND {
                for k in order {
                    ms[k].push(read([with, without][k]).0);
                }
            }
            for k in 0..2 {
                ms[k].sort_by(f64::total_cmp);
                p50s[k].push(percentile(&ms[k], 0.5));
                p99s[k].push(percentile(&ms[k], 0.99));
            }
        }
        let [a50, b50] = p50s.map(median);
        let [a99, b99] = p99s.map(median);
        [(a50, a99), (b50, b99)]
    };
    assert_eq!(read(with).1, 0, "the first reader has no entries yet");
    let before = alternate(rounds);
    for n in 0..20 {
        let (status, answer) = post_answer(
            &reader,
            &endpoint,
            &tokens[with],
            "127.0.0.1",
            &measurement(&add, reader_plan, n, &today),
        );
        assert!(ok(status, &answer), "{answer}");
    }
    assert_eq!(read(with).1, 20, "the first reader has 20 entries");
    assert_eq!(read(without).1, 0, "the second has none");
    let after = alternate(rounds);

    println!("| case | figure |");
    println!("|---|---|");
    println!(
        "| AddHomeMeasurement, {CLIENTS} clients, {elapsed:.0} s | {:.0} writes/s, p50 {:.1} ms, p99 {:.1} ms ({} writes) |",
        writes.len() as f64 / elapsed,
        percentile(&writes, 0.5),
        percentile(&writes, 0.99),
        writes.len()
    );
    let row = |what: &str, (p50, p99): (f64, f64)| {
        println!("| {what} | p50 {p50:.2} ms, p99 {p99:.2} ms |");
    };
    row("MyPlans A, no entries yet", before[0]);
    row("MyPlans B, no entries", before[1]);
    row("MyPlans A, 20 entries", after[0]);
    row("MyPlans B, no entries (same rounds)", after[1]);
    let ratio = |r: [(f64, f64); 2]| (r[0].0 / r[1].0, r[0].1 / r[1].1);
    let (b50, b99) = ratio(before);
    let (a50, a99) = ratio(after);
    println!("| A / B before A's entries | p50 ×{b50:.2}, p99 ×{b99:.2} |");
    println!("| A / B with A's 20 entries | p50 ×{a50:.2}, p99 ×{a99:.2} |");
    println!(
        "| the entries' own cost (after / before) | p50 ×{:.2}, p99 ×{:.2} |",
        a50 / b50,
        a99 / b99
    );
    println!("(medians over {rounds} rounds of {READS_PER_ROUND} alternating requests each)");
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

/// 200 with `data` and no errors.
fn ok(status: u16, answer: &str) -> bool {
    status == 200 && answer.starts_with(r#"{"data":{"#) && !answer.contains(r#""errors""#)
}

/// A home measurement on `plan`, with a fresh id.
fn measurement(document: &str, plan: &str, n: usize, today: &str) -> String {
    json!({ "documentId": document, "variables": { "id": uuid::Uuid::new_v4().to_string(),
        "plan": plan, "code": "BP_SYS", "value": 120 + n % 40, "measuredOn": today } })
    .to_string()
}
