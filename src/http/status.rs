//! How the API's refusals travel over HTTP: the status per error code, and the headers that
//! go with some (`Allow`, `WWW-Authenticate`, `Retry-After`).

use crate::error::{ApiError, Code};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// The status of a refusal with this code.
fn status(code: Code) -> StatusCode {
    match code {
        Code::BadRequest
        | Code::BadUserInput
        | Code::OperationLimit
        | Code::PersistedQueryNotFound => StatusCode::BAD_REQUEST,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::Conflict => StatusCode::CONFLICT,
        Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        Code::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
        Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Code::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Forbidden | Code::PersistedQueryRequired => StatusCode::FORBIDDEN,
        Code::RateLimited | Code::DisclosureBudget => StatusCode::TOO_MANY_REQUESTS,
        Code::Timeout => StatusCode::GATEWAY_TIMEOUT,
        Code::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
        Code::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        status(self.code)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        match self.code {
            Code::MethodNotAllowed => {
                res.insert_header((header::ALLOW, "POST"));
            }
            Code::Unauthenticated => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        if let Some(secs) = self.retry_after_secs {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        // For the request's log line and metrics (`request_span`).
        res.extensions_mut()
            .insert(super::request_span::RefusedWith(self.code));
        res.json(json!({ "errors": [self.to_graphql()] }))
    }
}
