//! The rollout dashboard at `/dashboard` (`server.dashboard`): one page, its script and its
//! styles, compiled in from `assets/dashboard/` (plain JavaScript, no library, no build step).
//! The page asks for a token and calls `/graphql` with the named operations by document id;
//! what it shows is what the token may see. Its Content-Security-Policy allows nothing but the
//! gateway itself and no inline script or style; the token stays in the page's memory.

use super::page::{asset, html};
use crate::domain::{RegionCode, Timestamp};
use crate::trusted::{document_id, Manifest};
use actix_web::web;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;

const SCRIPT: &[u8] = include_bytes!("../../assets/dashboard/dashboard.js");
const STYLE: &[u8] = include_bytes!("../../assets/dashboard/dashboard.css");

/// The operations the page runs, by name.
pub const OPERATIONS: [&str; 6] = [
    "RegionalDashboard",
    "RegionClusters",
    "ClusterView",
    "ClusterQuality",
    "NationalStatus",
    "MyClinic",
];

const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' \
                      data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
                      frame-ancestors 'none'";

/// A token the demo's dashboard offers, with whose it is.
#[derive(Debug, Clone, Serialize)]
pub struct DemoToken {
    pub role: String,
    pub who: String,
    pub token: String,
}

/// The routes under `/dashboard`. `as_of` is the date the page opens with (`server.dashboard_as_of`;
/// today when None); `demo_tokens` are offered on the page (the demo's; none otherwise).
pub fn routes(as_of: Option<NaiveDate>, demo_tokens: Vec<DemoToken>) -> actix_web::Scope {
    web::scope("/dashboard")
        .route(
            "",
            web::get().to(move || {
                let tokens = demo_tokens.clone();
                async move {
                    let d = as_of.unwrap_or_else(|| Timestamp::now().local_date());
                    html(page(d, &tokens), POLICY)
                }
            }),
        )
        .route(
            "/dashboard.js",
            web::get().to(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/dashboard.css",
            web::get().to(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
}

fn page(as_of: NaiveDate, demo_tokens: &[DemoToken]) -> String {
    let manifest = Manifest::builtin();
    let documents: serde_json::Map<String, serde_json::Value> = OPERATIONS
        .iter()
        .filter_map(|name| {
            let doc = manifest.by_name(name)?;
            Some((name.to_string(), json!(document_id(doc.text))))
        })
        .collect();
    let regions: Vec<serde_json::Value> = RegionCode::ALL
        .iter()
        .map(|r| json!({ "code": r.as_str(), "name": r.name() }))
        .collect();
    let settings = json!({
        "endpoint": "/graphql",
        "documents": documents,
        "asOf": as_of.to_string(),
        "regions": regions,
        "demoTokens": demo_tokens,
    })
    .to_string()
    // Inside <script> only "</script" could end the block; `<` escaped cannot.
    .replace('<', "\\u003c");
    let v = env!("CARGO_PKG_VERSION");
    format!(
        r#"<!doctype html>
<html lang="da">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Forløbsplaner · dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/dashboard.css?v={v}">
</head>
<body>
<header>
<h1>Forløbsplaner — udbredelse (rollout)</h1>
<form id="login">
<label for="token">Token</label>
<input id="token" type="password" autocomplete="off" spellcheck="false" required size="28">
<button type="submit">Vis (show)</button>
<span id="demo-pick" hidden><label for="demo-token">Demo</label>
<select id="demo-token"><option value="">vælg et demo-token (pick a demo token)</option></select></span>
</form>
<div id="controls" hidden>
<span id="whoami"></span>
<label for="asof">Dato (as of)</label>
<input id="asof" type="date">
<span id="region-pick" hidden><label for="region">Region</label>
<select id="region"><option value="">Hele landet (the nation)</option></select></span>
<button id="logout" type="button">Log ud</button>
</div>
</header>
<main id="main" aria-live="polite"><p>Indsæt et token (paste a token: <code>forloeb demo</code> prints one per role).</p></main>
<script type="application/json" id="dashboard-settings">{settings}</script>
<script src="/dashboard/dashboard.js?v={v}"></script>
</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_operation_it_runs_and_no_other_host() {
        let d = NaiveDate::from_ymd_opt(2022, 5, 18).expect("date");
        let page = page(d, &[]);
        for name in OPERATIONS {
            assert!(page.contains(&format!("\"{name}\":\"")), "{name}");
        }
        assert!(page.contains("\"asOf\":\"2022-05-18\""));
        assert!(
            page.contains("\"demoTokens\":[]"),
            "no tokens outside the demo"
        );
        let script = std::str::from_utf8(SCRIPT).expect("utf-8");
        let style = std::str::from_utf8(STYLE).expect("utf-8");
        for text in [page.as_str(), script, style] {
            assert!(!text.contains("https://"), "another host");
            assert!(!text.contains("localStorage") && !text.contains("document.cookie"));
        }
        // The only http:// is SVG's namespace, which is a name, not an address.
        assert_eq!(
            script.matches("http://").count(),
            script.matches("http://www.w3.org/2000/svg").count()
        );
        // No inline script: the one <script> with code is the file.
        assert_eq!(page.matches("<script").count(), 2);
    }
}
