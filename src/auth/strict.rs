//! What a verified token must also be, beyond what jsonwebtoken checks: its header and
//! payload are JSON objects without repeated names (serde_json would keep the last `role`),
//! no `crit` header parameter (RFC 7515 §4.1.11: a recipient must reject critical extensions
//! it does not understand, and this one understands none), `iss` a string, and a lifetime
//! (`exp − iat`, or `exp − now` without `iat`) within the role's maximum.

use super::Role;
use crate::config::MaxLifetimeSettings;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

fn segment(part: Option<&str>, what: &str) -> Result<Map<String, Value>, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.unwrap_or_default())
        .map_err(|_| format!("token: the {what} is not base64url"))?;
    match crate::domain::parse_unique(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(format!("token: the {what} is not a JSON object")),
        Err(e) => {
            let e = e.to_string();
            let reason = e.split(" at line ").next().unwrap_or(&e).to_string();
            Err(format!("token: {what}: {reason}"))
        }
    }
}

/// The strict checks, on a token whose signature and standard claims verified already.
pub fn check(token: &str, limits: &MaxLifetimeSettings, now: u64) -> Result<(), String> {
    let mut parts = token.split('.');
    let header = segment(parts.next(), "header")?;
    let payload = segment(parts.next(), "payload")?;
    if header.contains_key("crit") {
        return Err("token: critical header parameters (crit) are not understood".into());
    }
    if !payload.get("iss").is_some_and(Value::is_string) {
        return Err("token: iss must be a string".into());
    }
    let number = |name: &str| -> Result<Option<u64>, String> {
        match payload.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("token: {name} must be a whole number of seconds")),
        }
    };
    let exp = number("exp")?.ok_or("token: claim exp missing")?;
    let start = number("iat")?.unwrap_or(now);
    let role = payload
        .get("role")
        .and_then(Value::as_str)
        .and_then(Role::parse);
    if let Some(role) = role {
        let max = limits.of(role);
        if exp.saturating_sub(start) > max {
            return Err(format!(
                "token: lives longer than the {max} s allowed for the {role} role"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> MaxLifetimeSettings {
        MaxLifetimeSettings {
            patient: 3600,
            clinician: 43200,
            region: 43200,
            ministry: 43200,
            supplier: 43200,
        }
    }

    fn token(header: &str, payload: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    const H: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn strict_token_rules() {
        let ok = r#"{"iss":"i","role":"patient","iat":1000,"exp":4000}"#;
        assert_eq!(check(&token(H, ok), &limits(), 1000), Ok(()));
        let cases = [
            (
                H,
                r#"{"iss":"i","role":"patient","exp":2000,"role":"ministry"}"#,
                "duplicate key",
            ),
            (r#"{"alg":"HS256","alg":"none"}"#, ok, "duplicate key"),
            (r#"{"alg":"HS256","crit":["exp"]}"#, ok, "crit"),
            (
                H,
                r#"{"iss":["i"],"role":"patient","exp":2000}"#,
                "iss must be a string",
            ),
            (
                H,
                r#"{"iss":"i","role":"patient","iat":1000,"exp":4601}"#,
                "longer than the 3600 s",
            ),
            (
                H,
                r#"{"iss":"i","role":"ministry","exp":1000000000000000000}"#,
                "longer than",
            ),
            (
                H,
                r#"{"iss":"i","role":"patient","iat":"1000","exp":2000}"#,
                "iat must be",
            ),
        ];
        for (h, p, want) in cases {
            let e = check(&token(h, p), &limits(), 1000).expect_err(p);
            assert!(e.contains(want), "{p}: {e}");
        }
        // Without iat, the lifetime counts from now.
        let p = r#"{"iss":"i","role":"patient","exp":4000}"#;
        assert!(check(&token(H, p), &limits(), 300).is_err());
        assert!(check(&token(H, p), &limits(), 1000).is_ok());
    }
}
