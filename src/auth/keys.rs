//! The keys tokens are checked against: a JWKS file (re-read, at most once per interval, when
//! a token names a key id it lacks) or the shared demo secret.

use super::{refuse, AuthError};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub(super) enum KeyStore {
    SharedSecret(DecodingKey),
    Jwks {
        path: String,
        refresh_every: Duration,
        loaded: RwLock<Loaded>,
    },
}

pub(super) struct Loaded {
    set: JwkSet,
    at: Instant,
}

fn read_jwks(path: &str) -> Result<JwkSet, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("jwks_file: cannot read {path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("jwks_file: {path} is not a JWKS: {e}"))
}

impl KeyStore {
    pub(super) fn shared_secret(secret: &[u8]) -> Self {
        Self::SharedSecret(DecodingKey::from_secret(secret))
    }

    pub(super) fn jwks(path: &str, refresh_every: Duration) -> Result<Self, String> {
        let set = read_jwks(path)?;
        if set.keys.is_empty() {
            return Err(format!("jwks_file: {path} holds no keys"));
        }
        Ok(Self::Jwks {
            path: path.to_string(),
            refresh_every,
            loaded: RwLock::new(Loaded {
                set,
                at: Instant::now(),
            }),
        })
    }

    pub(super) fn is_shared_secret(&self) -> bool {
        matches!(self, Self::SharedSecret(_))
    }

    /// The key for a token's `alg` and `kid`, refusing any key of another family.
    pub(super) fn key_for(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<DecodingKey, AuthError> {
        match self {
            Self::SharedSecret(key) => {
                if alg.family() != AlgorithmFamily::Hmac {
                    return Err(refuse("token: algorithm does not match the key"));
                }
                Ok(key.clone())
            }
            Self::Jwks {
                path,
                refresh_every,
                loaded,
            } => {
                if alg.family() == AlgorithmFamily::Hmac {
                    return Err(refuse("token: algorithm does not match the key"));
                }
                let found = lookup(loaded, kid, alg)?;
                let jwk = match found {
                    Some(jwk) => jwk,
                    None => {
                        refresh(path, *refresh_every, loaded);
                        lookup(loaded, kid, alg)?.ok_or_else(|| refuse("token: unknown key id"))?
                    }
                };
                let key = DecodingKey::from_jwk(&jwk)
                    .map_err(|_| refuse("token: the key set holds an unusable key for this kid"))?;
                if key.family() != alg.family() {
                    return Err(refuse("token: algorithm does not match the key"));
                }
                Ok(key)
            }
        }
    }
}

/// The JWK a token names. Without a `kid` only a one-key set answers. A JWK that declares its
/// `alg` must declare the token's.
fn lookup(
    loaded: &RwLock<Loaded>,
    kid: Option<&str>,
    alg: Algorithm,
) -> Result<Option<jsonwebtoken::jwk::Jwk>, AuthError> {
    let guard = loaded
        .read()
        .map_err(|_| refuse("token: key set unavailable"))?;
    let jwk = match kid {
        Some(kid) => guard.set.find(kid),
        None if guard.set.keys.len() == 1 => guard.set.keys.first(),
        None => {
            return Err(refuse(
                "token: kid missing and the key set holds several keys",
            ))
        }
    };
    let Some(jwk) = jwk else { return Ok(None) };
    if let Some(declared) = jwk.common.key_algorithm {
        if declared.to_string() != format!("{alg:?}") {
            return Err(refuse("token: algorithm does not match the key"));
        }
    }
    Ok(Some(jwk.clone()))
}

fn refresh(path: &str, every: Duration, loaded: &RwLock<Loaded>) {
    let Ok(mut guard) = loaded.write() else {
        return;
    };
    if guard.at.elapsed() < every {
        return;
    }
    guard.at = Instant::now();
    match read_jwks(path) {
        Ok(set) if !set.keys.is_empty() => {
            tracing::info!(keys = set.keys.len(), "JWKS re-read for an unknown key id");
            guard.set = set;
        }
        Ok(_) => tracing::warn!("JWKS re-read found no keys; keeping the previous set"),
        Err(e) => tracing::warn!(error = %e, "JWKS re-read failed; keeping the previous set"),
    }
}
