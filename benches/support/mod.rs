//! What the benchmarks over real HTTP share: the release gateway started on a database, a
//! request sent as a client from an address of its own, percentiles, and the query bombs.

// A benchmark stops at the first thing it did not expect; that is how it reports.
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    dead_code
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Gateway {
    pub child: Child,
    pub base: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(database: &str, env: &[(&str, &str)]) -> Gateway {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_forloeb"));
    for (k, _) in std::env::vars() {
        if k.starts_with("FORLOEB_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .envs(env.iter().copied())
        .args(["serve", "--bind", "127.0.0.1:0", "--database", database])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn forloeb serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep draining the log, or the server blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split('/').next().unwrap_or_default().to_string();
                    let _ = tx.send(addr);
                    sent = true;
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the gateway started");
    Gateway {
        child,
        base: format!("http://{addr}"),
    }
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5)
}

pub fn post(agent: &ureq::Agent, url: &str, token: &str, address: &str, body: &str) -> u16 {
    post_answer(agent, url, token, address, body).0
}

/// As `post`, with the answer's body (empty when none came).
pub fn post_answer(
    agent: &ureq::Agent,
    url: &str,
    token: &str,
    address: &str,
    body: &str,
) -> (u16, String) {
    match agent
        .post(url)
        .set("content-type", "application/json")
        .set("authorization", &format!("Bearer {token}"))
        .set("x-forwarded-for", address)
        .send_string(body)
    {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(_) => (0, String::new()),
    }
}

/// Normal traffic from `phones` for `seconds`, with bombs beside it when `bombs` is given.
/// Documents every limit refuses (depth, aliases, tokens, size, fragments…), and a batch.
pub fn bombs() -> Vec<String> {
    let rep = |s: &str, n: usize| vec![s; n].join(" ");
    let mut deep = String::from("code");
    for _ in 0..15 {
        deep = format!("clusters {{ region {{ {deep} }} }}");
    }
    let docs = [
        format!("{{ {} }}", (0..40).map(|i| format!("a{i}: apiVersion")).collect::<Vec<_>>().join(" ")),
        format!("{{ regions {{ {deep} }} }}"),
        "{ regions { ...A } } fragment A on Region { clusters { region { ...B } } } fragment B on Region { ...A }".to_string(),
        format!("{{ {} }}", rep("a", 2100)),
        format!("{{ regions {{ {} }} }} fragment F on Region {{ code }}", rep("...F", 60)),
        format!("{{ apiVersion }} # {}", "x".repeat(17_000)),
        format!("{{ {} }}", rep("apiVersion", 13)),
        format!("{{ apiVersion {} }}", rep("@include(if: true)", 25)),
        "{ clinics(first: 100) { patients(first: 100) { edges { node { plans { history { goals { text } } } } } } } }".to_string(),
    ];
    docs.iter()
        .map(|d| serde_json::json!({ "query": d }).to_string())
        .chain(std::iter::once(
            r#"[{"query":"{ apiVersion }"},{"query":"{ apiVersion }"}]"#.to_string(),
        ))
        .collect()
}
