//! Decoding a `/graphql` request per the GraphQL-over-HTTP specification: the media type to
//! answer in, the body (bounded while it is read), and the request's parameters, each checked
//! and named in the error when wrong.

use crate::error::{ApiError, Code};
use crate::service::Call;
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use serde_json::{Map, Value};
use std::collections::HashMap;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type the answer is written in, chosen from the client's `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    GraphqlResponseJson,
    Json,
}

impl ResponseType {
    pub fn negotiate(req: &HttpRequest) -> Result<Self, ApiError> {
        let Some(accept) = req.headers().get(header::ACCEPT) else {
            return Ok(Self::Json);
        };
        let accept = accept.to_str().unwrap_or_default();
        for part in accept.split(',') {
            let mut params = part.split(';');
            let media = params
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let refused = params.any(|p| {
                let p = p.replace(' ', "");
                p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
            });
            if refused {
                continue;
            }
            match media.as_str() {
                GRAPHQL_RESPONSE_JSON => return Ok(Self::GraphqlResponseJson),
                JSON | "application/*" | "*/*" => return Ok(Self::Json),
                _ => {}
            }
        }
        Err(ApiError::new(
            Code::NotAcceptable,
            "Accept: the gateway answers in application/graphql-response+json or application/json",
        ))
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        }
    }
}

/// The parameters of one GraphQL request, checked field by field.
pub mod call {
    use super::*;

    /// One member of a POST body.
    pub fn from_json(body: Value) -> Result<Call, ApiError> {
        let Value::Object(mut fields) = body else {
            return Err(bad_request("a request must be a JSON object"));
        };
        let query = match fields.remove("query") {
            Some(Value::String(q)) => Some(q),
            None | Some(Value::Null) => None,
            Some(_) => return Err(bad_request("query: must be a string")),
        };
        let operation_name = match fields.remove("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(bad_request("operationName: must be a string or null")),
        };
        let variables = object_or_null(fields.remove("variables"), "variables")?;
        let extensions = object_or_null(fields.remove("extensions"), "extensions")?;
        let document_id = match fields.remove("documentId") {
            None | Some(Value::Null) => persisted_hash(extensions.as_ref())?,
            Some(Value::String(id)) => Some(id),
            Some(_) => return Err(bad_request("documentId: must be a string")),
        };
        named(Call {
            query,
            document_id,
            operation_name,
            variables,
            queries_only: false,
        })
    }

    /// A GET's query string: only queries may run.
    pub fn from_query_string(qs: &str) -> Result<Call, ApiError> {
        let params = web::Query::<HashMap<String, String>>::from_query(qs)
            .map_err(|_| bad_request("the query string is not valid URL encoding"))?
            .into_inner();
        let json_param = |name: &str| -> Result<Option<Map<String, Value>>, ApiError> {
            match params.get(name).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(raw) => {
                    let parsed = serde_json::from_str::<Value>(raw)
                        .map_err(|_| bad_request(format!("{name}: must be JSON")))?;
                    object_or_null(Some(parsed), name)
                }
            }
        };
        let non_empty = |name: &str| params.get(name).filter(|s| !s.is_empty()).cloned();
        let document_id = match non_empty("documentId") {
            Some(id) => Some(id),
            None => persisted_hash(json_param("extensions")?.as_ref())?,
        };
        named(Call {
            query: non_empty("query"),
            document_id,
            operation_name: non_empty("operationName"),
            variables: json_param("variables")?,
            queries_only: true,
        })
    }

    /// A request must name its document one way or the other.
    fn named(call: Call) -> Result<Call, ApiError> {
        if call.query.is_none() && call.document_id.is_none() {
            return Err(bad_request(
                "query: missing; send the GraphQL document in \"query\", or a trusted \
                 document's id in \"documentId\"",
            ));
        }
        Ok(call)
    }
}

/// `extensions.persistedQuery.sha256Hash`, as Apollo clients send it.
fn persisted_hash(extensions: Option<&Map<String, Value>>) -> Result<Option<String>, ApiError> {
    let Some(pq) = extensions.and_then(|e| e.get("persistedQuery")) else {
        return Ok(None);
    };
    match pq.get("sha256Hash") {
        Some(Value::String(h)) => Ok(Some(h.clone())),
        _ => Err(bad_request(
            "extensions.persistedQuery.sha256Hash: must be the document's SHA-256 in hex",
        )),
    }
}

fn object_or_null(v: Option<Value>, name: &str) -> Result<Option<Map<String, Value>>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(bad_request(format!("{name}: must be an object or null"))),
    }
}

pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::BadRequest, message)
}

pub fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let unsupported = || {
        ApiError::new(
            Code::UnsupportedMediaType,
            "Content-Type: send the request as application/json",
        )
    };
    let value = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unsupported)?;
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(JSON) {
        return Err(unsupported());
    }
    for p in parts {
        if let Some((k, v)) = p.split_once('=') {
            let v = v.trim().trim_matches('"');
            if k.trim().eq_ignore_ascii_case("charset") && !v.eq_ignore_ascii_case("utf-8") {
                return Err(ApiError::new(
                    Code::UnsupportedMediaType,
                    "Content-Type: the only charset accepted is utf-8",
                ));
            }
        }
    }
    Ok(())
}

/// Reads the body, refusing it as soon as it passes the limit (not after buffering it all).
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    let too_large = || {
        ApiError::new(
            Code::PayloadTooLarge,
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| bad_request("the request body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
