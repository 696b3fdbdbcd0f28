//! The one error type of the API: every handler returns it, and it becomes a JSON response
//! in the Python Rackscope's shape (`{"detail": …}`) with the right status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rackscope_core::telemetry::SourceError;
use serde::Serialize;

/// The body of every error answer; `Error` in the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// An id that the loaded configuration does not have.
    #[error("{kind} `{id}` not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    BadRequest(String),
    /// No snapshot yet, for endpoints that have no degraded shape.
    #[error("{0}")]
    NotReady(&'static str),
    /// A request body past its route's limit.
    #[error("{0}")]
    TooLarge(String),
    /// A part of the server that is switched off, or not allowed to this client.
    #[error("{0}")]
    Forbidden(String),
    /// No credentials, or wrong ones.
    #[error("{0}")]
    Unauthorized(String),
    /// A well-formed request that breaks a rule (a password policy).
    #[error("{0}")]
    Unprocessable(String),
    /// Something on the server's side failed (the log has the details).
    #[error("{0}")]
    Internal(String),
    /// Over a rate limit; the value is how long until a retry can succeed.
    #[error("too many requests; retry in {} s", .0.as_secs().max(1))]
    TooManyRequests(std::time::Duration),
    /// Prometheus did not answer, or refused the query.
    #[error("{0}")]
    Prometheus(SourceError),
    /// A write without the `If-Match` its route requires (428).
    #[error("{0}")]
    PreconditionRequired(String),
    /// The resource changed since the client read it (412): its current entity tag and
    /// what changed, so the client can merge.
    #[error("{detail}")]
    Conflict {
        detail: String,
        current_etag: String,
        diff: String,
    },
    /// A short id that several rooms, racks or devices carry (409), with the candidates
    /// and their qualified paths.
    #[error("{detail}")]
    Ambiguous {
        detail: String,
        candidates: Vec<crate::resolve::Candidate>,
    },
    /// A submitted configuration that would not load (422), with every problem.
    #[error("{detail}")]
    Invalid {
        detail: String,
        problems: Vec<crate::editing::Problem>,
    },
}

impl ApiError {
    pub fn not_found(kind: &'static str, id: &str) -> ApiError {
        ApiError::NotFound {
            kind,
            id: id.to_owned(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            ApiError::Conflict { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::Ambiguous { .. } => StatusCode::CONFLICT,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Prometheus(e) => match e {
                SourceError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                SourceError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
                // Prometheus understood the request and refused the expression: the
                // caller's query is at fault, not the server.
                SourceError::Api { status: 400, .. } | SourceError::Api { status: 422, .. } => {
                    StatusCode::BAD_REQUEST
                }
                _ => StatusCode::BAD_GATEWAY,
            },
        }
    }
}

impl From<crate::resolve::Unresolved> for ApiError {
    fn from(e: crate::resolve::Unresolved) -> ApiError {
        let detail = e.to_string();
        match e {
            crate::resolve::Unresolved::Missing { kind, key } => {
                ApiError::NotFound { kind, id: key }
            }
            crate::resolve::Unresolved::Ambiguous { candidates, .. } => {
                ApiError::Ambiguous { detail, candidates }
            }
        }
    }
}

impl From<SourceError> for ApiError {
    fn from(e: SourceError) -> ApiError {
        ApiError::Prometheus(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // The two errors that carry more than a `detail`, for the client to act on.
        match &self {
            ApiError::Conflict {
                detail,
                current_etag,
                diff,
            } => {
                return (
                    self.status(),
                    Json(serde_json::json!({
                        "detail": detail,
                        "current_etag": current_etag,
                        "diff": diff,
                    })),
                )
                    .into_response();
            }
            ApiError::Ambiguous { detail, candidates } => {
                return (
                    self.status(),
                    Json(serde_json::json!({ "detail": detail, "candidates": candidates })),
                )
                    .into_response();
            }
            ApiError::Invalid { detail, problems } => {
                return (
                    self.status(),
                    Json(serde_json::json!({ "detail": detail, "problems": problems })),
                )
                    .into_response();
            }
            _ => {}
        }
        let body = ErrorBody {
            detail: self.to_string(),
        };
        let mut r = (self.status(), Json(body)).into_response();
        if let ApiError::Unauthorized(_) = &self {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        if let ApiError::TooManyRequests(wait) = &self
            && let Ok(v) = axum::http::HeaderValue::from_str(&wait.as_secs().max(1).to_string())
        {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        r
    }
}
