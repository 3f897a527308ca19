//! Bearer tokens, compared in constant time.

use super::errors::ApiError;
use actix_web::HttpRequest;
use subtle::ConstantTimeEq;

/// Checks the request's `Authorization: Bearer <token>` against `expected`.
pub fn require_token(req: &HttpRequest, expected: &str) -> Result<(), ApiError> {
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        None => Err(ApiError::unauthorized(
            "missing Authorization: Bearer <token> (the token is RUSTYBT_API_TOKEN)",
        )),
        Some(t) if bool::from(t.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
        Some(_) => Err(ApiError::unauthorized("wrong API token")),
    }
}

/// Whether an address is loopback (GETs are open there).
pub fn is_loopback(addr: &std::net::SocketAddr) -> bool {
    addr.ip().is_loopback()
}
