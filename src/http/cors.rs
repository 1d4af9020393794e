//! Cross-origin calls from browser applications: the origins listed in `server.cors_origins`
//! may call `/graphql` from a page (the preflight `OPTIONS` is answered, and answers carry
//! `Access-Control-Allow-Origin`); no origin is allowed unless listed. Tokens travel in the
//! `Authorization` header, never in cookies, so credentials are not allowed either.

use actix_cors::Cors;
use actix_web::http::header;
use serde::Deserialize;

/// One origin as a browser sends it: `https://host` or `http://host:port`, lower case, with
/// no path, no trailing slash and no wildcard (health data: every origin is named).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct AllowedOrigin(String);

impl TryFrom<String> for AllowedOrigin {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let refuse = |rule: &str| {
            Err(format!(
                "server.cors_origins: \"{s}\" {rule} (write an origin as a browser sends it, \
                 e.g. \"https://dashboard.region.dk\" or \"http://localhost:5173\")"
            ))
        };
        let Some((scheme, rest)) = s.split_once("://") else {
            return refuse("has no scheme");
        };
        if scheme != "https" && scheme != "http" {
            return refuse("is neither http:// nor https://");
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        if host.is_empty()
            || !host
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return refuse("is not a lower-case host name without a path or a wildcard");
        }
        if port.is_some_and(|p| !p.parse::<u16>().is_ok_and(|p| p != 0)) {
            return refuse("has a port that is not 1–65535");
        }
        Ok(Self(s))
    }
}

impl AllowedOrigin {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The CORS middleware for these origins (none listed: every cross-origin call is refused by
/// the browser, as before). A preflight names the methods and request headers a GraphQL
/// client sends; the request id is readable by the page.
pub fn middleware(origins: &[AllowedOrigin]) -> Cors {
    let cors = origins
        .iter()
        .fold(Cors::default(), |cors, o| cors.allowed_origin(o.as_str()));
    cors.allowed_methods(["GET", "POST"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("apollographql-client-name"),
            header::HeaderName::from_static("apollographql-client-version"),
            header::HeaderName::from_static("apollo-require-preflight"),
            header::HeaderName::from_static("traceparent"),
        ])
        .expose_headers([header::HeaderName::from_static("x-request-id")])
        .max_age(600)
}

#[cfg(test)]
mod tests {
    use super::AllowedOrigin;

    #[test]
    fn origins_are_what_a_browser_sends() {
        for ok in [
            "https://dashboard.regionh.dk",
            "http://localhost:5173",
            "https://10.0.0.7:8443",
        ] {
            assert!(AllowedOrigin::try_from(ok.to_string()).is_ok(), "{ok}");
        }
        for (bad, rule) in [
            ("*", "no scheme"),
            ("https://*.regionh.dk", "wildcard"),
            ("https://dashboard.regionh.dk/", "path"),
            ("https://Dashboard.dk", "lower-case"),
            ("ftp://x.dk", "neither http"),
            ("https://x.dk:0", "port"),
            ("https://x.dk:99999", "port"),
            ("https://", "lower-case"),
        ] {
            let e = AllowedOrigin::try_from(bad.to_string()).expect_err(bad);
            assert!(
                e.contains(rule) && e.contains("server.cors_origins"),
                "{bad}: {e}"
            );
        }
    }
}
