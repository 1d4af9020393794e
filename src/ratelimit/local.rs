//! Buckets in this process's memory.

use super::{refill_and_take, Verdict};
use crate::config::Bucket;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Past this many keys, full buckets (which hold nothing a fresh one would not) are dropped.
const PRUNE_AT: usize = 100_000;

#[derive(Default)]
pub struct Buckets {
    state: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Buckets {
    pub fn take(&self, key: &str, bucket: Bucket, cost: u32) -> Verdict {
        let now = Instant::now();
        // A poisoned lock only means another request panicked mid-update; the numbers are
        // still numbers.
        let mut map = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PRUNE_AT && !map.contains_key(key) {
            let burst = f64::from(bucket.burst);
            map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * bucket.per_second < burst
            });
        }
        let (tokens, at) = map
            .get(key)
            .copied()
            .unwrap_or((f64::from(bucket.burst), now));
        let (left, verdict) = refill_and_take(tokens, now.duration_since(at), bucket, cost);
        map.insert(key.to_string(), (left, now));
        verdict
    }
}
