//! The error of the API boundary (a request refused before or instead of execution) and the
//! GraphQL `extensions.code` values, in one place. How each maps to an HTTP status is the
//! HTTP layer's (`http::status`).

use serde_json::json;

/// Machine-readable codes clients branch on (`extensions.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    BadRequest,
    BadUserInput,
    Conflict,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,
    UnsupportedMediaType,
    PayloadTooLarge,
    OperationLimit,
    Unauthenticated,
    Forbidden,
    PersistedQueryRequired,
    PersistedQueryNotFound,
    RateLimited,
    DisclosureBudget,
    Overloaded,
    RequestTimeout,
    Timeout,
    Internal,
}

impl Code {
    pub const ALL: [Code; 19] = [
        Code::BadRequest,
        Code::BadUserInput,
        Code::Conflict,
        Code::NotFound,
        Code::MethodNotAllowed,
        Code::NotAcceptable,
        Code::UnsupportedMediaType,
        Code::PayloadTooLarge,
        Code::OperationLimit,
        Code::Unauthenticated,
        Code::Forbidden,
        Code::PersistedQueryRequired,
        Code::PersistedQueryNotFound,
        Code::RateLimited,
        Code::DisclosureBudget,
        Code::Overloaded,
        Code::RequestTimeout,
        Code::Timeout,
        Code::Internal,
    ];

    /// The code of an `extensions.code` value, if it is one of ours.
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadRequest => "BAD_REQUEST",
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::Conflict => "CONFLICT",
            Code::NotFound => "NOT_FOUND",
            Code::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Code::NotAcceptable => "NOT_ACCEPTABLE",
            Code::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Code::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Code::OperationLimit => "OPERATION_LIMIT",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::PersistedQueryRequired => "PERSISTED_QUERY_REQUIRED",
            Code::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Code::RateLimited => "RATE_LIMITED",
            Code::DisclosureBudget => "DISCLOSURE_BUDGET",
            Code::Overloaded => "OVERLOADED",
            Code::RequestTimeout => "REQUEST_TIMEOUT",
            Code::Timeout => "TIMEOUT",
            Code::Internal => "INTERNAL",
        }
    }
}

/// A request refused before or instead of GraphQL execution. Rendered as a GraphQL error body
/// so clients parse one shape whatever went wrong.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: Code,
    pub message: String,
    /// Seconds until a rate-limited client may try again (`Retry-After`).
    pub retry_after_secs: Option<u64>,
    /// Set on INTERNAL and TIMEOUT errors, so a report can be matched to the log.
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_secs: None,
            request_id: None,
        }
    }

    pub fn rate_limited(retry_after_secs: u64, whose: &str) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(
                Code::RateLimited,
                format!("too many requests from this {whose}; try again in {retry_after_secs} s"),
            )
        }
    }

    /// Past the user's daily budget of distinct controlled cells: refused until midnight in
    /// Copenhagen, when the budget starts again.
    pub fn disclosure_budget(budget: u64, now: crate::domain::Timestamp) -> Self {
        Self {
            retry_after_secs: Some(now.secs_to_local_midnight()),
            ..Self::new(
                Code::DisclosureBudget,
                format!(
                    "this answer would take you past today's budget of {budget} distinct \
                     disclosure-controlled person counts for questions of your own; the named \
                     operations (schema/operations) are not limited, and the budget starts \
                     again at midnight (Europe/Copenhagen)"
                ),
            )
        }
    }

    /// Aggregate work could not get its turn within `work.queue_ms`.
    pub fn overloaded() -> Self {
        Self {
            retry_after_secs: Some(2),
            ..Self::new(
                Code::Overloaded,
                "the gateway is busy with other aggregate questions of your role or of yours; \
                 try again in a moment",
            )
        }
    }

    pub fn with_request_id(mut self, id: &str) -> Self {
        self.request_id = Some(id.to_string());
        self
    }

    /// The GraphQL error object, as it appears in `errors`.
    pub fn to_graphql(&self) -> serde_json::Value {
        let mut extensions = serde_json::Map::new();
        extensions.insert("code".into(), json!(self.code.as_str()));
        if let Some(id) = &self.request_id {
            extensions.insert("requestId".into(), json!(id));
        }
        json!({ "message": self.message, "extensions": extensions })
    }
}
