//! The Python package's view of the wire types: `python/rustybt_live/_types_generated.py`,
//! written by `cargo run -p rustybt-api --example python_types` from the tables here, so that
//! the Python hints follow the Rust types instead of being copied by hand.
//!
//! The names of the `Literal`s come from the serde encoding of every value (`EngineState::ALL`
//! and the like); the fields of each `TypedDict` are listed here, and a test checks them against
//! the JSON keys of a fully populated value, so a field added, renamed or made optional on the
//! Rust side fails the test until this table (and the generated file) follow.

use crate::{wire_name, BreakerState};
use rustybt_actors::breaker::BreakerKind;
use rustybt_actors::domain::ErrorKind;
use rustybt_actors::pretrade::PreTradeCheck;
use rustybt_actors::state_machine::EngineState;
use std::fmt::Write;

/// One field of a JSON object: its key, its Python type, and whether the key may be absent
/// (serde's `skip_serializing_if`).
#[derive(Debug, Clone, Copy)]
pub struct PyField {
    /// The JSON key.
    pub name: &'static str,
    /// The Python annotation (`DecimalText`, `Optional[TimeText]`, `list[BreakerJson]`...).
    pub ty: &'static str,
    /// The key is left out when the value is absent.
    pub optional: bool,
}

/// One JSON object of the API, as a Python `TypedDict`.
#[derive(Debug, Clone, Copy)]
pub struct PyTypedDict {
    /// The Python class name.
    pub name: &'static str,
    /// The Rust type it mirrors, for the docstring.
    pub rust: &'static str,
    /// Its fields, in the order serde writes them.
    pub fields: &'static [PyField],
}

const fn req(name: &'static str, ty: &'static str) -> PyField {
    PyField {
        name,
        ty,
        optional: false,
    }
}

const fn opt(name: &'static str, ty: &'static str) -> PyField {
    PyField {
        name,
        ty,
        optional: true,
    }
}

/// The objects of a strategy's status, the error body and the strategy list, leaves first
/// (a `TypedDict` must be declared before a field names it).
pub const TYPED_DICTS: &[PyTypedDict] = &[
    PyTypedDict {
        name: "ErrorBodyJson",
        rust: "ErrorBody",
        fields: &[req("error", "str"), req("message", "str")],
    },
    PyTypedDict {
        name: "StrategySummaryJson",
        rust: "StrategySummary",
        fields: &[
            req("name", "str"),
            req("state", "State"),
            req("since", "TimeText"),
            req("reason", "Optional[str]"),
        ],
    },
    PyTypedDict {
        name: "PendingResetJson",
        rust: "PendingResetView",
        fields: &[req("operator", "str"), req("expires_at", "TimeText")],
    },
    PyTypedDict {
        name: "BreakerJson",
        rust: "BreakerView",
        fields: &[
            req("type", "BreakerType"),
            req("status", "BreakerStatus"),
            req("enabled", "bool"),
            req("ready", "bool"),
            opt("value", "DecimalText"),
            opt("limit", "DecimalText"),
            opt("tripped_at", "TimeText"),
            req("details", "dict[str, str]"),
        ],
    },
    PyTypedDict {
        name: "PositionJson",
        rust: "PositionView",
        fields: &[
            req("asset", "str"),
            req("quantity", "DecimalText"),
            req("market_price", "DecimalText"),
            req("market_value", "Optional[DecimalText]"),
        ],
    },
    PyTypedDict {
        name: "PortfolioJson",
        rust: "PortfolioView",
        fields: &[
            req("value", "Optional[DecimalText]"),
            req("cash", "Optional[DecimalText]"),
            req("high_water_mark", "Optional[DecimalText]"),
            req("drawdown", "Optional[DecimalText]"),
            req("daily_pnl", "Optional[DecimalText]"),
            req("positions", "list[PositionJson]"),
            req("as_of", "Optional[TimeText]"),
            req("gross_exposure", "Optional[DecimalText]"),
            req("history", "list[tuple[TimeText, DecimalText]]"),
            req("snapshots_accepted", "int"),
            req("snapshots_refused", "int"),
            opt("last_refusal", "str"),
        ],
    },
    PyTypedDict {
        name: "OpenOrderJson",
        rust: "rustybt_actors::pretrade::OpenOrder",
        fields: &[
            req("order_id", "str"),
            req("asset", "str"),
            req("side", "str"),
            req("quantity", "DecimalText"),
            req("filled", "DecimalText"),
            opt("limit_price", "DecimalText"),
            req("since", "TimeText"),
        ],
    },
    PyTypedDict {
        name: "LoggedErrorJson",
        rust: "LoggedErrorView",
        fields: &[
            req("received_at", "TimeText"),
            req("kind", "ErrorKindName"),
            req("message", "str"),
            opt("order_id", "str"),
            opt("timestamp", "TimeText"),
        ],
    },
    PyTypedDict {
        name: "AlertsJson",
        rust: "AlertsView",
        fields: &[
            req("recent", "list[dict[str, Any]]"),
            req("counts", "dict[str, dict[str, int]]"),
            req("dropped", "int"),
            req("in_flight", "int"),
            req("channels", "list[str]"),
        ],
    },
    PyTypedDict {
        name: "StatusJson",
        rust: "StrategyStatus",
        fields: &[
            req("name", "str"),
            req("state", "State"),
            req("since", "TimeText"),
            opt("reason", "str"),
            opt("checkpoint_error", "str"),
            opt("pending_reset", "PendingResetJson"),
            req("breakers", "list[BreakerJson]"),
            req("actors", "list[dict[str, Any]]"),
            req("portfolio", "PortfolioJson"),
            req("recent_orders", "list[dict[str, Any]]"),
            req("recent_fills", "list[dict[str, Any]]"),
            req("recent_errors", "list[LoggedErrorJson]"),
            req("error_totals", "dict[str, int]"),
            req("orders_accepted", "int"),
            req("orders_rejected", "dict[str, int]"),
            req("open_orders", "list[OpenOrderJson]"),
            req("pre_trade", "Optional[dict[str, Any]]"),
            req("alerts", "AlertsJson"),
        ],
    },
];

/// The `Literal`s: a Python name and the wire names of every value, from serde.
pub fn literals() -> Vec<(&'static str, &'static str, Vec<String>)> {
    fn names<T: serde::Serialize>(all: &[T]) -> Vec<String> {
        all.iter().map(wire_name).collect()
    }
    vec![
        ("State", "The API's state names.", names(&EngineState::ALL)),
        (
            "BreakerType",
            "The breakers' names (`type` of a breaker).",
            names(&BreakerKind::ALL),
        ),
        (
            "BreakerStatus",
            "A breaker's `status`.",
            names(&BreakerState::ALL),
        ),
        (
            "ErrorKindName",
            "The kinds of a reported error.",
            names(&ErrorKind::ALL),
        ),
        (
            "PreTradeCheckName",
            "The pre-trade checks' names.",
            names(&PreTradeCheck::ALL),
        ),
    ]
}

/// The text of `python/rustybt_live/_types_generated.py`.
pub fn render() -> String {
    let mut out = String::from(
        "\"\"\"The API's JSON shapes, generated from the Rust crate `rustybt-api` by\n\
         `cargo run -p rustybt-api --example python_types`. Do not edit: a Rust test fails when\n\
         this file differs from what the generator writes.\"\"\"\n\n\
         from __future__ import annotations\n\n\
         from typing import Any, Literal, Optional, TypedDict\n\n\
         #: A decimal as the API writes it: a JSON string (``\"1234.50\"``).\n\
         DecimalText = str\n\
         #: An RFC 3339 time as the API writes it.\n\
         TimeText = str\n",
    );
    let mut exported: Vec<&str> = vec!["DecimalText", "TimeText"];
    for (name, doc, values) in literals() {
        let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
        let _ = write!(out, "\n#: {doc}\n{name} = Literal[{}]\n", quoted.join(", "));
        exported.push(name);
    }
    for dict in TYPED_DICTS {
        let (required, optional): (Vec<&PyField>, Vec<&PyField>) =
            dict.fields.iter().partition(|f| !f.optional);
        // Python 3.10 has no `NotRequired`: the keys that may be absent go in a subclass
        // declared with `total=False`.
        let base = if optional.is_empty() {
            "TypedDict".to_string()
        } else {
            let base = format!("_{}Required", dict.name);
            let _ = write!(out, "\n\nclass {base}(TypedDict):\n");
            for f in &required {
                let _ = writeln!(out, "    {}: {}", f.name, f.ty);
            }
            base
        };
        let total = if optional.is_empty() {
            ""
        } else {
            ", total=False"
        };
        let _ = write!(
            out,
            "\n\nclass {}({base}{total}):\n    \"\"\"The JSON of `{}`.\"\"\"\n\n",
            dict.name, dict.rust
        );
        let own = if optional.is_empty() {
            &required
        } else {
            &optional
        };
        for f in own {
            let _ = writeln!(out, "    {}: {}", f.name, f.ty);
        }
        exported.push(dict.name);
    }
    out.push_str("\n\n__all__ = [\n");
    for name in exported {
        let _ = writeln!(out, "    {name:?},");
    }
    out.push_str("]\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_generated_when_checked_in_then_same_as_generator() {
        let checked_in = include_str!("../../python/rustybt_live/_types_generated.py");
        assert!(
            checked_in == render(),
            "python/rustybt_live/_types_generated.py is stale: run \
             `cargo run -p rustybt-api --example python_types`"
        );
    }

    #[test]
    fn test_literals_when_rendered_then_wire_names() {
        let state = &literals()[0];
        assert_eq!(
            state.2,
            ["NORMAL", "TRIPPED", "MANUALLY_HALTED", "RESETTING"]
        );
        assert!(literals()
            .iter()
            .all(|(_, _, v)| v.iter().all(|n| !n.is_empty())));
    }
}
