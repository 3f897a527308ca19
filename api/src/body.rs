//! Reading request bodies the way the contract says: decimals must be JSON strings, every
//! field is checked, and the error names the field and the value.

use crate::ApiError;
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::str::FromStr;

/// Fields holding decimals, as paths: `positions[].quantity` walks an array.
pub type DecimalFields = &'static [&'static str];

fn check_decimal(path: &str, value: &Value) -> Result<(), ApiError> {
    match value {
        Value::Null => Ok(()),
        Value::String(s) => match Decimal::from_str(s.trim()) {
            Ok(_) => Ok(()),
            Err(_) => Err(ApiError::invalid(
                "invalid_decimal",
                format!("{path}: {s:?} is not a decimal"),
            )),
        },
        Value::Number(n) => Err(ApiError::invalid(
            "invalid_decimal",
            format!("{path}: {n} must be a decimal written as a JSON string, e.g. \"{n}\""),
        )),
        other => Err(ApiError::invalid(
            "invalid_decimal",
            format!("{path}: {other} is not a decimal"),
        )),
    }
}

fn walk(value: &Value, path: &str, shown: &str) -> Result<(), ApiError> {
    match path.split_once("[].") {
        None => value
            .get(path)
            .map_or(Ok(()), |v| check_decimal(&format!("{shown}{path}"), v)),
        Some((array, rest)) => match value.get(array) {
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, rest, &format!("{shown}{array}[{i}]."))?;
                }
                Ok(())
            }
            _ => Ok(()),
        },
    }
}

/// Parses `bytes` as `T`, refusing non-JSON (400), non-string or malformed decimals (422),
/// and missing, unknown or mistyped fields (422).
pub fn parse<T: DeserializeOwned>(bytes: &[u8], decimals: DecimalFields) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::malformed(format!("the body is not JSON: {e}")))?;
    parse_value(value, decimals)
}

/// [`parse`] for a body already read as JSON.
pub fn parse_value<T: DeserializeOwned>(
    value: Value,
    decimals: DecimalFields,
) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::invalid(
            "invalid_body",
            "the body must be a JSON object",
        ));
    }
    for path in decimals {
        walk(&value, path, "")?;
    }
    // The path names the field even when the value's own parser (a timestamp) does not.
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." || path.is_empty() {
            ApiError::invalid("invalid_body", inner.to_string())
        } else {
            ApiError::invalid("invalid_body", format!("{path}: {inner}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustybt_actors::domain::PortfolioSnapshot;

    const SNAP: DecimalFields = &[
        "portfolio_value",
        "cash",
        "positions[].quantity",
        "positions[].market_price",
    ];

    #[test]
    fn test_parse_when_decimal_is_text_then_names_field() {
        let e = parse::<PortfolioSnapshot>(
            br#"{"timestamp":"2026-03-02T15:04:05Z","portfolio_value":"abc"}"#,
            SNAP,
        )
        .unwrap_err();
        assert_eq!(e.code, "invalid_decimal");
        assert_eq!(e.message, "portfolio_value: \"abc\" is not a decimal");
    }

    #[test]
    fn test_parse_when_decimal_is_number_then_refused() {
        let e = parse::<PortfolioSnapshot>(
            br#"{"timestamp":"2026-03-02T15:04:05Z","portfolio_value":1.5}"#,
            SNAP,
        )
        .unwrap_err();
        assert!(
            e.message
                .starts_with("portfolio_value: 1.5 must be a decimal written as a JSON string"),
            "{}",
            e.message
        );
    }

    #[test]
    fn test_parse_when_nested_decimal_bad_then_path_named() {
        let body = br#"{"timestamp":"2026-03-02T15:04:05Z","portfolio_value":"1","positions":[{"asset":"A","quantity":"1","market_price":"x"}]}"#;
        let e = parse::<PortfolioSnapshot>(body, SNAP).unwrap_err();
        assert_eq!(
            e.message,
            "positions[0].market_price: \"x\" is not a decimal"
        );
    }

    #[test]
    fn test_parse_when_field_missing_or_unknown_then_422() {
        let e = parse::<PortfolioSnapshot>(br#"{"portfolio_value":"1"}"#, SNAP).unwrap_err();
        assert_eq!(e.status, 422);
        assert!(e.message.contains("timestamp"), "{}", e.message);
        let e = parse::<PortfolioSnapshot>(
            br#"{"timestamp":"2026-03-02T15:04:05Z","portfolio_value":"1","x":1}"#,
            SNAP,
        )
        .unwrap_err();
        assert!(e.message.contains("unknown field `x`"), "{}", e.message);
    }

    #[test]
    fn test_parse_when_not_json_then_400() {
        assert_eq!(
            parse::<PortfolioSnapshot>(b"{nope", SNAP)
                .unwrap_err()
                .status,
            400
        );
    }
}
