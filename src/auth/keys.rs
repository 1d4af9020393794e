//! The keys tokens are checked against: a JWKS from a file or an HTTPS URL (read again, at most
//! once per interval, when a token names a key id it lacks) or the shared demo secret.

use super::{refuse, AuthError};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use std::io::Read;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Largest JWKS document accepted.
const MAX_JWKS_BYTES: u64 = 1 << 20;
/// How long a JWKS fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the key set comes from.
#[derive(Debug, Clone)]
pub(super) enum JwksSource {
    File(String),
    Url(String),
}

impl JwksSource {
    fn read(&self) -> Result<JwkSet, String> {
        let text = match self {
            JwksSource::File(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("jwks_file: cannot read {path}: {e}"))?,
            JwksSource::Url(url) => {
                let tls = native_tls::TlsConnector::new()
                    .map_err(|e| format!("jwks_url: TLS unavailable: {e}"))?;
                let agent = ureq::AgentBuilder::new()
                    .timeout(FETCH_TIMEOUT)
                    .tls_connector(Arc::new(tls))
                    .build();
                let res = agent
                    .get(url)
                    .call()
                    .map_err(|e| format!("jwks_url: cannot fetch {url}: {e}"))?;
                let mut text = String::new();
                res.into_reader()
                    .take(MAX_JWKS_BYTES)
                    .read_to_string(&mut text)
                    .map_err(|e| format!("jwks_url: cannot read {url}: {e}"))?;
                text
            }
        };
        let set: JwkSet =
            serde_json::from_str(&text).map_err(|e| format!("{self}: not a JWKS: {e}"))?;
        if set.keys.is_empty() {
            return Err(format!("{self}: holds no keys"));
        }
        Ok(set)
    }
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(p) => write!(f, "jwks_file {p}"),
            JwksSource::Url(u) => write!(f, "jwks_url {u}"),
        }
    }
}

pub(super) enum KeyStore {
    SharedSecret(DecodingKey),
    Jwks(Arc<KeySet>),
}

pub(super) struct KeySet {
    source: JwksSource,
    refresh_every: Duration,
    loaded: RwLock<Loaded>,
}

struct Loaded {
    set: JwkSet,
    at: Instant,
}

/// Why no key was found: only an unknown `kid` is worth reading the key set again for.
pub(super) enum Missing {
    UnknownKid,
    Refused(AuthError),
}

impl From<AuthError> for Missing {
    fn from(e: AuthError) -> Self {
        Missing::Refused(e)
    }
}

impl KeyStore {
    pub(super) fn shared_secret(secret: &[u8]) -> Self {
        Self::SharedSecret(DecodingKey::from_secret(secret))
    }

    pub(super) fn jwks(source: JwksSource, refresh_every: Duration) -> Result<Self, String> {
        let set = source.read()?;
        Ok(Self::Jwks(Arc::new(KeySet {
            source,
            refresh_every,
            loaded: RwLock::new(Loaded {
                set,
                at: Instant::now(),
            }),
        })))
    }

    pub(super) fn is_shared_secret(&self) -> bool {
        matches!(self, Self::SharedSecret(_))
    }

    pub(super) fn key_set(&self) -> Option<Arc<KeySet>> {
        match self {
            Self::Jwks(k) => Some(k.clone()),
            Self::SharedSecret(_) => None,
        }
    }

    /// The key for a token's `alg` and `kid`, refusing any key of another family.
    pub(super) fn key_for(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
    ) -> Result<DecodingKey, Missing> {
        let mismatch = || Missing::Refused(refuse("token: algorithm does not match the key"));
        match self {
            Self::SharedSecret(key) if alg.family() == AlgorithmFamily::Hmac => Ok(key.clone()),
            Self::SharedSecret(_) => Err(mismatch()),
            Self::Jwks(_) if alg.family() == AlgorithmFamily::Hmac => Err(mismatch()),
            Self::Jwks(keys) => {
                let jwk = keys.lookup(kid, alg)?;
                let key = DecodingKey::from_jwk(&jwk).map_err(|_| {
                    Missing::Refused(refuse(
                        "token: the key set holds an unusable key for this kid",
                    ))
                })?;
                if key.family() != alg.family() {
                    return Err(mismatch());
                }
                Ok(key)
            }
        }
    }
}

impl KeySet {
    /// The JWK a token names. Without a `kid` only a one-key set answers. A JWK that declares
    /// its `alg` must declare the token's.
    fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Result<Jwk, Missing> {
        let guard = self
            .loaded
            .read()
            .map_err(|_| Missing::Refused(refuse("token: key set unavailable")))?;
        let jwk = match kid {
            Some(kid) => guard.set.find(kid),
            None if guard.set.keys.len() == 1 => guard.set.keys.first(),
            None => {
                return Err(Missing::Refused(refuse(
                    "token: kid missing and the key set holds several keys",
                )))
            }
        };
        let Some(jwk) = jwk else {
            return Err(Missing::UnknownKid);
        };
        if let Some(declared) = jwk.common.key_algorithm {
            if declared.to_string() != format!("{alg:?}") {
                return Err(Missing::Refused(refuse(
                    "token: algorithm does not match the key",
                )));
            }
        }
        Ok(jwk.clone())
    }

    /// Reads the key set again unless that was done within the refresh interval. Blocking:
    /// call it off the async workers. Returns whether a new set was loaded.
    pub(super) fn refresh(&self) -> bool {
        {
            let Ok(guard) = self.loaded.read() else {
                return false;
            };
            if guard.at.elapsed() < self.refresh_every {
                return false;
            }
        }
        let fetched = self.source.read();
        let Ok(mut guard) = self.loaded.write() else {
            return false;
        };
        guard.at = Instant::now();
        match fetched {
            Ok(set) => {
                tracing::info!(keys = set.keys.len(), source = %self.source, "key set read again for an unknown key id");
                guard.set = set;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "key set refresh failed; keeping the previous set");
                false
            }
        }
    }
}
