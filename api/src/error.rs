//! The API's error: an HTTP status number and the body
//! `{"error": "<machine code>", "message": "<what was wrong>"}`. No web framework here: the
//! server turns it into a response (`rustybt::server::errors`), the Python package into an
//! exception.

use crate::ErrorBody;
use rustybt_actors::error::EngineError;
use rustybt_actors::state_machine::TransitionError;

/// The HTTP status numbers the API answers with.
mod status {
    pub const BAD_REQUEST: u16 = 400;
    pub const UNAUTHORIZED: u16 = 401;
    pub const NOT_FOUND: u16 = 404;
    pub const METHOD_NOT_ALLOWED: u16 = 405;
    pub const CONFLICT: u16 = 409;
    pub const UNPROCESSABLE_ENTITY: u16 = 422;
    pub const SERVICE_UNAVAILABLE: u16 = 503;
}

/// An answer other than success, with its status and error body.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status number (`422`).
    pub status: u16,
    /// Machine code.
    pub code: &'static str,
    /// What was wrong, naming the field and value where there is one.
    pub message: String,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the body is not JSON.
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(status::BAD_REQUEST, "malformed_json", message)
    }

    /// 422: a field is missing, unknown, of the wrong type, or out of range.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(status::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 404: no such strategy.
    pub fn unknown_strategy(name: &str) -> Self {
        Self::new(
            status::NOT_FOUND,
            "unknown_strategy",
            format!("no strategy named {name:?}"),
        )
    }

    /// 404: no route for the path. The path is shown up to 200 characters (never the query).
    pub fn not_found(path: &str) -> Self {
        Self::new(
            status::NOT_FOUND,
            "not_found",
            format!("no endpoint at {:?}", shorten(path)),
        )
    }

    /// 405: the path exists, but not for this method.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            status::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not allowed on {:?}", shorten(path)),
        )
    }

    /// 401.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(status::UNAUTHORIZED, "unauthorized", message)
    }
}

/// A client-chosen path, cut to a length fit for a message.
fn shorten(path: &str) -> String {
    const MAX: usize = 200;
    if path.chars().count() <= MAX {
        path.to_string()
    } else {
        let head: String = path.chars().take(MAX).collect();
        format!("{head}…")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// The answer's body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code.to_string(),
            message: self.message.clone(),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let message = e.to_string();
        match e {
            // An order the gate closed as expired is no longer held: as unknown (API v1.2).
            EngineError::Input(
                rustybt_actors::domain::InputError::UnknownOrder { .. }
                | rustybt_actors::domain::InputError::ExpiredOrder { .. },
            ) => Self::new(status::NOT_FOUND, "unknown_order", message),
            EngineError::Input(_) => Self::invalid("invalid_value", message),
            EngineError::Transition(t) => {
                let code = match t {
                    TransitionError::NothingToReset => "nothing_to_reset",
                    TransitionError::ResetAlreadyPending { .. } => "reset_already_pending",
                    TransitionError::NoResetPending { .. } => "no_reset_pending",
                    TransitionError::WrongToken => "wrong_confirmation_token",
                    TransitionError::ResetExpired { .. } => "reset_expired",
                    TransitionError::HeldByFirm { .. } => "held_by_firm",
                };
                Self::new(status::CONFLICT, code, message)
            }
            EngineError::Checkpoint(_) => Self::new(
                status::SERVICE_UNAVAILABLE,
                "checkpoint_unavailable",
                message,
            ),
            EngineError::Unavailable(_) => {
                Self::new(status::SERVICE_UNAVAILABLE, "engine_unavailable", message)
            }
        }
    }
}

impl From<rustybt_actors::firm::FirmOpError> for ApiError {
    fn from(e: rustybt_actors::firm::FirmOpError) -> Self {
        use rustybt_actors::firm::FirmError;
        use rustybt_actors::firm::{FirmOpError, FirmStoreError};
        let message = e.to_string();
        match e {
            FirmOpError::Input {
                field: "desk",
                problem,
                ..
            } if problem.starts_with("is no") => {
                Self::new(status::NOT_FOUND, "unknown_desk", message)
            }
            FirmOpError::Input { .. } => Self::invalid("invalid_value", message),
            FirmOpError::Refused(r) => {
                let code = match r {
                    FirmError::NothingToReset(_) => "nothing_to_reset",
                    FirmError::ResetAlreadyPending { .. } => "reset_already_pending",
                    FirmError::NoResetPending => "no_reset_pending",
                    FirmError::WrongToken => "wrong_confirmation_token",
                    FirmError::ResetExpired { .. } => "reset_expired",
                    FirmError::Membership(_) => "firm_figures_overflow",
                };
                Self::new(status::CONFLICT, code, message)
            }
            FirmOpError::Store(FirmStoreError::BusUnavailable(_)) => {
                Self::new(status::SERVICE_UNAVAILABLE, "bus_unavailable", message)
            }
            FirmOpError::Store(FirmStoreError::Checkpoint(_)) => Self::new(
                status::SERVICE_UNAVAILABLE,
                "checkpoint_unavailable",
                message,
            ),
            FirmOpError::UnknownHost(_) => Self::new(status::NOT_FOUND, "unknown_host", message),
            FirmOpError::HostConnected(_) => Self::new(status::CONFLICT, "host_connected", message),
            FirmOpError::Engine(e) => e.into(),
        }
    }
}

impl From<rustybt_actors::domain::InputError> for ApiError {
    fn from(e: rustybt_actors::domain::InputError) -> Self {
        EngineError::from(e).into()
    }
}
