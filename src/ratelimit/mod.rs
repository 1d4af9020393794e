//! Token buckets per client address and per principal. Each process keeps its own buckets in
//! memory; with a `redis://` store all replicas share them, and a process that cannot reach
//! Redis falls back to its own buckets rather than refusing or waving everyone through.

mod local;
mod shared;

use crate::auth::Role;
use crate::config::{Bucket, RateLimitSettings};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Whether a request may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Refused; a request of the same cost fits again after this long.
    Limited {
        retry_after: Duration,
    },
}

impl Verdict {
    /// `Retry-After` is whole seconds; round up so a client that obeys it is let in.
    pub fn retry_after_secs(self) -> Option<u64> {
        match self {
            Verdict::Allowed => None,
            Verdict::Limited { retry_after } => {
                let secs = retry_after.as_millis().div_ceil(1000);
                Some(u64::try_from(secs).unwrap_or(u64::MAX).max(1))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("rate_limit.store: {0}")]
pub struct StoreError(String);

pub struct RateLimiter {
    settings: RateLimitSettings,
    local: local::Buckets,
    shared: Option<shared::Buckets>,
    /// Whether the last Redis call failed, so the fallback is logged when it starts and ends
    /// rather than once per request.
    degraded: AtomicBool,
}

impl RateLimiter {
    /// Does not connect: a Redis that is down at startup is the same as one that goes down
    /// later (own buckets until it is back).
    pub fn new(settings: &RateLimitSettings) -> Result<Self, StoreError> {
        let store = settings.store.expose();
        let shared = if store == "memory" {
            None
        } else {
            Some(
                shared::Buckets::new(
                    store,
                    &settings.key_prefix,
                    Duration::from_millis(settings.redis_timeout_ms),
                )
                .map_err(|e| StoreError(e.to_string()))?,
            )
        };
        Ok(Self {
            settings: settings.clone(),
            local: local::Buckets::default(),
            shared,
            degraded: AtomicBool::new(false),
        })
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    pub fn trusted_proxies(&self) -> &[IpAddr] {
        &self.settings.trusted_proxies
    }

    /// `cost` requests from one client address.
    pub async fn check_address(&self, address: IpAddr, cost: u32) -> Verdict {
        self.take(format!("a:{address}"), self.settings.address, cost)
            .await
    }

    /// `cost` requests from one principal (its `sub` hashed).
    pub async fn check_principal(&self, role: Role, sub: &str, cost: u32) -> Verdict {
        self.take(
            format!("p:{role}:{}", hashed(sub)),
            self.settings.for_role(role),
            cost,
        )
        .await
    }

    /// One write (a mutation) of one principal, from its write budget (`rate_limit.writes`).
    pub async fn check_writes(&self, role: Role, sub: &str) -> Verdict {
        self.take(format!("w:{role}:{}", hashed(sub)), self.settings.writes, 1)
            .await
    }

    async fn take(&self, key: String, bucket: Bucket, cost: u32) -> Verdict {
        if !self.settings.enabled {
            return Verdict::Allowed;
        }
        if let Some(shared) = &self.shared {
            match shared.take(key.clone(), bucket, cost).await {
                Ok(v) => {
                    if self.degraded.swap(false, Ordering::Relaxed) {
                        tracing::info!("rate limits: Redis answers again; buckets are shared");
                    }
                    return v;
                }
                Err(e) => {
                    if !self.degraded.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %e, "rate limits: Redis unreachable; this process uses its own buckets until it answers");
                    }
                }
            }
        }
        self.local.take(&key, bucket, cost)
    }
}

/// A principal's key part: its `sub` hashed, since an identity provider may use personal
/// identifiers as subjects, and keys end up in Redis and in memory dumps.
fn hashed(sub: &str) -> String {
    let digest = Sha256::digest(sub.as_bytes());
    hex::encode(digest.get(..16).unwrap_or(&digest))
}

/// The arithmetic both stores use: refill since `elapsed`, then take `cost` if it is there.
/// Returns the tokens left and the verdict.
pub(crate) fn refill_and_take(
    tokens: f64,
    elapsed: Duration,
    bucket: Bucket,
    cost: u32,
) -> (f64, Verdict) {
    let burst = f64::from(bucket.burst);
    let tokens = (tokens + elapsed.as_secs_f64() * bucket.per_second).min(burst);
    let cost = f64::from(cost);
    if tokens >= cost {
        (tokens - cost, Verdict::Allowed)
    } else {
        let wait = (cost - tokens) / bucket.per_second;
        (
            tokens,
            Verdict::Limited {
                retry_after: Duration::from_secs_f64(wait.min(86_400.0)),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Bucket = Bucket {
        per_second: 2.0,
        burst: 3,
    };

    #[test]
    fn a_full_bucket_allows_its_burst_then_refills_at_its_rate() {
        let mut tokens = f64::from(B.burst);
        for _ in 0..3 {
            let (t, v) = refill_and_take(tokens, Duration::ZERO, B, 1);
            assert_eq!(v, Verdict::Allowed);
            tokens = t;
        }
        let (t, v) = refill_and_take(tokens, Duration::ZERO, B, 1);
        assert_eq!(v.retry_after_secs(), Some(1), "{v:?}");
        // Half a second at 2/s is one token.
        let (_, v) = refill_and_take(t, Duration::from_millis(500), B, 1);
        assert_eq!(v, Verdict::Allowed);
        // Never more than the burst, however long the pause.
        let (t, _) = refill_and_take(0.0, Duration::from_secs(3600), B, 0);
        assert_eq!(t, 3.0);
        // A batch larger than the burst never fits; it says how long it would take.
        let (_, v) = refill_and_take(3.0, Duration::ZERO, B, 5);
        assert_eq!(v.retry_after_secs(), Some(1));
    }
}
