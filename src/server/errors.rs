//! The API's error as an actix answer. The error itself (status number, code, message, and
//! the mapping from the engine's errors) lives in [`rustybt_api::ApiError`], which the Python
//! package shares; this newtype only adds the HTTP response, which needs actix.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use std::ops::Deref;

/// An answer other than success: [`rustybt_api::ApiError`] as an actix [`ResponseError`].
#[derive(Debug, Clone)]
pub struct ApiError(pub rustybt_api::ApiError);

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self(rustybt_api::ApiError::new(status.as_u16(), code, message))
    }

    /// 400: the body is not JSON.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self(rustybt_api::ApiError::malformed(message))
    }

    /// 422: a field is missing, unknown, of the wrong type, or out of range.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self(rustybt_api::ApiError::invalid(code, message))
    }

    /// 404: no such strategy.
    pub fn unknown_strategy(name: &str) -> Self {
        Self(rustybt_api::ApiError::unknown_strategy(name))
    }

    /// 404: no route for the path.
    pub fn not_found(path: &str) -> Self {
        Self(rustybt_api::ApiError::not_found(path))
    }

    /// 405: the path exists, but not for this method.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self(rustybt_api::ApiError::method_not_allowed(method, path))
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self(rustybt_api::ApiError::unauthorized(message))
    }
}

impl Deref for ApiError {
    type Target = rustybt_api::ApiError;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        // Every status the API error is built with is a valid one; 500 guards the impossible.
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code()).json(self.0.body())
    }
}

/// Every error the shared one is built from becomes an answer through it.
impl<E: Into<rustybt_api::ApiError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}
