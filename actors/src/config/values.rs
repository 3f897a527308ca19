//! Decimals and durations as operators write them: `"-0.10"` or `-0.10`; `60` or `"1m"`.

use rust_decimal::Decimal;
use serde::Deserialize;
use std::str::FromStr;

/// A decimal written as a TOML string (exact) or number (read by its shortest decimal form).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum DecimalValue {
    /// `"-0.10"`.
    Text(String),
    /// `-5000`.
    Integer(i64),
    /// `-0.10`: TOML gives a binary float; its shortest round-trip form is the decimal meant.
    Number(f64),
}

impl DecimalValue {
    /// The decimal, or a problem naming `field`.
    pub fn to_decimal(&self, field: &str, problems: &mut Vec<String>) -> Option<Decimal> {
        let text = match self {
            DecimalValue::Text(s) => s.trim().to_string(),
            DecimalValue::Integer(i) => return Some(Decimal::from(*i)),
            DecimalValue::Number(n) => format!("{n}"),
        };
        match Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)) {
            Ok(d) => Some(d),
            Err(_) => {
                problems.push(format!("{field}: {text:?} is not a decimal"));
                None
            }
        }
    }
}

/// A duration written as whole seconds or a string like `"60s"`, `"1m"`, `"1h"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum DurationValue {
    /// `60`.
    Seconds(i64),
    /// `"1m"`.
    Text(String),
}

impl DurationValue {
    /// The duration (positive, whole seconds), or a problem naming `field`.
    pub fn to_duration(&self, field: &str, problems: &mut Vec<String>) -> Option<chrono::Duration> {
        let secs = match self {
            DurationValue::Seconds(s) => *s,
            DurationValue::Text(t) => match humantime::parse_duration(t.trim()) {
                Ok(d) if d.subsec_nanos() == 0 => d.as_secs() as i64,
                _ => {
                    problems.push(format!(
                        "{field}: {t:?} is not a duration like 60, \"60s\", \"1m\" or \"1h\""
                    ));
                    return None;
                }
            },
        };
        if secs <= 0 || secs > 86_400 * 7 {
            problems.push(format!(
                "{field}: {secs} s must be between 1 second and 7 days"
            ));
            return None;
        }
        Some(chrono::Duration::seconds(secs))
    }
}

/// `v` if a whole number from 1 to 1000000, else `default` (with a problem naming `field`
/// when `v` was given).
pub fn positive_count(
    v: Option<i64>,
    default: usize,
    field: &str,
    problems: &mut Vec<String>,
) -> usize {
    match v {
        None => default,
        Some(n) if (1..=1_000_000).contains(&n) => n as usize,
        Some(n) => {
            problems.push(format!(
                "{field}: {n} must be a whole number from 1 to 1000000"
            ));
            default
        }
    }
}

/// The duration `v`, or 60 s when absent or invalid (with a problem naming `field`).
pub fn window_of(
    v: &Option<DurationValue>,
    field: &str,
    problems: &mut Vec<String>,
) -> chrono::Duration {
    v.as_ref()
        .and_then(|w| w.to_duration(field, problems))
        .unwrap_or_else(|| chrono::Duration::seconds(60))
}
