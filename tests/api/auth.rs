//! Authentication against the running server: real signed tokens, and the attacks that must
//! all end in 401 without data.

use crate::helpers::{self, spawn_app, spawn_app_with, TestApp};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

const QUERY: &str = "{ apiVersion }";
const SECRET: &[u8] = b"forloeb-demo-secret-for-local-use-only-0001";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// HMAC-SHA256 written out, so these tokens owe nothing to the gateway's JWT library.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.iter().map(|x| x ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// A JWT assembled by hand: any header, any claims, HS256-signed with `key`.
fn handmade(header: Value, claims: Value, key: &[u8]) -> String {
    let signing = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    format!("{signing}.{}", b64(&hmac_sha256(key, signing.as_bytes())))
}

/// Like `handmade`, from the header's and payload's JSON text as written (repeated names kept).
fn handmade_text(header: &str, claims: &str, key: &[u8]) -> String {
    let signing = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    format!("{signing}.{}", b64(&hmac_sha256(key, signing.as_bytes())))
}

fn claims() -> Value {
    json!({"sub": "u1", "role": "ministry", "iss": "forloeb-demo", "aud": "forloeb-gateway",
           "exp": now() + 300, "nbf": now() - 10})
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn assert_refused(app: &TestApp, token: &str, why: &str) {
    let r = app.post_raw(
        "/graphql",
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Bearer {token}")),
        ],
        &json!({ "query": QUERY }).to_string(),
    );
    assert_eq!(r.status, 401, "{why}: {}", r.body);
    assert_eq!(r.error_code(), "UNAUTHENTICATED", "{why}");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{why}");
    assert!(
        r.json().get("data").is_none(),
        "{why}: data leaked: {}",
        r.body
    );
}

#[test]
fn tokens_from_another_implementation_are_accepted() {
    let app = spawn_app();
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    let r = app.graphql_as(&handmade(hs, claims(), SECRET), QUERY, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["data"]["apiVersion"].is_string(), "{}", r.body);
}

#[test]
fn every_token_attack_is_refused() {
    let app = spawn_app();
    let hs = json!({"alg": "HS256", "typ": "JWT"});
    let good = handmade(hs.clone(), claims(), SECRET);
    let (head, rest) = good.split_once('.').expect("jwt");
    let (_, sig) = rest.split_once('.').expect("jwt");
    let mut cases: Vec<(String, &str)> = vec![
        (
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                b64(claims().to_string().as_bytes())
            ),
            "alg none",
        ),
        (
            handmade(
                hs.clone(),
                with(claims(), "exp", json!(now() - 3600)),
                SECRET,
            ),
            "expired",
        ),
        (
            handmade(
                hs.clone(),
                with(claims(), "nbf", json!(now() + 3600)),
                SECRET,
            ),
            "not yet valid",
        ),
        (
            handmade(hs.clone(), with(claims(), "iss", json!("evil")), SECRET),
            "wrong iss",
        ),
        (
            handmade(
                hs.clone(),
                with(claims(), "aud", json!("other-api")),
                SECRET,
            ),
            "wrong aud",
        ),
        (
            handmade(hs.clone(), with(claims(), "role", json!("admin")), SECRET),
            "unknown role",
        ),
        (
            handmade(
                hs.clone(),
                {
                    let mut c = claims();
                    c.as_object_mut().expect("object").remove("role");
                    c
                },
                SECRET,
            ),
            "missing role",
        ),
        (
            handmade(
                hs.clone(),
                with(
                    with(claims(), "role", json!("region")),
                    "region",
                    json!("9999"),
                ),
                SECRET,
            ),
            "region 9999",
        ),
        (
            handmade(
                hs.clone(),
                with(
                    with(claims(), "role", json!("patient")),
                    "cpr",
                    json!("01O3521234"),
                ),
                SECRET,
            ),
            "cpr with letters",
        ),
        (
            handmade(
                hs.clone(),
                with(
                    with(claims(), "role", json!("clinician")),
                    "ydernummer",
                    json!(41234),
                ),
                SECRET,
            ),
            "ydernummer as a number",
        ),
        (
            handmade(
                hs.clone(),
                claims(),
                b"another-secret-of-at-least-32-bytes!!",
            ),
            "wrong secret",
        ),
        (
            {
                let forged = b64(with(claims(), "role", json!("ministry"))
                    .to_string()
                    .replace("u1", "u2")
                    .as_bytes());
                format!("{head}.{forged}.{sig}")
            },
            "tampered payload",
        ),
        (
            handmade(json!({"alg": "HS512", "typ": "JWT"}), claims(), SECRET),
            "algorithm not on the allow-list",
        ),
        (
            handmade(json!({"alg": "RS256", "typ": "JWT"}), claims(), SECRET),
            "RS256 header with an HMAC signature",
        ),
        ("garbage".into(), "garbage"),
        ("a.b.c".into(), "three garbage parts"),
        (
            format!("{}.{}.{}", "x".repeat(9000), "y", "z"),
            "oversized token",
        ),
    ];
    cases.push((
        handmade(hs, with(claims(), "exp", json!("tomorrow")), SECRET),
        "exp not a number",
    ));
    for (token, why) in &cases {
        assert_refused(&app, token, why);
    }
    // No token, or another scheme, for anything but introspection.
    let r = app.graphql(QUERY, json!({}));
    assert_eq!(r.status, 401, "{}", r.body);
    let r = app.post_raw(
        "/graphql",
        &[
            ("content-type", "application/json"),
            ("authorization", &format!("Basic {good}")),
        ],
        &json!({ "query": QUERY }).to_string(),
    );
    assert_eq!(r.status, 401);
}

/// What two JSON parsers could read differently, and what RFC 7515 says to reject, is
/// refused even with a valid signature: repeated names, an unknown `crit`, an `iss` that is
/// not a string, and a token that lives longer than its role allows.
#[test]
fn tokens_are_parsed_strictly() {
    let app = spawn_app();
    let hs = r#"{"alg":"HS256","typ":"JWT"}"#;
    let (n, exp) = (now(), now() + 300);
    let base = format!(
        r#""sub":"u1","iss":"forloeb-demo","aud":"forloeb-gateway","nbf":{},"exp":{exp}"#,
        n - 10
    );
    let cases = [
        (
            hs.to_string(),
            format!(r#"{{{base},"role":"patient","cpr":"0103521234","role":"ministry"}}"#),
            "a repeated role",
        ),
        (
            hs.to_string(),
            format!(r#"{{{base},"role":"ministry","sub":"u2"}}"#),
            "a repeated sub",
        ),
        (
            r#"{"alg":"HS256","typ":"JWT","alg":"HS256"}"#.to_string(),
            format!(r#"{{{base},"role":"ministry"}}"#),
            "a repeated header name",
        ),
        (
            r#"{"alg":"HS256","typ":"JWT","crit":["x-unknown"],"x-unknown":1}"#.to_string(),
            format!(r#"{{{base},"role":"ministry"}}"#),
            "an unknown crit",
        ),
        (
            hs.to_string(),
            format!(
                r#"{{"sub":"u1","iss":["forloeb-demo"],"aud":"forloeb-gateway","exp":{exp},"role":"ministry"}}"#
            ),
            "iss as an array",
        ),
        (
            hs.to_string(),
            r#"{"sub":"u1","iss":"forloeb-demo","aud":"forloeb-gateway","exp":1000000000000000000,"role":"ministry"}"#.to_string(),
            "exp of 10^18",
        ),
        (
            hs.to_string(),
            format!(
                r#"{{"sub":"u1","iss":"forloeb-demo","aud":"forloeb-gateway","iat":{n},"exp":{},"role":"ministry"}}"#,
                n + 43_201
            ),
            "a day and a half of life",
        ),
    ];
    for (header, payload, why) in &cases {
        assert_refused(&app, &handmade_text(header, payload, SECRET), why);
    }
    // The same token written once is accepted: the refusals are the rules, not the shapes.
    let fine = handmade_text(
        hs,
        &format!(r#"{{{base},"role":"ministry","iat":{n}}}"#),
        SECRET,
    );
    let r = app.graphql_as(&fine, QUERY, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
}

/// RS256 and ES256 through a JWKS the test derives from its keys; HS256 is then refused,
/// including the classic confusion: HS256 signed with the RSA public key.
#[test]
fn asymmetric_keys_from_a_jwks_and_no_algorithm_confusion() {
    let rsa = std::fs::read(helpers::fixture("keys/rsa.pem")).expect("rsa key");
    let ec = std::fs::read(helpers::fixture("keys/ec.pem")).expect("ec key");
    let rsa_pub = std::fs::read(helpers::fixture("keys/rsa.pub.pem")).expect("rsa pub");
    let rsa_key = EncodingKey::from_rsa_pem(&rsa).expect("rsa");
    let ec_key = EncodingKey::from_ec_pem(&ec).expect("ec");
    let jwk = |key: &EncodingKey, alg: Algorithm, kid: &str| {
        let mut j = Jwk::from_encoding_key(key, alg).expect("jwk");
        j.common.key_id = Some(kid.into());
        j
    };
    let set = JwkSet {
        keys: vec![
            jwk(&rsa_key, Algorithm::RS256, "rsa-1"),
            jwk(&ec_key, Algorithm::ES256, "ec-1"),
        ],
    };
    let dir = tempfile::tempdir().expect("tmp");
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, serde_json::to_string(&set).expect("json")).expect("write jwks");
    let app = spawn_app_with(|s| {
        s.auth.algorithms = vec!["RS256".into(), "ES256".into()];
        s.auth.jwks_file = jwks.display().to_string();
        s.auth.hs256_secret = forloeb_gateway::config::Secret::new("");
    });
    let sign = |alg: Algorithm, kid: Option<&str>, key: &EncodingKey| {
        let mut h = Header::new(alg);
        h.kid = kid.map(String::from);
        jsonwebtoken::encode(&h, &claims(), key).expect("sign")
    };
    for token in [
        sign(Algorithm::RS256, Some("rsa-1"), &rsa_key),
        sign(Algorithm::ES256, Some("ec-1"), &ec_key),
    ] {
        let r = app.graphql_as(&token, QUERY, json!({}));
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert_refused(
        &app,
        &sign(Algorithm::RS256, Some("nope"), &rsa_key),
        "unknown kid",
    );
    assert_refused(
        &app,
        &sign(Algorithm::RS256, None, &rsa_key),
        "no kid with two keys",
    );
    assert_refused(
        &app,
        &sign(Algorithm::ES256, Some("rsa-1"), &ec_key),
        "kid of another key type",
    );
    assert_refused(
        &app,
        &handmade(json!({"alg": "HS256", "kid": "rsa-1"}), claims(), &rsa_pub),
        "HS256 signed with the RSA public key",
    );
    assert_refused(
        &app,
        &handmade(json!({"alg": "HS256"}), claims(), SECRET),
        "demo secret",
    );
    drop(dir);
}

/// Serves `body()` at any path over plain HTTP and counts the requests.
fn jwks_server(
    body: impl Fn() -> String + Send + 'static,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let b = body();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{b}",
                b.len()
            );
        }
    });
    (url, hits)
}

/// A key the identity provider adds later is picked up from the JWKS URL on the first token
/// that names it; unknown key ids re-read the set at most once per interval.
#[test]
fn a_jwks_url_is_read_again_for_a_new_key_at_most_once_per_interval() {
    let rsa =
        EncodingKey::from_rsa_pem(&std::fs::read(helpers::fixture("keys/rsa.pem")).expect("rsa"))
            .expect("rsa");
    let ec = EncodingKey::from_ec_pem(&std::fs::read(helpers::fixture("keys/ec.pem")).expect("ec"))
        .expect("ec");
    let jwk = |key: &EncodingKey, alg: Algorithm, kid: &str| {
        let mut j = Jwk::from_encoding_key(key, alg).expect("jwk");
        j.common.key_id = Some(kid.into());
        j
    };
    let first = serde_json::to_string(&JwkSet {
        keys: vec![jwk(&rsa, Algorithm::RS256, "rsa-1")],
    })
    .expect("json");
    let both = serde_json::to_string(&JwkSet {
        keys: vec![
            jwk(&rsa, Algorithm::RS256, "rsa-1"),
            jwk(&ec, Algorithm::ES256, "ec-2"),
        ],
    })
    .expect("json");
    let rotated = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = rotated.clone();
    let (url, hits) = jwks_server(move || {
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            both.clone()
        } else {
            first.clone()
        }
    });
    let spawn = |refresh: u64| {
        let url = url.clone();
        spawn_app_with(move |s| {
            s.auth.algorithms = vec!["RS256".into(), "ES256".into()];
            s.auth.jwks_url = url;
            s.auth.jwks_refresh_secs = refresh;
            s.auth.hs256_secret = forloeb_gateway::config::Secret::new("");
        })
    };
    let sign = |alg: Algorithm, kid: &str, key: &EncodingKey| {
        let mut h = Header::new(alg);
        h.kid = Some(kid.into());
        jsonwebtoken::encode(&h, &claims(), key).expect("sign")
    };
    // Long interval: an unknown kid is refused without hammering the provider.
    let app = spawn(3600);
    let at_start = hits.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        app.graphql_as(&sign(Algorithm::RS256, "rsa-1", &rsa), QUERY, json!({}))
            .status,
        200
    );
    for _ in 0..3 {
        assert_refused(
            &app,
            &sign(Algorithm::ES256, "ec-2", &ec),
            "kid not in the set yet",
        );
    }
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        at_start,
        "refreshed within the interval"
    );
    drop(app);
    // Interval 0: the rotated set is fetched on the first token with the new kid.
    let app = spawn(0);
    rotated.store(true, std::sync::atomic::Ordering::SeqCst);
    let r = app.graphql_as(&sign(Algorithm::ES256, "ec-2", &ec), QUERY, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
}
