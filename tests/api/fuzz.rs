//! Property: no document, however malformed, panics the path a request takes before and
//! through validation (text limits, parser, operation limits, the schema's validation and
//! execution without a principal). Documents are random token soup, mutations of the trusted
//! operations, and deep nesting at the token limit. A fixed seed list keeps failures
//! reproducible; FORLOEB_TEST_FUZZ_CASES raises the count.

use async_graphql::parser::types::DocumentOperations;
use forloeb_gateway::access::limits;
use forloeb_gateway::config::Settings;
use forloeb_gateway::db::{run_migrations, Db};
use forloeb_gateway::facts::snapshot::Aggregates;
use std::time::Duration;

/// xorshift64*: small, deterministic, good enough to pick tokens.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Punctuation, keywords and values; `soup` mixes them with the field names of `FIELDS`.
#[rustfmt::skip]
const VOCABULARY: &[&str] = &[
    "{", "}", "{", "}", "(", ")", "[", "]", ":", "!", "=", "|", "&", "...", "@", "$", "$v", ",",
    "query", "mutation", "subscription", "fragment", "on", "F", "G", "Query", "Patient", "Int",
    "String", "Boolean", "true", "false", "null", "first", "limit", "after", "asOf",
    "ydernummer", "__schema", "__type", "types", "fields", "@include(if: $v)",
    "@skip(if: true)", "@deprecated", "0", "-1", "1e999", "99999999999999999999", "0.5",
    "\"x\"", "\"\"", "\"\\u0000\"", "\"\\uD800\"", "\"\"\"block\"\"\"", "\"unterminated",
    "#comment\n", "æøå", "\u{feff}", "\t", "\n", " ", "enum", "VALUE", "KOL", "DM2", "REGION",
    "WEEK",
];

fn soup(rng: &mut Rng) -> String {
    let n = 1 + rng.below(80);
    (0..n)
        .map(|_| rng.pick(VOCABULARY))
        .collect::<Vec<_>>()
        .join(" ")
}

#[rustfmt::skip]
const FIELDS: &[&str] = &[
    "me", "patient", "cpr", "plans", "clinic", "clinics", "regions", "clusters", "region",
    "rollout", "planActivity", "population", "patients", "view", "rows", "current", "goals",
    "code", "name", "apiVersion", "__typename", "edges", "node", "myAccessLog", "milestones",
    "ok22", "weekly", "total", "value", "suppressed", "nope",
];
const ARGS: &[&str] = &[
    "first: 5",
    "first: 100000",
    "first: -1",
    "cpr: \"2709400129\"",
    "ydernummer: \"586964\"",
    "asOf: \"2022-05-18\"",
    "asOf: \"2022-02-30\"",
    "code: \"1083\"",
    "type: KOL",
    "limit: 3",
    "groupBy: [REGION]",
    "from: \"2022-01-01\", to: \"2022-12-31\"",
    "x: null",
];

/// A document with the shape of a real one: nested selections of real and unreal fields,
/// arguments, aliases, fragments and directives.
fn shaped(rng: &mut Rng, depth: usize) -> String {
    let n = 1 + rng.below(4);
    let mut out = String::from("{ ");
    for _ in 0..n {
        if rng.below(6) == 0 {
            out.push_str("a: ");
        }
        out.push_str(rng.pick(FIELDS));
        if rng.below(3) == 0 {
            out.push_str(&format!("({})", rng.pick(ARGS)));
        }
        if rng.below(8) == 0 {
            out.push_str(" @include(if: true)");
        }
        if depth > 0 && rng.below(2) == 0 {
            out.push(' ');
            out.push_str(&shaped(rng, depth - 1));
        }
        out.push(' ');
    }
    if rng.below(8) == 0 {
        out.push_str("... on Query { __typename } ");
    }
    out.push('}');
    out
}

/// Cuts, repeats or splices a short stretch of a real operation at character boundaries.
fn mutate(rng: &mut Rng, doc: &str) -> String {
    let chars: Vec<char> = doc.chars().collect();
    let a = rng.below(chars.len());
    let b = (a + rng.below(12)).min(chars.len());
    let (head, mid, tail): (String, String, String) = (
        chars[..a].iter().collect(),
        chars[a..b].iter().collect(),
        chars[b..].iter().collect(),
    );
    match rng.below(4) {
        0 => format!("{head}{tail}"),
        1 => format!("{head}{mid}{mid}{tail}"),
        2 => format!("{head}{}{tail}", rng.pick(VOCABULARY)),
        _ => head,
    }
}

#[test]
fn random_documents_never_panic_the_request_path() {
    let settings = Settings::load_from(None, Vec::new()).expect("settings");
    let dir = tempfile::tempdir().expect("tmp");
    let mut db_settings = settings.database.clone();
    db_settings.url =
        forloeb_gateway::config::Secret::new(dir.path().join("fuzz.db").display().to_string());
    db_settings.pool_size = 2;
    let db = Db::connect(&db_settings).expect("db");
    run_migrations(&mut db.get().expect("conn")).expect("migrate");
    let ids = forloeb_gateway::plans::patient_id::PatientIds::new(
        settings.access.patient_id_key.expose(),
    )
    .expect("patient id key");
    let keys = forloeb_gateway::access::RecordKeys::new(settings.access.record_key_secret.expose())
        .expect("record key secret");
    let schema =
        forloeb_gateway::schema::build(db, Aggregates::new(Duration::from_secs(3600), keys), ids);
    let cases: usize = std::env::var("FORLOEB_TEST_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let manifest = forloeb_gateway::trusted::Manifest::builtin();
    let ops: Vec<&str> = manifest.documents().iter().map(|d| d.text).collect();
    let mut rng = Rng(0x5eed_f0e1_0eb0_0001);
    let mut docs: Vec<String> = Vec::with_capacity(cases + 8);
    // Nesting right at the token limit, of every bracket kind.
    let half = settings.limits.tokens / 2 - 1;
    for (open, close) in [("{a", "}"), ("[", "]"), ("(a:", ")")] {
        docs.push(format!(
            "{{ {}{} }}",
            open.repeat(half / 2),
            close.repeat(half / 2)
        ));
    }
    docs.push(format!("{{{}", "{".repeat(settings.limits.tokens - 2)));
    for i in 0..cases {
        docs.push(match i % 3 {
            0 => soup(&mut rng),
            1 => {
                let depth = rng.below(6);
                let body = shaped(&mut rng, depth);
                match rng.below(3) {
                    0 => format!("query Q($v: Boolean = true) {body}"),
                    1 => format!("{body} fragment F on Query {{ apiVersion }}"),
                    _ => body,
                }
            }
            _ => {
                let base = ops[rng.below(ops.len())];
                mutate(&mut rng, base)
            }
        });
    }
    let (mut parsed, mut ran) = (0, 0);
    actix_web::rt::System::new().block_on(async {
        for doc in &docs {
            if limits::check_text(&settings.limits, doc).is_err() {
                continue;
            }
            let Ok(parsed_doc) = async_graphql::parser::parse_query(doc) else {
                continue;
            };
            parsed += 1;
            let vars = async_graphql::Variables::default();
            let within = match &parsed_doc.operations {
                DocumentOperations::Single(op) => {
                    limits::check_operation(&settings.limits, &parsed_doc, &op.node, &vars).is_ok()
                }
                DocumentOperations::Multiple(ops) => ops.values().all(|op| {
                    limits::check_operation(&settings.limits, &parsed_doc, &op.node, &vars).is_ok()
                }),
            };
            if within {
                // No principal: whatever validates is refused field by field.
                let _ = schema
                    .execute(async_graphql::Request::new(doc.as_str()))
                    .await;
                ran += 1;
            }
        }
    });
    // The generator must reach past the parser, or the property says little.
    assert!(
        parsed > cases / 3,
        "only {parsed} of {cases} documents parsed"
    );
    assert!(
        ran > cases / 4,
        "only {ran} of {cases} documents were executed"
    );
}
