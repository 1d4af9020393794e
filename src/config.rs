//! Typed settings: `config/default.toml` (embedded in the binary), overridden by an optional
//! file, then by `FORLOEB_<SECTION>_<KEY>` environment variables. Unknown keys are errors that
//! name the key, so a typo never silently falls back to a default.

use crate::auth::Role;
use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// The defaults, compiled in so the binary runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Environment variables with this prefix override settings.
const ENV_PREFIX: &str = "FORLOEB_";
/// Variables under this prefix belong to the test harness, not to the gateway.
const ENV_TEST_PREFIX: &str = "FORLOEB_TEST_";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub auth: AuthSettings,
    pub access: AccessSettings,
    pub rollout: RolloutSettings,
    pub limits: LimitSettings,
    pub documents: DocumentSettings,
    pub rate_limit: RateLimitSettings,
    pub work: WorkSettings,
    pub import: ImportSettings,
    pub telemetry: TelemetrySettings,
}

/// OpenTelemetry traces (`[telemetry]`), off unless an endpoint is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// The collector's OTLP/HTTP base URL; spans go to `<it>/v1/traces`. Empty: no traces.
    pub otlp_endpoint: String,
    #[serde(deserialize_with = "otlp_protocol")]
    pub otlp_protocol: OtlpProtocol,
    pub service_name: String,
    /// Share of new traces sampled; a caller's `traceparent` decides for its own.
    pub sample_ratio: f64,
    /// A span per GraphQL field resolved (costly; for finding where time goes).
    pub field_spans: bool,
    pub export_timeout_ms: u64,
}

/// OTLP's encodings over HTTP, named as `OTEL_EXPORTER_OTLP_PROTOCOL` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    HttpProtobuf,
    HttpJson,
}

/// `telemetry.otlp_protocol`, with the key named when it is none of the two.
fn otlp_protocol<'de, D: serde::Deserializer<'de>>(d: D) -> Result<OtlpProtocol, D::Error> {
    match String::deserialize(d)?.as_str() {
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        "http/json" => Ok(OtlpProtocol::HttpJson),
        other => Err(serde::de::Error::custom(format!(
            "telemetry.otlp_protocol: \"{other}\" is neither \"http/protobuf\" nor \"http/json\" \
             (gRPC is not built in; a collector takes OTLP/HTTP on port 4318)"
        ))),
    }
}

/// What one line of a feed may hold (`[import]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    /// A longer line is rejected without being read whole into memory.
    pub max_line_bytes: usize,
    /// Free text: a goal, a milestone.
    pub max_text_chars: usize,
    /// Names of clinics and clusters.
    pub max_name_chars: usize,
    /// Identifiers and codes: plan ids, ydernumre, cluster ids, sources, event names.
    pub max_code_chars: usize,
}

impl Default for ImportSettings {
    /// The built-in defaults (config/default.toml; a test keeps the two equal), for imports
    /// that read no configuration.
    fn default() -> Self {
        Self {
            max_line_bytes: 1 << 20,
            max_text_chars: 2_000,
            max_name_chars: 200,
            max_code_chars: 100,
        }
    }
}

impl ImportSettings {
    /// The longest text the field may hold, in characters.
    pub fn max_chars(&self, field: &str) -> usize {
        match field {
            "text" => self.max_text_chars,
            "name" => self.max_name_chars,
            _ => self.max_code_chars,
        }
    }
}

/// Which documents each role may send, and who may introspect.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSettings {
    /// Roles that may send documents of their own (within the limits). Every other role may
    /// run only the trusted documents (the named operations of schema/operations/).
    pub ad_hoc_roles: Vec<Role>,
    /// Roles that may query `__schema` and `__type`.
    pub introspection_roles: Vec<Role>,
}

/// Token buckets per client address and per principal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub enabled: bool,
    /// "memory" (each process its own buckets) or a redis:// URL that replicas share.
    pub store: Secret,
    /// Keys in Redis start with this, so several deployments can share one server.
    pub key_prefix: String,
    /// Milliseconds a Redis round trip may take before the process falls back to its own buckets.
    pub redis_timeout_ms: u64,
    /// Peers whose `X-Forwarded-For` names the client (load balancers); others are the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub address: Bucket,
    pub patient: Bucket,
    pub clinician: Bucket,
    pub region: Bucket,
    pub ministry: Bucket,
    pub supplier: Bucket,
    /// Per principal, for writes (mutations) besides the role's bucket.
    pub writes: Bucket,
}

impl RateLimitSettings {
    pub fn for_role(&self, role: Role) -> Bucket {
        match role {
            Role::Patient => self.patient,
            Role::Clinician => self.clinician,
            Role::Region => self.region,
            Role::Ministry => self.ministry,
            Role::Supplier => self.supplier,
        }
    }
}

/// A token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    pub per_second: f64,
    pub burst: u32,
}

/// Operation limits, checked before execution (a refused operation gets OPERATION_LIMIT).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub document_bytes: usize,
    pub tokens: usize,
    pub depth: usize,
    pub complexity: u64,
    pub aliases: usize,
    pub root_fields: usize,
    pub directives: usize,
    pub fragment_spreads: usize,
    /// Requests in one batched (JSON array) POST; 0 turns batching off.
    pub batch: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutSettings {
    /// Seconds after which the in-memory rollout aggregates are rebuilt in the background
    /// (picking up plan views recorded by other gateway processes). Imports take effect at once.
    pub refresh_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// The `iss` every token must carry.
    pub issuer: String,
    /// A value the token's `aud` must contain.
    pub audience: String,
    /// Signature algorithms accepted, e.g. ["RS256", "ES256"]. "none" is never accepted.
    pub algorithms: Vec<String>,
    /// A JWKS file with the public keys; empty for none.
    pub jwks_file: String,
    /// An http(s) URL of the identity provider's JWKS; empty for none.
    pub jwks_url: String,
    /// At most one re-read of the JWKS per this many seconds when a token names an unknown `kid`.
    pub jwks_refresh_secs: u64,
    /// Shared HS256 secret for local demos; empty for none. Refused while a JWKS is configured.
    pub hs256_secret: Secret,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
    /// Tokens longer than this are refused before any parsing.
    pub max_token_bytes: usize,
    /// Whether requests without a token may run introspection-only documents.
    pub anonymous_introspection: bool,
    /// The longest a token may live (`exp − iat`, or `exp − now`), per role, in seconds.
    pub max_lifetime_secs: MaxLifetimeSettings,
}

/// The longest lifetime of a token per role, in seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxLifetimeSettings {
    pub patient: u64,
    pub clinician: u64,
    pub region: u64,
    pub ministry: u64,
    pub supplier: u64,
}

impl MaxLifetimeSettings {
    pub fn of(&self, role: crate::auth::Role) -> u64 {
        use crate::auth::Role;
        match role {
            Role::Patient => self.patient,
            Role::Clinician => self.clinician,
            Role::Region => self.region,
            Role::Ministry => self.ministry,
            Role::Supplier => self.supplier,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessSettings {
    /// Person counts from 1 to this minus one are suppressed for region and ministry users.
    pub disclosure_threshold: u32,
    /// 32 bytes in hex: the key of opaque patient ids (the same in every replica).
    pub patient_id_key: Secret,
    /// 32 bytes in hex: the secret of the record keys of disclosure control (the same in
    /// every replica; a new secret changes every controlled count).
    pub record_key_secret: Secret,
    /// Distinct controlled cells a user of each role may be answered per day.
    pub cell_budget: RoleAmounts,
}

/// An amount per staff role (patients and suppliers run no aggregate work and see no
/// controlled counts).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleAmounts {
    pub clinician: u64,
    pub region: u64,
    pub ministry: u64,
}

impl RoleAmounts {
    /// The amount for a role; None for patients and suppliers.
    pub fn get(&self, role: crate::auth::Role) -> Option<u64> {
        use crate::auth::Role;
        match role {
            Role::Clinician => Some(self.clinician),
            Role::Region => Some(self.region),
            Role::Ministry => Some(self.ministry),
            Role::Patient | Role::Supplier => None,
        }
    }

    /// The amount for a role, 0 for patients and suppliers.
    pub fn of(&self, role: crate::auth::Role) -> u64 {
        self.get(role).unwrap_or(0)
    }
}

/// Work admission (`access::work`): cost budgets per request, concurrency per role and user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkSettings {
    /// Units of work (plan versions scanned, listed patients read) one request may cost.
    pub budget: RoleAmounts,
    /// Aggregate questions running at once per role, in one process.
    pub concurrent: RoleAmounts,
    /// Aggregate questions running at once per user.
    pub per_user: u64,
    /// How long a request waits for its turn before 503 OVERLOADED.
    pub queue_ms: u64,
    /// Work of at least this many units needs a heavy slot as well.
    pub heavy_units: u64,
    /// Heavy work running at once in this process.
    pub heavy_concurrent: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub body_limit_bytes: usize,
    pub graphiql: bool,
    /// Serve the rollout dashboard at /dashboard.
    pub dashboard: bool,
    /// The date the dashboard opens with (YYYY-MM-DD); empty: today.
    pub dashboard_as_of: String,
    pub shutdown_timeout_secs: u64,
    pub workers: usize,
    /// Milliseconds a GraphQL request may run before it ends with TIMEOUT.
    pub request_timeout_ms: u64,
    /// Milliseconds a client has to send a request's whole body (408 past it).
    pub body_timeout_ms: u64,
    /// Requests one client address may have in flight at once (429 past it).
    pub max_requests_per_address: u64,
    /// Origins whose pages may call the API from a browser (CORS); none by default.
    pub cors_origins: Vec<crate::http::cors::AllowedOrigin>,
    /// Another address for `/metrics` alone (empty: served with the API on `bind`).
    pub metrics_bind: String,
    /// "" serves the whole graph (None); plans, population, clusters or rollout serves that
    /// federation subgraph (behind a router).
    #[serde(deserialize_with = "subgraph")]
    pub subgraph: Option<crate::federation::Subgraph>,
}

/// `server.subgraph`, parsed once when the settings load.
fn subgraph<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::federation::Subgraph>, D::Error> {
    let name = String::deserialize(d)?;
    if name.is_empty() {
        return Ok(None);
    }
    crate::federation::Subgraph::ALL
        .into_iter()
        .find(|s| s.as_str() == name)
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "server.subgraph: \"{name}\" is none of plans, population, clusters, rollout \
                 (or \"\" for the whole graph)"
            ))
        })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// May carry a password, so it never prints.
    pub url: Secret,
    pub pool_size: u32,
    /// Connections for patients' reads and readiness alone (0: none set apart).
    pub reserved_pool_size: u32,
    pub connect_timeout_secs: u64,
    pub ready_timeout_ms: u64,
    pub sqlite_busy_timeout_ms: u64,
    /// Milliseconds a PostgreSQL statement of the server may run (0: no limit). Imports and
    /// migrations are not bounded.
    pub statement_timeout_ms: u64,
}

impl DatabaseSettings {
    /// For migrations and imports, whose statements may rightly run for minutes.
    pub fn unbounded(&self) -> Self {
        Self {
            statement_timeout_ms: 0,
            reserved_pool_size: 0,
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

/// A value that must never reach a log line or `Debug` output.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The only way to read the value; grep for it when auditing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: String, message: String },
    #[error("config: {0}")]
    Invalid(String),
    #[error("environment variable {name} names no setting (expected FORLOEB_<SECTION>_<KEY>, sections: {sections})")]
    UnknownEnv { name: String, sections: String },
}

impl Settings {
    /// Defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// As `load`, with the environment passed in (tests must not mutate the process env).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = parse_toml("config/default.toml", DEFAULT_TOML)?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let overlay = parse_toml(&path.display().to_string(), &text)?;
            merge(&mut table, overlay);
        }
        apply_env(&mut table, env)?;
        let settings: Settings = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let positive = |name: &str, v: u64| {
            if v == 0 {
                Err(ConfigError::Invalid(format!(
                    "{name} must be greater than 0"
                )))
            } else {
                Ok(())
            }
        };
        positive("database.pool_size", u64::from(self.database.pool_size))?;
        positive("database.ready_timeout_ms", self.database.ready_timeout_ms)?;
        positive(
            "database.connect_timeout_secs",
            self.database.connect_timeout_secs,
        )?;
        positive(
            "server.body_limit_bytes",
            self.server.body_limit_bytes as u64,
        )?;
        positive(
            "access.disclosure_threshold",
            u64::from(self.access.disclosure_threshold),
        )?;
        positive("auth.max_token_bytes", self.auth.max_token_bytes as u64)?;
        positive("server.request_timeout_ms", self.server.request_timeout_ms)?;
        positive("server.body_timeout_ms", self.server.body_timeout_ms)?;
        positive(
            "server.max_requests_per_address",
            self.server.max_requests_per_address,
        )?;
        positive("work.per_user", self.work.per_user)?;
        positive("import.max_line_bytes", self.import.max_line_bytes as u64)?;
        positive("import.max_text_chars", self.import.max_text_chars as u64)?;
        positive("import.max_name_chars", self.import.max_name_chars as u64)?;
        positive("import.max_code_chars", self.import.max_code_chars as u64)?;
        positive("work.heavy_concurrent", self.work.heavy_concurrent)?;
        for role in [Role::Clinician, Role::Region, Role::Ministry] {
            positive(
                &format!("work.concurrent.{role}"),
                self.work.concurrent.of(role),
            )?;
        }
        let rl = &self.rate_limit;
        for (name, b) in [
            ("address", rl.address),
            ("patient", rl.patient),
            ("clinician", rl.clinician),
            ("region", rl.region),
            ("ministry", rl.ministry),
            ("supplier", rl.supplier),
            ("writes", rl.writes),
        ] {
            if !(b.per_second.is_finite() && b.per_second > 0.0) || b.burst == 0 {
                return Err(ConfigError::Invalid(format!(
                    "rate_limit.{name}: per_second and burst must be greater than 0 \
                     (turn limits off with rate_limit.enabled = false)"
                )));
            }
        }
        let as_of = &self.server.dashboard_as_of;
        if !as_of.is_empty() && crate::domain::parse_date(as_of).is_err() {
            return Err(ConfigError::Invalid(format!(
                "server.dashboard_as_of: {as_of:?} is not a date YYYY-MM-DD (or \"\" for today)"
            )));
        }
        let store = rl.store.expose();
        if store != "memory" && !store.starts_with("redis://") && !store.starts_with("rediss://") {
            return Err(ConfigError::Invalid(
                "rate_limit.store must be \"memory\" or a redis:// URL".into(),
            ));
        }
        if self.auth.algorithms.is_empty() {
            return Err(ConfigError::Invalid(
                "auth.algorithms must name at least one algorithm".into(),
            ));
        }
        let t = &self.telemetry;
        if !(0.0..=1.0).contains(&t.sample_ratio) {
            return Err(ConfigError::Invalid(
                "telemetry.sample_ratio must be between 0.0 and 1.0".into(),
            ));
        }
        let endpoint = t.otlp_endpoint.trim();
        let http = ["http://", "https://"]
            .iter()
            .any(|p| endpoint.starts_with(p));
        if !endpoint.is_empty() && !http {
            return Err(ConfigError::Invalid(format!(
                "telemetry.otlp_endpoint: \"{endpoint}\" is not an http:// or https:// URL \
                 (the collector's OTLP/HTTP address, e.g. http://127.0.0.1:4318)"
            )));
        }
        positive("telemetry.export_timeout_ms", t.export_timeout_ms)?;
        if self.database.url.expose().trim().is_empty() {
            return Err(ConfigError::Invalid(
                "database.url must not be empty".into(),
            ));
        }
        Ok(())
    }
}

fn parse_toml(path: &str, text: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Syntax {
            path: path.to_string(),
            message: e.message().to_string(),
        })
}

/// Overlay keys replace base keys; tables merge recursively. Keys the base lacks stay in, so
/// that deserialization rejects them by name.
fn merge(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

/// `FORLOEB_DATABASE_URL=…` sets `[database] url`. The section is matched against the known
/// sections so that keys may contain underscores; values are read as TOML scalars when they
/// parse as such (numbers, booleans) and as strings otherwise.
fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let sections: Vec<String> = table.keys().cloned().collect();
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if name.starts_with(ENV_TEST_PREFIX) {
            continue;
        }
        let rest = rest.to_ascii_lowercase();
        let found = sections.iter().find_map(|s| {
            rest.strip_prefix(s.as_str())
                .and_then(|r| r.strip_prefix('_'))
                .filter(|k| !k.is_empty())
                .map(|k| (s.clone(), k.to_string()))
        });
        let Some((section, key)) = found else {
            return Err(ConfigError::UnknownEnv {
                name,
                sections: sections.join(", "),
            });
        };
        let value = scalar(&raw);
        if let Some(toml::Value::Table(t)) = table.get_mut(&section) {
            t.insert(key, value);
        }
    }
    Ok(())
}

fn scalar(raw: &str) -> toml::Value {
    if let Ok(b) = raw.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    if let Ok(i) = raw.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(f) = raw.parse::<f64>() {
        return toml::Value::Float(f);
    }
    // Lists are TOML arrays, FORLOEB_AUTH_ALGORITHMS='["RS256","ES256"]'; small tables are
    // inline tables, FORLOEB_RATE_LIMIT_PATIENT='{ per_second = 2.0, burst = 20 }'.
    let start = raw.trim_start();
    if start.starts_with('[') || start.starts_with('{') {
        if let Ok(mut t) = format!("v = {raw}").parse::<toml::Table>() {
            if let Some(v @ (toml::Value::Array(_) | toml::Value::Table(_))) = t.remove("v") {
                return v;
            }
        }
    }
    toml::Value::String(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load() {
        let s = Settings::load_from(None, env(&[])).expect("defaults");
        assert_eq!(s.import, ImportSettings::default());
        assert_eq!(s.database.url.expose(), "forloeb.db");
        assert_eq!(s.log.format, LogFormat::Text);
    }

    #[test]
    fn env_overrides_with_underscored_keys() {
        let s = Settings::load_from(
            None,
            env(&[
                ("FORLOEB_DATABASE_URL", "postgres://u:pw@h/db"),
                ("FORLOEB_SERVER_BODY_LIMIT_BYTES", "1000"),
                ("FORLOEB_SERVER_GRAPHIQL", "false"),
                ("FORLOEB_TEST_POSTGRES_URL", "ignored"),
                ("PATH", "/bin"),
            ]),
        )
        .expect("env");
        assert_eq!(s.database.url.expose(), "postgres://u:pw@h/db");
        assert_eq!(s.server.body_limit_bytes, 1000);
        assert!(!s.server.graphiql);
    }

    #[test]
    fn the_subgraph_is_parsed_when_the_settings_load() {
        let whole = Settings::load_from(None, env(&[])).expect("defaults");
        assert_eq!(whole.server.subgraph, None);
        let plans =
            Settings::load_from(None, env(&[("FORLOEB_SERVER_SUBGRAPH", "plans")])).expect("plans");
        assert_eq!(
            plans.server.subgraph,
            Some(crate::federation::Subgraph::Plans)
        );
        let err = Settings::load_from(None, env(&[("FORLOEB_SERVER_SUBGRAPH", "plan")]))
            .expect_err("no such subgraph");
        assert!(
            err.to_string().contains(
                "server.subgraph: \"plan\" is none of plans, population, clusters, rollout"
            ),
            "{err}"
        );
    }

    #[test]
    fn telemetry_is_off_by_default_and_its_settings_are_checked() {
        let s = Settings::load_from(None, env(&[])).expect("defaults");
        assert!(s.telemetry.otlp_endpoint.is_empty());
        assert_eq!(s.telemetry.otlp_protocol, OtlpProtocol::HttpProtobuf);
        let json = Settings::load_from(
            None,
            env(&[
                ("FORLOEB_TELEMETRY_OTLP_ENDPOINT", "http://127.0.0.1:4318"),
                ("FORLOEB_TELEMETRY_OTLP_PROTOCOL", "http/json"),
            ]),
        )
        .expect("json");
        assert_eq!(json.telemetry.otlp_protocol, OtlpProtocol::HttpJson);
        for (key, value, named) in [
            (
                "FORLOEB_TELEMETRY_SAMPLE_RATIO",
                "1.5",
                "telemetry.sample_ratio",
            ),
            (
                "FORLOEB_TELEMETRY_OTLP_ENDPOINT",
                "127.0.0.1:4318",
                "telemetry.otlp_endpoint",
            ),
            ("FORLOEB_TELEMETRY_OTLP_PROTOCOL", "grpc", "otlp_protocol"),
        ] {
            let err = Settings::load_from(None, env(&[(key, value)])).expect_err(key);
            assert!(err.to_string().contains(named), "{key}: {err}");
        }
    }

    #[test]
    fn unknown_env_key_is_named() {
        let err = Settings::load_from(None, env(&[("FORLOEB_SERVER_BINDD", "x")]))
            .expect_err("unknown key");
        assert!(err.to_string().contains("bindd"), "{err}");
        let err = Settings::load_from(None, env(&[("FORLOEB_NOPE", "x")])).expect_err("section");
        assert!(err.to_string().contains("FORLOEB_NOPE"), "{err}");
    }

    #[test]
    fn unknown_file_key_is_named() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[database]\nurll = \"x\"\n").expect("write");
        let err = Settings::load_from(Some(&path), env(&[])).expect_err("unknown");
        assert!(err.to_string().contains("urll"), "{err}");
        std::fs::write(&path, "[databse]\nurl = \"x\"\n").expect("write");
        let err = Settings::load_from(Some(&path), env(&[])).expect_err("unknown");
        assert!(err.to_string().contains("databse"), "{err}");
    }

    #[test]
    fn file_overrides_only_what_it_names() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[server]\nbind = \"0.0.0.0:9\"\n").expect("write");
        let s = Settings::load_from(Some(&path), env(&[])).expect("file");
        assert_eq!(s.server.bind, "0.0.0.0:9");
        assert_eq!(s.database.pool_size, 8);
    }

    #[test]
    fn wrong_type_is_an_error() {
        let err = Settings::load_from(None, env(&[("FORLOEB_DATABASE_POOL_SIZE", "many")]))
            .expect_err("type");
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn secrets_never_print() {
        let s = Settings::load_from(
            None,
            env(&[("FORLOEB_DATABASE_URL", "postgres://u:hunter2@h/db")]),
        )
        .expect("env");
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("Secret(***)"));
    }
}
