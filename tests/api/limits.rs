//! Operation limits: every bomb is refused before it runs, with OPERATION_LIMIT naming the
//! limit; the named operations stay within the limits.

use crate::helpers::{clinician, fixture, ministry, region, spawn_app};
use serde_json::json;

fn repeat(part: &str, n: usize, sep: &str) -> String {
    vec![part; n].join(sep)
}

#[test]
fn query_bombs_are_refused_before_they_run() {
    let app = spawn_app();
    let token = ministry();
    let nested = |n: usize| {
        // regions → clusters → region → clusters … : real fields, arbitrarily deep.
        let mut q = String::from("code");
        for i in 0..n {
            q = if i % 2 == 0 {
                format!("clusters {{ region {{ {q} }} }}")
            } else {
                q
            };
        }
        format!("{{ regions {{ {q} }} }}")
    };
    let aliases: String = (0..40)
        .map(|i| format!("a{i}: apiVersion"))
        .collect::<Vec<_>>()
        .join(" ");
    let roots = format!("{{ {} }}", repeat("apiVersion", 13, " "));
    let directives = format!("{{ apiVersion {} }}", repeat("@include(if: true)", 25, " "));
    let cycle = "{ regions { ...A } } fragment A on Region { clusters { region { ...B } } } fragment B on Region { ...A }";
    let spreads = format!(
        "{{ regions {{ {} }} }} fragment F on Region {{ code }}",
        repeat("...F", 60, " ")
    );
    let fragment_fanout = "{ regions { ...L1 } } \
        fragment L1 on Region { ...L2 ...L2 ...L2 ...L2 ...L2 ...L2 ...L2 ...L2 } \
        fragment L2 on Region { ...L3 ...L3 ...L3 ...L3 ...L3 ...L3 ...L3 ...L3 } \
        fragment L3 on Region { code name }";
    let big = format!("{{ apiVersion }} # {}", "x".repeat(20_000));
    let tokens = format!("{{ {} }}", repeat("a", 2100, " "));
    let complexity = format!(
        "{{ {} }}",
        (0..20)
            .map(|i| format!("p{i}: planActivity(from: \"2022-01-01\", to: \"2022-12-31\", groupBy: [CLINIC], limit: 1000) {{ rows {{ plans newPlans clinics }} }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let paged = "query($n: Int) { clinics { patients(first: $n) { edges { node { plans { history { goals { text } } } } } } } }";
    let cases: Vec<(String, serde_json::Value, &str)> = vec![
        (nested(30), json!({}), "depth"),
        (format!("{{ {aliases} }}"), json!({}), "aliases"),
        (roots, json!({}), "root fields"),
        (directives, json!({}), "directives"),
        (cycle.to_string(), json!({}), "fragment cycle"),
        (spreads, json!({}), "fragment spreads"),
        (fragment_fanout.to_string(), json!({}), "fragment spreads"),
        (big, json!({}), "document bytes"),
        (tokens, json!({}), "tokens"),
        (complexity, json!({}), "complexity"),
        (paged.to_string(), json!({"n": 1_000_000}), "complexity"),
    ];
    for (query, variables, limit) in &cases {
        let started = std::time::Instant::now();
        let r = app.graphql_as(&token, query, variables.clone());
        assert_eq!(r.status, 400, "{limit}: {}", r.body);
        assert_eq!(r.error_code(), "OPERATION_LIMIT", "{limit}: {}", r.body);
        let message = r.json()["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.contains(limit), "{limit}: {message}");
        assert!(r.json().get("data").is_none(), "{limit}: {}", r.body);
        // Generous bound for a debug build on a busy machine; the benchmark measures it properly.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "{limit} took {:?}",
            started.elapsed()
        );
    }
    // Within the limits, the same shapes run.
    let r = app.graphql_as(&token, &nested(6), json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.graphql_as(&token, "{ a: apiVersion b: apiVersion }", json!({}));
    assert!(r.json()["data"]["b"].is_string(), "{}", r.body);
}

/// GraphiQL's Docs pane, graphql-codegen and gql build their client from this query; it is
/// deeper than the depth limit, and inside introspection only the nesting of the schema's lists
/// is bounded.
#[test]
fn the_introspection_query_of_standard_tools_is_answered_and_introspection_bombs_are_not() {
    let app = spawn_app();
    let queries = ["graphql-js.graphql", "graphql-js-all-options.graphql"].map(|f| {
        std::fs::read_to_string(fixture(&format!("introspection/{f}"))).expect("introspection")
    });
    for (token, query) in [ministry(), region("1084"), clinician("000001")]
        .iter()
        .flat_map(|t| queries.iter().map(move |q| (t, q)))
    {
        let r = app.graphql_as(token, query, json!({}));
        assert_eq!(r.status, 200, "{}", r.body);
        let types = r.json()["data"]["__schema"]["types"]
            .as_array()
            .map_or(0, Vec::len);
        assert!(types > 20, "{}", r.body);
        assert!(r.json().get("errors").is_none(), "{}", r.body);
    }
    let token = ministry();
    // Lists of the schema nested in one another multiply the answer: types × fields × fields × …
    let lists =
        "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    // A type reference followed past any real wrapping, deeper than any tool asks.
    let mut of_type = String::from("name");
    for _ in 0..16 {
        of_type = format!("ofType {{ {of_type} }}");
    }
    let deep = format!("{{ __type(name: \"Query\") {{ {of_type} }} }}");
    for (query, limit) in [(lists.to_string(), "introspection lists"), (deep, "depth")] {
        let r = app.graphql_as(&token, &query, json!({}));
        assert_eq!(r.status, 400, "{limit}: {}", r.body);
        assert_eq!(r.error_code(), "OPERATION_LIMIT", "{limit}: {}", r.body);
        let message = r.json()["errors"][0]["message"].to_string();
        assert!(message.contains(limit), "{limit}: {message}");
    }
    // Outside introspection the depth limit is unchanged: a field path as deep as the
    // introspection query is refused.
    let mut nested = String::from("code");
    for _ in 0..7 {
        nested = format!("clusters {{ region {{ {nested} }} }}");
    }
    let r = app.graphql_as(&token, &format!("{{ regions {{ {nested} }} }}"), json!({}));
    assert_eq!(r.error_code(), "OPERATION_LIMIT", "{}", r.body);
}

/// With the shipped rules a patient runs only trusted documents, yet the demo lets every role
/// introspect, so GraphiQL's Docs pane and codegen work with a patient's token too: a document
/// of introspection alone passes; one that reaches data beside it, however it hides the data
/// field (a fragment, an inline fragment nested past the root walk), is refused as untrusted.
#[test]
fn a_trusted_only_role_that_may_introspect_sends_introspection_and_nothing_else() {
    let app = crate::helpers::spawn_app_with(crate::helpers::shipped_defaults);
    let token = crate::helpers::patient("2709400129");
    let introspection =
        std::fs::read_to_string(fixture("introspection/graphql-js.graphql")).expect("fixture");
    let r = app.graphql_as(&token, &introspection, json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["data"]["__schema"]["types"]
        .as_array()
        .is_some_and(|t| t.len() > 20));
    let mut hidden = String::from("me { cpr }");
    for _ in 0..20 {
        hidden = format!("... on Query {{ {hidden} }}");
    }
    for query in [
        "{ __typename me { cpr } }".to_string(),
        "{ __schema { queryType { name } } ...F } fragment F on Query { me { cpr } }".into(),
        format!("{{ __typename {hidden} }}"),
        "{ me { cpr } }".into(),
        "{ __typename ".into(),
    ] {
        let r = app.graphql_as(&token, &query, json!({}));
        assert_eq!(r.status, 403, "{query}: {}", r.body);
        assert_eq!(
            r.error_code(),
            "PERSISTED_QUERY_REQUIRED",
            "{query}: {}",
            r.body
        );
    }
}
