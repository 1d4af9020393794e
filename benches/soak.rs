//! Soak: the gateway under a day's kind of traffic for minutes on end, with an attacker beside
//! it (issue 20).
//!
//! 1. Probe: the mixed traffic below, unpaced from 8 threads, for PROBE seconds: the most the
//!    machine answers (requests/s).
//! 2. Soak: the same mix paced at 80 % of that for MINUTES, open-loop (each request has its
//!    time; a late one is sent at once and its latency counted from when it was due), with two
//!    threads flooding query bombs from one address beside it.
//!
//! The mix is what the Min Læge App and the dashboards send, by trusted document id, each user
//! from an address of their own (the gateway trusts the load generator as its proxy): of every
//! 100 requests, 85 a patient's own plans (`MyPlans`, 6,000 patients), 8 a clinician's cluster
//! view, 5 a region's dashboard, 2 the ministry's national status. Rate limits, limits and
//! work admission are the shipped defaults.
//!
//! Reported per minute: requests, p50, p99, normal answers that were not 200 with data and no
//! errors, 5xx of anyone; the gateway's RSS and open file descriptors (from /proc), with their
//! slope over the soak after its first minute; and the bombs' statuses. It fails (exit 1) on
//! any 5xx, on any normal request not answered 200 without errors, or on a bomb answered
//! anything but 400 or 429.
//!
//!     cargo bench --bench soak -- DATABASE_URL [MINUTES] [PROBE_SECONDS]
//!
//! `benches/soak.sh` loads the national demo when the database is missing and runs it.

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
use forloeb_gateway::domain::{Cpr, RegionCode, Ydernummer};
use forloeb_gateway::trusted::{document_id, Manifest};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{bombs, percentile, post_answer, start, Gateway};

const THREADS: usize = 8;
const FLOODERS: usize = 2;
const AS_OF: &str = "2022-12-31";

/// One user's request: token, address, body.
struct Ask {
    token: String,
    address: String,
    body: String,
}

/// What one request came to.
struct Outcome {
    /// Seconds since the soak began, when it was due.
    at: f64,
    ms: f64,
    status: u16,
    /// 200 with `data` and no `errors`.
    clean: bool,
}

fn send(agent: &ureq::Agent, url: &str, ask: &Ask) -> (u16, bool) {
    let (status, body) = post_answer(agent, url, &ask.token, &ask.address, &ask.body);
    let clean = status == 200 && body.starts_with(r#"{"data":{"#) && !body.contains(r#""errors""#);
    (status, clean)
}

/// The mix, in order: every 100th request's place decides its kind.
fn pick(n: usize, kinds: &[Vec<Ask>; 4]) -> &Ask {
    let slot = n % 100;
    let kind = match slot {
        0..=84 => 0,
        85..=92 => 1,
        93..=97 => 2,
        _ => 3,
    };
    let users = &kinds[kind];
    // Walk the users with a stride, so consecutive requests of a kind are different users.
    &users[(n / 100 * 7919 + slot) % users.len()]
}

/// Sends the mix from THREADS threads until `until`, paced at `rate` requests/s (None:
/// as fast as answered).
fn traffic(
    gw: &Gateway,
    kinds: &Arc<[Vec<Ask>; 4]>,
    rate: Option<f64>,
    seconds: f64,
) -> Vec<Outcome> {
    let url = format!("{}/graphql", gw.base);
    let begun = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (url, kinds, next) = (url.clone(), kinds.clone(), next.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .build();
                let mut out = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let due = match rate {
                        Some(r) => n as f64 / r,
                        None => begun.elapsed().as_secs_f64(),
                    };
                    if due >= seconds {
                        break;
                    }
                    let now = begun.elapsed().as_secs_f64();
                    if due > now {
                        std::thread::sleep(Duration::from_secs_f64(due - now));
                    }
                    let (status, clean) = send(&agent, &url, pick(n, &kinds));
                    let ms = (begun.elapsed().as_secs_f64() - due) * 1000.0;
                    out.push(Outcome {
                        at: due,
                        ms,
                        status,
                        clean,
                    });
                }
                out
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().expect("traffic thread"))
        .collect()
}

/// The gateway's resident memory (kB) and open file descriptors.
fn footprint(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    (rss, fds)
}

/// Least-squares slope of (x, y), per unit of x.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let cov: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let var: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if var == 0.0 {
        0.0
    } else {
        cov / var
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(url) = args.first().cloned() else {
        eprintln!("usage: cargo bench --bench soak -- DATABASE_URL [MINUTES] [PROBE_SECONDS]");
        std::process::exit(2)
    };
    let minutes: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let probe: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20.0);
    let mut settings = Settings::load_from(None, Vec::new()).expect("settings");
    settings.database.url = Secret::new(url.clone());

    // Users of the database: patients with plans, clinicians of clinics in clusters, regions.
    let (cprs, clinics): (Vec<String>, Vec<(String, String, String)>) = {
        use diesel::prelude::*;
        use forloeb_gateway::db::tables::{clinics, plan_versions};
        let db = Db::connect(&settings.database).expect("database");
        let mut conn = db.get().expect("connection");
        let cprs = plan_versions::table
            .select(plan_versions::cpr)
            .distinct()
            .limit(6000)
            .load(&mut *conn)
            .expect("patients with plans");
        let clinics: Vec<(String, Option<String>, String)> = clinics::table
            .select((
                clinics::ydernummer,
                clinics::cluster_id,
                clinics::region_code,
            ))
            .filter(clinics::cluster_id.is_not_null())
            .limit(200)
            .load(&mut *conn)
            .expect("clinics");
        let clinics = clinics
            .into_iter()
            .filter_map(|(y, c, r)| Some((y, c?, r)))
            .collect();
        (cprs, clinics)
    };
    assert!(
        !cprs.is_empty() && !clinics.is_empty(),
        "load the database first"
    );
    let manifest = Manifest::builtin();
    let body = |name: &str, variables: serde_json::Value| {
        let text = manifest.by_name(name).expect("operation").text;
        json!({ "documentId": document_id(text), "variables": variables }).to_string()
    };
    let mint = |sub: String, actor: Actor| {
        Authenticator::mint(
            &settings.auth,
            &Principal::new(sub, actor),
            Duration::from_secs(4 * 3600),
        )
        .expect("mint")
    };
    let address = |kind: usize, i: usize| format!("10.{kind}.{}.{}", i / 256, i % 256);
    let patients: Vec<Ask> = cprs
        .iter()
        .enumerate()
        .map(|(i, cpr)| Ask {
            token: mint(
                format!("patient-{i}"),
                Actor::Patient(Cpr::parse(cpr).expect("cpr")),
            ),
            address: address(1, i),
            body: body("MyPlans", json!({})),
        })
        .collect();
    let clinicians: Vec<Ask> = clinics
        .iter()
        .enumerate()
        .map(|(i, (ydernummer, cluster, _))| Ask {
            token: mint(
                format!("clinician-{i}"),
                Actor::Clinician(Ydernummer::parse(ydernummer).expect("ydernummer")),
            ),
            address: address(2, i),
            body: body("ClusterView", json!({ "id": cluster, "asOf": AS_OF })),
        })
        .collect();
    let regions: Vec<Ask> = (0..50)
        .map(|i| {
            let region = &clinics[i % clinics.len()].2;
            Ask {
                token: mint(
                    format!("region-{i}"),
                    Actor::Region(RegionCode::parse(region).expect("region")),
                ),
                address: address(3, i),
                body: body(
                    "RegionalDashboard",
                    json!({ "region": region, "asOf": AS_OF }),
                ),
            }
        })
        .collect();
    let ministry: Vec<Ask> = (0..20)
        .map(|i| Ask {
            token: mint(format!("ministry-{i}"), Actor::Ministry),
            address: address(4, i),
            body: body("NationalStatus", json!({ "asOf": AS_OF })),
        })
        .collect();
    let kinds = Arc::new([patients, clinicians, regions, ministry]);
    let flooder = mint(
        "flooder".into(),
        Actor::Clinician(Ydernummer::parse(&clinics[0].0).expect("ydernummer")),
    );

    let gw = start(
        &url,
        &[
            ("FORLOEB_RATE_LIMIT_TRUSTED_PROXIES", r#"["127.0.0.1"]"#),
            ("FORLOEB_LOG_FORMAT", "json"),
        ],
    );
    let pid = gw.child.id();
    // Warm: every kind answered once (the first requests wait for the snapshot).
    let agent = ureq::Agent::new();
    for users in kinds.iter() {
        let deadline = Instant::now() + Duration::from_secs(180);
        while send(&agent, &format!("{}/graphql", gw.base), &users[0]) != (200, true) {
            assert!(
                Instant::now() < deadline,
                "{} never answered",
                users[0].body
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    let probed = traffic(&gw, &kinds, None, probe);
    let max_rate = probed.len() as f64 / probe;
    let rate = 0.8 * max_rate;
    println!(
        "probe: {max_rate:.0} requests/s unpaced from {THREADS} threads over {probe} s; soak at \
         80 %: {rate:.0}/s for {minutes} min, {FLOODERS} threads of bombs beside it"
    );

    // The flood and the sampler, beside the paced traffic.
    let stop = Arc::new(AtomicBool::new(false));
    let bomb_statuses = Arc::new(Mutex::new(BTreeMap::<u16, usize>::new()));
    let flood: Vec<_> = (0..FLOODERS)
        .map(|t| {
            let (stop, statuses) = (stop.clone(), bomb_statuses.clone());
            let (url, token) = (format!("{}/graphql", gw.base), flooder.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .build();
                let bombs = bombs();
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let ask = Ask {
                        token: token.clone(),
                        address: "192.0.2.66".into(),
                        body: bombs[i % bombs.len()].clone(),
                    };
                    let (status, _) = send(&agent, &url, &ask);
                    *statuses.lock().expect("lock").entry(status).or_default() += 1;
                    i += 1;
                }
            })
        })
        .collect();
    let samples = Arc::new(Mutex::new(Vec::<(f64, u64, u64)>::new()));
    let sampler = {
        let (stop, samples) = (stop.clone(), samples.clone());
        std::thread::spawn(move || {
            let begun = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let (rss, fds) = footprint(pid);
                samples
                    .lock()
                    .expect("lock")
                    .push((begun.elapsed().as_secs_f64(), rss, fds));
                std::thread::sleep(Duration::from_secs(5));
            }
        })
    };
    let soaked = traffic(&gw, &kinds, Some(rate), minutes * 60.0);
    stop.store(true, Ordering::Relaxed);
    for f in flood {
        f.join().expect("flooder");
    }
    sampler.join().expect("sampler");

    // Per minute.
    let samples = samples.lock().expect("lock").clone();
    println!(
        "\n{:>6} {:>9} {:>8} {:>8} {:>8} {:>11} {:>5} {:>9} {:>5}",
        "minute", "requests", "req/s", "p50 ms", "p99 ms", "not clean", "5xx", "RSS MB", "fds"
    );
    let mut p99s = Vec::new();
    let total_minutes = minutes.ceil() as usize;
    for m in 0..total_minutes {
        let (from, to) = (m as f64 * 60.0, (m + 1) as f64 * 60.0);
        let of: Vec<&Outcome> = soaked
            .iter()
            .filter(|o| o.at >= from && o.at < to)
            .collect();
        let mut ms: Vec<f64> = of.iter().map(|o| o.ms).collect();
        ms.sort_by(f64::total_cmp);
        let unclean = of.iter().filter(|o| !o.clean).count();
        let fives = of.iter().filter(|o| o.status >= 500).count();
        let last = samples.iter().rev().find(|s| s.0 < to).copied();
        let (rss, fds) = last.map(|s| (s.1, s.2)).unwrap_or((0, 0));
        let seconds = (to.min(minutes * 60.0) - from).max(1.0);
        p99s.push(percentile(&ms, 0.99));
        println!(
            "{:>6} {:>9} {:>8.0} {:>8.2} {:>8.2} {:>11} {:>5} {:>9.1} {:>5}",
            m + 1,
            of.len(),
            of.len() as f64 / seconds,
            percentile(&ms, 0.5),
            percentile(&ms, 0.99),
            unclean,
            fives,
            rss as f64 / 1024.0,
            fds
        );
    }
    let settled: Vec<&(f64, u64, u64)> = samples.iter().filter(|s| s.0 >= 60.0).collect();
    let rss_slope = slope(
        &settled
            .iter()
            .map(|s| (s.0 / 60.0, s.1 as f64))
            .collect::<Vec<_>>(),
    );
    let fd_slope = slope(
        &settled
            .iter()
            .map(|s| (s.0 / 60.0, s.2 as f64))
            .collect::<Vec<_>>(),
    );
    let unclean = soaked.iter().filter(|o| !o.clean).count();
    let fives = soaked.iter().filter(|o| o.status >= 500).count();
    let bombs = bomb_statuses.lock().expect("lock").clone();
    let bad_bombs: usize = bombs
        .iter()
        .filter(|(s, _)| !matches!(**s, 400 | 429))
        .map(|(_, n)| n)
        .sum();
    println!(
        "\n{} requests at {rate:.0}/s; not clean {unclean}, 5xx {fives}; RSS slope {:+.1} MB/min, \
         fds slope {fd_slope:+.2}/min (after the first minute); p99 first minute {:.2} ms, last \
         {:.2} ms; bombs by status {bombs:?}",
        soaked.len(),
        rss_slope / 1024.0,
        p99s.first().copied().unwrap_or(f64::NAN),
        p99s.last().copied().unwrap_or(f64::NAN),
    );
    let bomb_fives: usize = bombs
        .iter()
        .filter(|(s, _)| **s >= 500)
        .map(|(_, n)| n)
        .sum();
    if unclean > 0 || fives > 0 || bad_bombs > 0 || bomb_fives > 0 {
        println!("FAILED");
        std::process::exit(1);
    }
}
