//! Buckets in Redis, shared by every replica. One Lua script reads, refills, takes and writes
//! a bucket atomically, on Redis's clock, so replicas with skewed clocks agree.

use super::Verdict;
use crate::config::Bucket;
use diesel::r2d2::{ManageConnection, Pool};
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
    pool: Pool<Manager>,
    prefix: String,
}

impl Buckets {
    pub fn new(url: &str, prefix: &str, timeout: Duration) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let pool = Pool::builder()
            .max_size(8)
            .min_idle(Some(0))
            .connection_timeout(timeout)
            // Connection failures are reported by `take`; r2d2's own log would repeat them.
            .error_handler(Box::new(diesel::r2d2::NopErrorHandler))
            .build_unchecked(Manager { client, timeout });
        Ok(Self {
            pool,
            prefix: prefix.to_string(),
        })
    }

    /// Runs on the blocking pool: the client is synchronous and bounded by the timeout.
    pub async fn take(&self, key: String, bucket: Bucket, cost: u32) -> Result<Verdict, String> {
        let pool = self.pool.clone();
        let key = format!("{}:{key}", self.prefix);
        actix_web::rt::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let wait_ms: u64 = redis::cmd("EVAL")
                .arg(SCRIPT)
                .arg(1)
                .arg(&key)
                .arg(bucket.per_second)
                .arg(bucket.burst)
                .arg(cost)
                .query(&mut *conn)
                .map_err(|e| e.to_string())?;
            Ok(if wait_ms == 0 {
                Verdict::Allowed
            } else {
                Verdict::Limited {
                    retry_after: Duration::from_millis(wait_ms),
                }
            })
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

struct Manager {
    client: redis::Client,
    timeout: Duration,
}

impl ManageConnection for Manager {
    type Connection = redis::Connection;
    type Error = redis::RedisError;

    fn connect(&self) -> Result<redis::Connection, redis::RedisError> {
        let conn = self.client.get_connection_with_timeout(self.timeout)?;
        conn.set_read_timeout(Some(self.timeout))?;
        conn.set_write_timeout(Some(self.timeout))?;
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut redis::Connection) -> Result<(), redis::RedisError> {
        redis::cmd("PING").query::<String>(conn).map(|_| ())
    }

    fn has_broken(&self, conn: &mut redis::Connection) -> bool {
        !redis::ConnectionLike::is_open(conn)
    }
}
