//! Cross-origin calls from browser applications: the origins listed in `server.cors_origins`
//! may call `/graphql` from a page (the preflight `OPTIONS` is answered, and answers carry
//! `Access-Control-Allow-Origin`); no origin is allowed unless listed. Tokens travel in the
//! `Authorization` header, never in cookies, so credentials are not allowed either.

use actix_cors::Cors;
use actix_web::http::header;
use serde::Deserialize;

/// One origin as a browser sends it: `https://host` or `http://host:port`, lower case, with
/// no path and no trailing slash. The host is always named (health data: no `*`, no
/// `*.region.dk`); the port may be `*` (`http://localhost:*`, the demo's: development servers
/// pick their own ports).
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
        if port.is_some_and(|p| p != "*" && !p.parse::<u16>().is_ok_and(|p| p != 0)) {
            return refuse("has a port that is not 1–65535 or *");
        }
        Ok(Self(s))
    }
}

impl AllowedOrigin {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a request's `Origin` is this one.
    fn allows(&self, origin: &[u8]) -> bool {
        match self.0.strip_suffix(":*") {
            // Any port, but a port: `http://localhost:*` is not `http://localhost.evil.dk`.
            Some(host) => origin.strip_prefix(host.as_bytes()).is_some_and(|rest| {
                rest.strip_prefix(b":").is_some_and(|port| {
                    port.first().is_some_and(|&d| d != b'0')
                        && port.iter().all(u8::is_ascii_digit)
                        && std::str::from_utf8(port).is_ok_and(|p| p.parse::<u16>().is_ok())
                })
            }),
            None => origin == self.0.as_bytes(),
        }
    }
}

/// The CORS middleware for these origins (none listed: every cross-origin call is refused by
/// the browser, as before). A preflight names the methods and request headers a GraphQL
/// client sends; the request id is readable by the page.
pub fn middleware(origins: &[AllowedOrigin]) -> Cors {
    let origins = origins.to_vec();
    Cors::default()
        .allowed_origin_fn(move |origin, _| origins.iter().any(|o| o.allows(origin.as_bytes())))
        .allowed_methods(["GET", "POST"])
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
    fn a_port_wildcard_allows_any_port_of_that_host_alone() {
        let o = AllowedOrigin::try_from("http://localhost:*".to_string()).expect("valid");
        for yes in ["http://localhost:5173", "http://localhost:1"] {
            assert!(o.allows(yes.as_bytes()), "{yes}");
        }
        for no in [
            "http://localhost",
            "http://localhost:",
            "http://localhost:0",
            "http://localhost:080",
            "http://localhost:+80",
            "http://localhost:65536",
            "http://localhost.evil.dk:80",
            "http://localhost:80.evil.dk",
            "https://localhost:5173",
            "http://127.0.0.1:5173",
        ] {
            assert!(!o.allows(no.as_bytes()), "{no}");
        }
        let exact = AllowedOrigin::try_from("http://localhost:5173".to_string()).expect("valid");
        assert!(exact.allows(b"http://localhost:5173"));
        assert!(!exact.allows(b"http://localhost:5174"));
    }

    #[test]
    fn origins_are_what_a_browser_sends() {
        for ok in [
            "https://dashboard.regionh.dk",
            "http://localhost:5173",
            "https://10.0.0.7:8443",
            "http://localhost:*",
        ] {
            assert!(AllowedOrigin::try_from(ok.to_string()).is_ok(), "{ok}");
        }
        for (bad, rule) in [
            ("*", "no scheme"),
            ("https://*.regionh.dk", "wildcard"),
            ("https://*:443", "wildcard"),
            ("http://localhost:8*", "port"),
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
