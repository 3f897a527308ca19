//! HTTP API bodies: every input is read as each of the host-event bodies the API takes,
//! the way `src/server/api.rs` reads them, and whatever parses goes through what the engine
//! does with it first (validation, exposure, market values). Nothing may panic, overflow
//! included; refusals must be the contract's 400 or 422 with a body that renders.

#![no_main]

use actix_web::ResponseError;
use libfuzzer_sys::fuzz_target;
use rustybt::api_types::{HeartbeatRequest, OrderDoneRequest, PricesRequest};
use rustybt::server::api::{
    BODY_LIMIT, FILL_DECIMALS, ORDER_DECIMALS, PRICES_DECIMALS, SNAPSHOT_DECIMALS,
};
use rustybt::server::body::{parse, DecimalFields};
use rustybt::server::errors::ApiError;
use rustybt_actors::domain::{ErrorReport, Fill, InputError, OrderRequest, PortfolioSnapshot};
use serde::de::DeserializeOwned;
use serde::Serialize;

const ERROR_DECIMALS: DecimalFields = &[];

/// The refusal the server would send: the contract allows only 400 and 422 for a bad body.
fn refused(e: rustybt_api::ApiError) {
    let status = e.status;
    assert!(status == 400 || status == 422, "{status} for {e}");
    let _ = e.to_string();
    let _ = ApiError(e).error_response();
}

/// A validation refusal, answered as the handlers answer it (through `ApiError`).
fn rejected(e: InputError) {
    let _ = e.to_string();
    refused(rustybt_api::ApiError::from(e));
}

/// Parses `bytes` as `T`; an accepted body must survive a round trip through its own JSON,
/// since the engine records what it accepted (checkpoint, audit trail) and reads it back.
fn accepted<T>(bytes: &[u8], decimals: DecimalFields) -> Option<T>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    match parse::<T>(bytes, decimals) {
        Ok(v) => {
            let json = serde_json::to_vec(&v).expect("an accepted body serialises");
            let back: T = match parse(&json, decimals) {
                Ok(back) => back,
                Err(e) => panic!("{v:?} written as {} is refused: {e}", json.escape_ascii()),
            };
            assert_eq!(back, v, "round trip of {}", json.escape_ascii());
            Some(v)
        }
        Err(e) => {
            refused(e);
            None
        }
    }
}

fn snapshot(s: PortfolioSnapshot) {
    // Every position's value is computed somewhere (exposure, reduce-only checks), valid or not.
    let values: Vec<_> = s.positions().iter().map(|p| p.market_value()).collect();
    let gross = s.gross_exposure();
    match s.validate() {
        Ok(()) => {
            // A validated snapshot never holds a position whose value does not fit.
            assert!(values.iter().all(Option::is_some), "{s:?}");
            let gross = gross.expect("a validated snapshot has a gross exposure");
            assert!(gross >= rust_decimal::Decimal::ZERO, "{gross}");
        }
        Err(e) => rejected(e),
    }
}

fn order(o: OrderRequest) {
    let signed = o.signed_quantity();
    match o.validate() {
        Ok(()) => assert_eq!(signed.abs(), o.quantity),
        Err(e) => rejected(e),
    }
}

fn fill(f: Fill) {
    if let Err(e) = f.validate() {
        rejected(e);
    }
}

fn error_report(r: ErrorReport) {
    // No validation of its own: the engine counts it by kind.
    assert!(r.kind.slot() < 3);
    let _ = r.kind.to_string();
}

fuzz_target!(|data: &[u8]| {
    // The server refuses larger bodies before reading them.
    if data.len() > BODY_LIMIT {
        return;
    }
    if let Some(s) = accepted::<PortfolioSnapshot>(data, SNAPSHOT_DECIMALS) {
        snapshot(s);
    }
    if let Some(o) = accepted::<OrderRequest>(data, ORDER_DECIMALS) {
        order(o);
    }
    if let Some(f) = accepted::<Fill>(data, FILL_DECIMALS) {
        fill(f);
    }
    if let Some(r) = accepted::<ErrorReport>(data, ERROR_DECIMALS) {
        error_report(r);
    }
    // v1.1: prices, an order's end, a heartbeat.
    if let Some(p) = accepted::<PricesRequest>(data, PRICES_DECIMALS) {
        for q in &p.prices {
            let _ = q.price.is_sign_positive();
        }
    }
    let _ = accepted::<OrderDoneRequest>(data, &[]);
    let _ = accepted::<HeartbeatRequest>(data, &[]);
});
