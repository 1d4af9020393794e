//! GraphiQL at `/graphiql`, served whole by the gateway: its JavaScript and CSS are bundled
//! from pinned npm packages in `assets/graphiql/` (their licences at
//! `/graphiql/THIRD-PARTY-LICENSES.txt`) and compiled in, so the console works where the
//! gateway works, also on networks that block public CDNs. The page's Content-Security-Policy
//! allows nothing from anywhere else.

use super::page::{asset, html};
use actix_web::web;
use serde::Serialize;

const SCRIPT: &[u8] = include_bytes!("../../assets/graphiql/dist/console.js");
const STYLE: &[u8] = include_bytes!("../../assets/graphiql/dist/console.css");
const LICENCES: &[u8] = include_bytes!("../../assets/graphiql/dist/THIRD-PARTY-LICENSES.txt");

/// Scripts and styles from the gateway alone; fonts and icons are inlined in the CSS as
/// `data:` URLs; the only connection is to the gateway's own `/graphql`.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                      img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
                      base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// One editor tab the console opens with (the demo: one per demo token).
#[derive(Debug, Clone, Serialize)]
pub struct Tab {
    pub query: String,
    /// JSON text, as the variables editor shows it.
    pub variables: String,
    /// JSON text, as the headers editor shows it.
    pub headers: String,
}

/// What the page tells the bundle.
#[derive(Serialize)]
struct PageSettings<'a> {
    endpoint: &'static str,
    tabs: &'a [Tab],
}

/// The routes under `/graphiql`.
pub fn routes(tabs: Vec<Tab>) -> actix_web::Scope {
    let page = page(&tabs);
    web::scope("/graphiql")
        .route(
            "",
            web::get().to(move || {
                let page = page.clone();
                async move { html(page, POLICY) }
            }),
        )
        .route(
            "/console.js",
            web::get().to(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/console.css",
            web::get().to(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/THIRD-PARTY-LICENSES.txt",
            web::get().to(|| async { asset("text/plain; charset=utf-8", LICENCES) }),
        )
}

fn page(tabs: &[Tab]) -> String {
    let settings = serde_json::to_string(&PageSettings {
        endpoint: "/graphql",
        tabs,
    })
    .unwrap_or_else(|_| r#"{"endpoint":"/graphql","tabs":[]}"#.into())
    // Inside <script> only "</script" could end the block; `<` escaped cannot.
    .replace('<', "\\u003c");
    // The version in the asset addresses: a browser's cached copy of an older console is
    // not used with a newer gateway.
    let v = env!("CARGO_PKG_VERSION");
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>forloeb-gateway · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/graphiql/console.css?v={v}">
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script type="application/json" id="console-settings">{settings}</script>
<script src="/graphiql/console.js?v={v}"></script>
</body>
</html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_cannot_end_their_script_block() {
        let page = page(&[Tab {
            query: "# </script><script>alert(1)</script>\n{ __typename }".into(),
            variables: "{}".into(),
            headers: "{}".into(),
        }]);
        assert_eq!(page.matches("</script>").count(), 2, "{page}");
        assert!(
            page.contains(r"\u003c/script>\u003cscript>alert(1)"),
            "{page}"
        );
    }

    #[test]
    fn the_bundle_is_compiled_in_and_names_no_other_host() {
        assert!(SCRIPT.len() > 100_000 && STYLE.len() > 10_000);
        assert!(std::str::from_utf8(LICENCES).is_ok_and(|l| l.contains("graphiql@")));
        let css = std::str::from_utf8(STYLE).expect("utf-8");
        assert!(
            !css.contains("url(http") && !css.contains("@import"),
            "{css:.200}"
        );
    }
}
