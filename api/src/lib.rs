//! The bodies of the HTTP API (`../shared/API.md`), as types every side shares: the server
//! builds its answers from them, the Rust client (`rustybt::client`) reads them back and the
//! Python package (`rustybt_live`) reads the same bodies and gets its type hints generated
//! from them ([`python`]), so a field cannot be renamed on one side only. Serde derives are the
//! one JSON encoding; the engine's own types are used where they already carry `Serialize` and
//! `Deserialize` (orders, fills, the audit trail, the reset ticket).
//!
//! The crate depends on the engine (`rustybt-actors`) and serde only: no web server, no bus,
//! no charts, so the Python wheel can take it without the server's dependencies.
//!
//! The status mirrors the engine's `EngineStatus` field for field: that type is only
//! `Serialize`, and a client needs to read it back. A test checks that both encode to the same
//! JSON.

mod answers;
pub mod body;
mod error;
mod firm;
pub mod python;
mod requests;
mod status;
#[cfg(test)]
mod tests;

pub use answers::*;
pub use body::{parse, parse_value, DecimalFields};
pub use error::ApiError;
pub use firm::*;
pub use requests::*;
pub use status::*;

pub use rustybt_actors::actors::supervisor::ResetTicket;
pub use rustybt_actors::checkpoint::AuditEntry;

use serde::Serialize;

/// A value's name on the wire (`"tripped"` for [`BreakerState::Tripped`]), from its serde
/// encoding so that no second table of names can drift from it; empty for a value that does
/// not encode as a string.
pub fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The decimal fields of `POST .../portfolio` (the server and the Python package's engine
/// read the same bodies).
pub const SNAPSHOT_DECIMALS: DecimalFields = &[
    "portfolio_value",
    "cash",
    "positions[].quantity",
    "positions[].market_price",
];
/// The decimal fields of `POST .../orders`.
pub const ORDER_DECIMALS: DecimalFields = &["quantity", "limit_price"];
/// The decimal fields of `POST .../fills`.
pub const FILL_DECIMALS: DecimalFields = &["quantity", "price"];
/// The decimal fields of `POST .../prices`.
pub const PRICES_DECIMALS: DecimalFields = &["prices[].price"];
