//! Reading a recorded history: JSON Lines of host events (the API's field names, with a
//! `type`), or CSV of `timestamp,portfolio_value`. Every event needs a timestamp, and they
//! must come in order.

use crate::api_types::{HeartbeatRequest, PricesRequest};
use crate::server::body::{parse_value as parse, DecimalFields};
use chrono::{DateTime, Utc};
use rustybt_actors::domain::{ErrorReport, Fill, OrderRequest, PortfolioSnapshot};
use rustybt_actors::pretrade::DoneStatus;
use serde_json::Value;
use std::io::BufRead;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A portfolio snapshot.
    Portfolio(PortfolioSnapshot),
    /// An order the strategy submitted.
    Order(OrderRequest),
    /// A fill.
    Fill(Fill),
    /// An error the broker or data feed raised.
    Error(ErrorReport),
    /// Reference prices observed.
    Prices(Vec<(String, rust_decimal::Decimal)>),
    /// An open order ended without filling completely.
    Done {
        /// The order.
        order_id: String,
        /// How it ended.
        status: DoneStatus,
    },
    /// The host said it was alive.
    Heartbeat,
}

/// One event of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayEvent {
    /// Its line in the file (1-based).
    pub line: usize,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What it was.
    pub kind: EventKind,
}

/// A line that cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct BadLine {
    /// Its line number (1-based).
    pub line: usize,
    /// What is wrong, naming the field.
    pub message: String,
}

/// The events read, and the bad lines skipped (with `skip_bad`).
#[derive(Debug, Default)]
pub struct History {
    /// Events in order.
    pub events: Vec<ReplayEvent>,
    /// Lines skipped as malformed.
    pub skipped: Vec<BadLine>,
}

const SNAPSHOT: DecimalFields = &[
    "portfolio_value",
    "cash",
    "positions[].quantity",
    "positions[].market_price",
];
const ORDER: DecimalFields = &["quantity", "limit_price"];
const FILL: DecimalFields = &["quantity", "price"];
const PRICES: DecimalFields = &["prices[].price"];

/// `{"type": "done", "order_id", "status", "timestamp"}`: the API's `/done` with its path's
/// order id in the body.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DoneLine {
    order_id: String,
    status: DoneStatus,
    timestamp: Option<DateTime<Utc>>,
}

const TYPES: &str = "portfolio, order, fill, error, prices, done or heartbeat";

/// The common line, read straight into types: most of a history is portfolio snapshots, and
/// the general path (a JSON value checked field by field) costs several times more. Anything
/// this does not take falls through to the general path, which also words the errors.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FastSnapshot<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: DateTime<Utc>,
    portfolio_value: &'a str,
}

fn fast_snapshot(line: usize, text: &str) -> Option<ReplayEvent> {
    let f: FastSnapshot = serde_json::from_str(text).ok()?;
    if f.kind != "portfolio" {
        return None;
    }
    let value: rust_decimal::Decimal = f.portfolio_value.parse().ok()?;
    let s = PortfolioSnapshot::valued(f.timestamp, value);
    s.validate().ok()?;
    Some(ReplayEvent {
        line,
        at: s.timestamp,
        kind: EventKind::Portfolio(s),
    })
}

fn parse_json_line(line: usize, text: &str) -> Result<ReplayEvent, BadLine> {
    if let Some(e) = fast_snapshot(line, text) {
        return Ok(e);
    }
    let bad = |message: String| BadLine { line, message };
    let mut value: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let kind = value
        .as_object_mut()
        .ok_or_else(|| bad("an event must be a JSON object".into()))?
        .remove("type")
        .ok_or_else(|| bad(format!("type: missing ({TYPES})")))?;
    let event = match kind.as_str() {
        Some("portfolio") => {
            let s: PortfolioSnapshot = parse(value, SNAPSHOT).map_err(|e| bad(e.message))?;
            s.validate().map_err(|e| bad(e.to_string()))?;
            (s.timestamp, EventKind::Portfolio(s))
        }
        Some("order") => {
            let o: OrderRequest = parse(value, ORDER).map_err(|e| bad(e.message))?;
            o.validate().map_err(|e| bad(e.to_string()))?;
            let at = o
                .timestamp
                .ok_or_else(|| bad("timestamp: missing (every replayed event needs one)".into()))?;
            (at, EventKind::Order(o))
        }
        Some("fill") => {
            let f: Fill = parse(value, FILL).map_err(|e| bad(e.message))?;
            f.validate().map_err(|e| bad(e.to_string()))?;
            (f.timestamp, EventKind::Fill(f))
        }
        Some("error") => {
            let r: ErrorReport = parse(value, &[]).map_err(|e| bad(e.message))?;
            let at = r
                .timestamp
                .ok_or_else(|| bad("timestamp: missing (every replayed event needs one)".into()))?;
            (at, EventKind::Error(r))
        }
        Some("prices") => {
            let p: PricesRequest = parse(value, PRICES).map_err(|e| bad(e.message))?;
            let mut prices = Vec::with_capacity(p.prices.len());
            for (i, q) in p.prices.into_iter().enumerate() {
                if q.asset.trim().is_empty() {
                    return Err(bad(format!("prices[{i}].asset: must not be empty")));
                }
                if q.price <= rust_decimal::Decimal::ZERO {
                    return Err(bad(format!(
                        "prices[{i}].price: {} must be greater than zero",
                        q.price
                    )));
                }
                prices.push((q.asset, q.price));
            }
            (p.timestamp, EventKind::Prices(prices))
        }
        Some("done") => {
            let d: DoneLine = parse(value, &[]).map_err(|e| bad(e.message))?;
            if d.order_id.trim().is_empty() {
                return Err(bad("order_id: must not be empty".into()));
            }
            let at = d
                .timestamp
                .ok_or_else(|| bad("timestamp: missing (every replayed event needs one)".into()))?;
            (
                at,
                EventKind::Done {
                    order_id: d.order_id,
                    status: d.status,
                },
            )
        }
        Some("heartbeat") => {
            let h: HeartbeatRequest = parse(value, &[]).map_err(|e| bad(e.message))?;
            let at = h
                .timestamp
                .ok_or_else(|| bad("timestamp: missing (every replayed event needs one)".into()))?;
            (at, EventKind::Heartbeat)
        }
        _ => return Err(bad(format!("type: {kind} is not {TYPES}"))),
    };
    Ok(ReplayEvent {
        line,
        at: event.0,
        kind: event.1,
    })
}

fn parse_csv_line(line: usize, text: &str) -> Result<Option<ReplayEvent>, BadLine> {
    let bad = |message: String| BadLine { line, message };
    let mut fields = text.split(',').map(str::trim);
    let (ts, value) = match (fields.next(), fields.next(), fields.next()) {
        (Some(t), Some(v), None) => (t, v),
        _ => {
            return Err(bad(format!(
                "expected timestamp,portfolio_value; got {text:?}"
            )))
        }
    };
    if line == 1 && ts.eq_ignore_ascii_case("timestamp") {
        return Ok(None);
    }
    let at: DateTime<Utc> = DateTime::parse_from_rfc3339(ts)
        .map_err(|e| bad(format!("timestamp: {ts:?} is not RFC 3339 ({e})")))?
        .with_timezone(&Utc);
    let v: rust_decimal::Decimal = value
        .parse()
        .map_err(|_| bad(format!("portfolio_value: {value:?} is not a decimal")))?;
    let s = PortfolioSnapshot::valued(at, v);
    s.validate().map_err(|e| bad(e.to_string()))?;
    Ok(Some(ReplayEvent {
        line,
        at,
        kind: EventKind::Portfolio(s),
    }))
}

/// Reads a history; CSV when `csv`, JSON Lines otherwise. A malformed line stops the read
/// with its line number and field, unless `skip_bad`, which counts it and goes on.
/// Out-of-order timestamps are always an error. `progress` is called with bytes read.
pub fn read(
    reader: impl BufRead,
    csv: bool,
    skip_bad: bool,
    mut progress: impl FnMut(u64),
) -> Result<History, BadLine> {
    let mut history = History::default();
    let mut previous: Option<DateTime<Utc>> = None;
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let text = line.map_err(|e| BadLine {
            line: n,
            message: format!("cannot read: {e}"),
        })?;
        progress(text.len() as u64 + 1);
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let parsed = if csv {
            parse_csv_line(n, trimmed)
        } else {
            parse_json_line(n, trimmed).map(Some)
        };
        let event = match parsed {
            Ok(Some(e)) => e,
            Ok(None) => continue,
            Err(e) if skip_bad => {
                history.skipped.push(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        if let Some(p) = previous {
            if event.at < p {
                return Err(BadLine {
                    line: n,
                    message: format!(
                        "timestamp: {} is before the previous event at {p}: events out of order",
                        event.at.to_rfc3339()
                    ),
                });
            }
        }
        previous = Some(event.at);
        history.events.push(event);
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str, csv: bool, skip: bool) -> Result<History, BadLine> {
        read(text.as_bytes(), csv, skip, |_| {})
    }

    #[test]
    fn test_read_jsonl_every_kind() {
        let h = read_str(
            r#"{"type":"portfolio","timestamp":"2026-03-02T14:30:00Z","portfolio_value":"100000"}
{"type":"order","order_id":"o1","asset":"SPY","side":"buy","quantity":"1","timestamp":"2026-03-02T14:30:01Z"}
{"type":"fill","order_id":"o1","asset":"SPY","side":"buy","quantity":"1","price":"500","timestamp":"2026-03-02T14:30:02Z"}
{"type":"error","kind":"broker_error","message":"down","timestamp":"2026-03-02T14:30:03Z"}
"#,
            false,
            false,
        )
        .unwrap();
        assert_eq!(h.events.len(), 4);
        assert!(matches!(h.events[3].kind, EventKind::Error(_)));
    }

    #[test]
    fn test_read_when_bad_decimal_then_line_and_field_named() {
        let e = read_str(
            "{\"type\":\"portfolio\",\"timestamp\":\"2026-03-02T14:30:00Z\",\"portfolio_value\":\"1\"}\n{\"type\":\"portfolio\",\"timestamp\":\"2026-03-02T14:30:01Z\",\"portfolio_value\":\"abc\"}\n",
            false,
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: portfolio_value: \"abc\" is not a decimal"
        );
    }

    #[test]
    fn test_read_when_skip_bad_then_counted() {
        let h = read_str("{\"type\":\"nope\"}\nnot json\n{\"type\":\"portfolio\",\"timestamp\":\"2026-03-02T14:30:00Z\",\"portfolio_value\":\"1\"}\n", false, true).unwrap();
        assert_eq!(h.events.len(), 1);
        assert_eq!(h.skipped.len(), 2);
        assert_eq!(h.skipped[0].line, 1);
    }

    #[test]
    fn test_read_when_out_of_order_then_error_even_with_skip_bad() {
        let e = read_str(
            "timestamp,portfolio_value\n2026-03-02T14:30:01Z,100\n2026-03-02T14:30:00Z,100\n",
            true,
            true,
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("out of order"), "{e}");
    }

    #[test]
    fn test_read_csv_with_and_without_header() {
        assert_eq!(
            read_str(
                "timestamp,portfolio_value\n2026-03-02T14:30:00Z,100.5\n",
                true,
                false
            )
            .unwrap()
            .events
            .len(),
            1
        );
        assert_eq!(
            read_str("2026-03-02T14:30:00Z,100.5\n", true, false)
                .unwrap()
                .events
                .len(),
            1
        );
        // A value of zero or below is an event like any other (the breakers judge it); a
        // value that is not a decimal, or overflows one, is refused with its line and field.
        let h = read_str(
            "2026-03-02T14:30:00Z,-1\n2026-03-02T14:30:01Z,0\n",
            true,
            false,
        )
        .unwrap();
        assert_eq!(h.events.len(), 2);
        let e = read_str(
            "2026-03-02T14:30:00Z,100\n2026-03-02T14:30:01Z,99999999999999999999999999999999\n",
            true,
            false,
        )
        .unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("portfolio_value: "), "{e}");
    }

    #[test]
    fn test_read_json_when_value_not_positive_then_read_by_both_paths() {
        // The fast path and the general one (here with positions) take the same values.
        let h = read_str(
            "{\"type\":\"portfolio\",\"timestamp\":\"2026-03-02T14:30:00Z\",\"portfolio_value\":\"-80\"}\n{\"type\":\"portfolio\",\"timestamp\":\"2026-03-02T14:30:01Z\",\"portfolio_value\":\"0\",\"positions\":[]}\n",
            false,
            false,
        )
        .unwrap();
        assert_eq!(h.events.len(), 2);
        let e = read_str(
            "{\"type\":\"portfolio\",\"timestamp\":\"2026-03-02T14:30:00Z\",\"portfolio_value\":\"1e400\"}\n",
            false,
            false,
        )
        .unwrap_err();
        assert!(e.message.starts_with("portfolio_value: "), "{e}");
    }

    #[test]
    fn test_read_when_order_has_no_timestamp_then_error() {
        let e = read_str(
            r#"{"type":"order","order_id":"o1","asset":"SPY","side":"buy","quantity":"1"}"#,
            false,
            false,
        )
        .unwrap_err();
        assert!(e.message.starts_with("timestamp: missing"), "{e}");
    }

    #[test]
    fn test_read_when_order_has_time_in_force_then_read_and_bad_one_named() {
        let h = read_str(
            r#"{"type":"order","order_id":"o1","asset":"SPY","side":"buy","quantity":"1","time_in_force":"gtc","timestamp":"2026-03-02T14:30:01Z"}
{"type":"order","order_id":"o2","asset":"SPY","side":"buy","quantity":"1","timestamp":"2026-03-02T14:30:02Z"}
"#,
            false,
            false,
        )
        .unwrap();
        let tif: Vec<_> = h
            .events
            .iter()
            .map(|e| match &e.kind {
                EventKind::Order(o) => o.time_in_force,
                _ => unreachable!("only orders here"),
            })
            .collect();
        assert_eq!(
            tif,
            [
                rustybt_actors::domain::TimeInForce::Gtc,
                rustybt_actors::domain::TimeInForce::Day
            ]
        );
        let e = read_str(
            r#"{"type":"order","order_id":"o1","asset":"SPY","side":"buy","quantity":"1","time_in_force":"ioc","timestamp":"2026-03-02T14:30:01Z"}"#,
            false,
            false,
        )
        .unwrap_err();
        assert!(
            e.message.contains("time_in_force") && e.message.contains("ioc"),
            "{e}"
        );
    }
}
