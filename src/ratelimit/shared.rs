//! Buckets in Redis, shared by every replica. One Lua script reads, refills, takes and writes
//! a bucket atomically, on Redis's clock, so replicas with skewed clocks agree.

use super::Verdict;
use crate::config::Bucket;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use std::time::Duration;

const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local per_ms = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(s[1])
local at = tonumber(s[2])
if tokens == nil or at == nil then tokens = burst; at = now end
tokens = math.min(burst, tokens + math.max(0, now - at) * per_ms)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = math.ceil((cost - tokens) / per_ms) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / per_ms) + 1000)
return wait
";

pub struct Buckets {
    /// Cheap to clone; reconnects by itself after Redis went away, bounded by the timeouts.
    manager: ConnectionManager,
    script: Script,
    prefix: String,
    timeout: Duration,
}

impl Buckets {
    /// Connects lazily, on the first request: a gateway starts whether Redis answers or not.
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            // One quick retry: a request waits for Redis at most about twice the timeout
            // before it falls back to this process's own buckets.
            .set_number_of_retries(1);
        Ok(Self {
            manager: ConnectionManager::new_lazy_with_config(client, config)?,
            script: Script::new(SCRIPT),
            prefix: prefix.to_string(),
            timeout,
        })
    }

    pub async fn take(&self, key: String, bucket: Bucket, cost: u32) -> Result<Verdict, String> {
        let key = format!("{}:{key}", self.prefix);
        let mut conn = self.manager.clone();
        let mut invocation = self.script.key(&key);
        invocation
            .arg(bucket.per_second)
            .arg(bucket.burst)
            .arg(cost);
        let call = invocation.invoke_async::<u64>(&mut conn);
        // Bounded as a whole as well: connecting, the script's first load and the call.
        let deadline = self.timeout * 3;
        let wait_ms = actix_web::rt::time::timeout(deadline, call)
            .await
            .map_err(|_| format!("no answer within {} ms", deadline.as_millis()))?
            .map_err(|e| e.to_string())?;
        Ok(if wait_ms == 0 {
            Verdict::Allowed
        } else {
            Verdict::Limited {
                retry_after: Duration::from_millis(wait_ms),
            }
        })
    }
}
