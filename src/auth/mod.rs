//! Bearer-token authentication: the signature against configured keys, then `exp`, `nbf`,
//! `iss` and `aud`, then the claims into a `Principal`. Every failure is one `AuthError`,
//! which the HTTP layer answers with 401.

mod keys;
mod principal;
mod strict;

pub use principal::{Actor, Principal, Role};

use crate::config::AuthSettings;
use jsonwebtoken::{Algorithm, AlgorithmFamily, EncodingKey, Header, Validation};
use keys::{JwksSource, KeyStore, Missing};
use serde_json::{Map, Value};
use std::str::FromStr;
use std::time::Duration;

/// Why a token was refused. The text is safe to show the caller: it says which check failed,
/// never anything about stored data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthError(pub String);

fn refuse(reason: impl Into<String>) -> AuthError {
    AuthError(reason.into())
}

impl From<Missing> for AuthError {
    fn from(m: Missing) -> Self {
        match m {
            Missing::UnknownKid => refuse("token: unknown key id"),
            Missing::Refused(e) => e,
        }
    }
}

/// A configuration the gateway cannot start with.
#[derive(Debug, thiserror::Error)]
#[error("auth: {0}")]
pub struct AuthConfigError(pub String);

/// Verifies tokens. Built once at startup; cheap to share.
pub struct Authenticator {
    algorithms: Vec<Algorithm>,
    keys: KeyStore,
    issuer: String,
    audience: String,
    leeway: u64,
    max_token_bytes: usize,
    max_lifetime: crate::config::MaxLifetimeSettings,
}

impl Authenticator {
    pub fn new(settings: &AuthSettings) -> Result<Self, AuthConfigError> {
        let mut algorithms = Vec::new();
        for name in &settings.algorithms {
            let alg = Algorithm::from_str(name).map_err(|_| {
                AuthConfigError(format!(
                    "algorithms: {name:?} is not a JWS algorithm (e.g. RS256, ES256, EdDSA)"
                ))
            })?;
            algorithms.push(alg);
        }
        let symmetric = algorithms
            .iter()
            .any(|a| a.family() == AlgorithmFamily::Hmac);
        let asymmetric = algorithms
            .iter()
            .any(|a| a.family() != AlgorithmFamily::Hmac);
        let source = match (settings.jwks_file.trim(), settings.jwks_url.trim()) {
            ("", "") => None,
            (file, "") => Some(JwksSource::File(file.to_string())),
            ("", url) if url.starts_with("https://") || url.starts_with("http://") => {
                Some(JwksSource::Url(url.to_string()))
            }
            ("", url) => {
                return Err(AuthConfigError(format!(
                    "jwks_url: {url:?} is not an http(s) URL"
                )))
            }
            _ => {
                return Err(AuthConfigError(
                    "set jwks_file or jwks_url, not both".into(),
                ))
            }
        };
        let jwks = source.is_some();
        let secret = settings.hs256_secret.expose();
        // No algorithm confusion: a key set and a shared secret never verify side by side.
        if jwks && symmetric {
            return Err(AuthConfigError(
                "algorithms lists an HMAC algorithm while a JWKS is configured; HS256 is for \
                 local demos only, remove it"
                    .into(),
            ));
        }
        if asymmetric && !jwks {
            return Err(AuthConfigError(
                "algorithms lists an asymmetric algorithm but neither jwks_file nor jwks_url is set"
                    .into(),
            ));
        }
        let keys = if let Some(source) = source {
            KeyStore::jwks(source, Duration::from_secs(settings.jwks_refresh_secs))
                .map_err(AuthConfigError)?
        } else {
            if algorithms.iter().any(|a| *a != Algorithm::HS256) {
                return Err(AuthConfigError(
                    "of the HMAC algorithms only HS256 is supported".into(),
                ));
            }
            if secret.len() < 32 {
                return Err(AuthConfigError(
                    "hs256_secret must be at least 32 bytes when HS256 is allowed".into(),
                ));
            }
            KeyStore::shared_secret(secret.as_bytes())
        };
        Ok(Self {
            algorithms,
            keys,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway: settings.leeway_secs,
            max_token_bytes: settings.max_token_bytes,
            max_lifetime: settings.max_lifetime_secs.clone(),
        })
    }

    /// True when tokens are checked with the shared demo secret.
    pub fn is_demo(&self) -> bool {
        self.keys.is_shared_secret()
    }

    /// As `verify_header`; a token naming a key id the set lacks reads the key set again
    /// (at most once per refresh interval, on the blocking pool) and is checked once more.
    pub async fn authenticate(&self, header: &[u8]) -> Result<Principal, AuthError> {
        match self.check_header(header) {
            Err(Missing::UnknownKid) => {
                if let Some(keys) = self.keys.key_set() {
                    let refreshed = actix_web::rt::task::spawn_blocking(move || keys.refresh())
                        .await
                        .unwrap_or(false);
                    if refreshed {
                        return self.verify_header(header);
                    }
                }
                Err(Missing::UnknownKid.into())
            }
            other => other.map_err(AuthError::from),
        }
    }

    /// The caller behind an `Authorization` header value, without reading the keys again.
    pub fn verify_header(&self, header: &[u8]) -> Result<Principal, AuthError> {
        self.check_header(header).map_err(AuthError::from)
    }

    fn check_header(&self, header: &[u8]) -> Result<Principal, Missing> {
        let header =
            std::str::from_utf8(header).map_err(|_| refuse("Authorization: not valid text"))?;
        let (scheme, token) = header
            .split_once(' ')
            .ok_or_else(|| refuse("Authorization: expected \"Bearer <token>\""))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(refuse("Authorization: only the Bearer scheme is accepted").into());
        }
        self.check(token.trim())
    }

    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        self.check(token).map_err(AuthError::from)
    }

    fn check(&self, token: &str) -> Result<Principal, Missing> {
        let no = Missing::Refused;
        if token.len() > self.max_token_bytes {
            return Err(no(refuse(format!(
                "token: longer than {} bytes",
                self.max_token_bytes
            ))));
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| no(refuse("token: not a well-formed JWT")))?;
        if !self.algorithms.contains(&header.alg) {
            return Err(no(refuse(format!(
                "token: algorithm {:?} is not accepted",
                header.alg
            ))));
        }
        let key = self.keys.key_for(header.alg, header.kid.as_deref())?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| no(refuse(describe(e.kind()))))?;
        strict::check(
            token,
            &self.max_lifetime,
            jsonwebtoken::get_current_timestamp(),
        )
        .map_err(|e| no(refuse(e)))?;
        Principal::from_claims(&data.claims).map_err(|e| no(refuse(format!("token: {e}"))))
    }

    /// Mints a demo token with the shared secret (`forloeb token`, `forloeb demo`).
    pub fn mint(
        settings: &AuthSettings,
        principal: &Principal,
        ttl: Duration,
    ) -> Result<String, AuthConfigError> {
        let secret = settings.hs256_secret.expose();
        if secret.is_empty() {
            return Err(AuthConfigError(
                "hs256_secret is empty: demo tokens need the shared secret; in production \
                 tokens come from the identity provider"
                    .into(),
            ));
        }
        let now = jsonwebtoken::get_current_timestamp();
        let mut claims = principal.claims();
        claims.insert("iss".into(), settings.issuer.clone().into());
        claims.insert("aud".into(), settings.audience.clone().into());
        claims.insert("iat".into(), now.into());
        claims.insert("nbf".into(), now.into());
        claims.insert("exp".into(), (now + ttl.as_secs()).into());
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .map_err(|e| AuthConfigError(format!("cannot sign the token: {e}")))
    }
}

fn describe(kind: &jsonwebtoken::errors::ErrorKind) -> String {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::ExpiredSignature => "token: expired".into(),
        K::ImmatureSignature => "token: not valid yet (nbf)".into(),
        K::InvalidIssuer => "token: wrong issuer".into(),
        K::InvalidAudience => "token: wrong audience".into(),
        K::InvalidSignature => "token: signature does not verify".into(),
        K::MissingRequiredClaim(c) => format!("token: claim {c} missing"),
        K::InvalidAlgorithm => "token: algorithm does not match the key".into(),
        _ => "token: not a valid JWT".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::domain::Ydernummer;

    fn settings() -> AuthSettings {
        Settings::load_from(None, Vec::new())
            .expect("defaults")
            .auth
    }

    #[test]
    fn minted_demo_tokens_verify() {
        let s = settings();
        let auth = Authenticator::new(&s).expect("auth");
        let p = Principal::new(
            "u1",
            Actor::Clinician(Ydernummer::parse("041234").expect("y")),
        );
        let token = Authenticator::mint(&s, &p, Duration::from_secs(60)).expect("mint");
        assert_eq!(auth.verify(&token).expect("verify"), p);
        let header = format!("Bearer {token}");
        assert_eq!(auth.verify_header(header.as_bytes()).expect("header"), p);
        assert!(auth
            .verify_header(format!("Basic {token}").as_bytes())
            .is_err());
    }

    #[test]
    fn hs256_beside_a_jwks_is_a_config_error() {
        let mut s = settings();
        s.jwks_file = "/nonexistent.json".into();
        let err = Authenticator::new(&s).err().expect("refused");
        assert!(err.to_string().contains("HMAC"), "{err}");
        s.algorithms = vec!["none".into()];
        assert!(Authenticator::new(&s).is_err());
    }
}
