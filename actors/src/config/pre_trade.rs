//! `[strategy.pre_trade]` and its per-asset overrides, and the two breakers that came with
//! it: `pre_trade` (too many denials) and `host_silent` (the dead-man's switch).

use super::values::{DecimalValue, DurationValue};
use crate::pretrade::{AssetLimits, PreTradeLimits};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The four limits an asset may override, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetLimitsSection {
    /// |quantity| of one order.
    pub max_order_quantity: Option<DecimalValue>,
    /// Quantity × price of one order.
    pub max_order_notional: Option<DecimalValue>,
    /// |position| per asset were the order to fill completely.
    pub max_position: Option<DecimalValue>,
    /// Fraction in (0, 1): the limit price within ± this of the reference price.
    pub price_collar: Option<DecimalValue>,
}

/// `[strategy.pre_trade]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreTradeSection {
    /// |quantity| of one order.
    pub max_order_quantity: Option<DecimalValue>,
    /// Quantity × price of one order.
    pub max_order_notional: Option<DecimalValue>,
    /// |position| per asset were the order to fill completely.
    pub max_position: Option<DecimalValue>,
    /// Σ |position × reference price| over assets after the order.
    pub max_gross_exposure: Option<DecimalValue>,
    /// Fraction in (0, 1).
    pub price_collar: Option<DecimalValue>,
    /// Oldest reference price a check may use (default 60 s).
    pub max_reference_age: Option<DurationValue>,
    /// Most orders open at once.
    pub max_open_orders: Option<i64>,
    /// Deny an order id accepted before (within the duplicate window).
    pub duplicate_order_id: Option<bool>,
    /// How long an accepted id is remembered (positive whole seconds or a duration string);
    /// unset: the current session and the one before.
    pub duplicate_window: Option<DurationValue>,
    /// `[strategy.pre_trade.assets.NAME]`.
    #[serde(default)]
    pub assets: BTreeMap<String, AssetLimitsSection>,
}

/// The default oldest reference price a check may use.
pub const DEFAULT_MAX_REFERENCE_AGE: i64 = 60;

fn positive(v: &Option<DecimalValue>, field: &str, problems: &mut Vec<String>) -> Option<Decimal> {
    let d = v.as_ref()?.to_decimal(field, problems)?;
    if d <= Decimal::ZERO {
        problems.push(format!("{field}: {d} must be a positive decimal"));
        return None;
    }
    Some(d)
}

fn collar(v: &Option<DecimalValue>, field: &str, problems: &mut Vec<String>) -> Option<Decimal> {
    let d = v.as_ref()?.to_decimal(field, problems)?;
    if d <= Decimal::ZERO || d >= Decimal::ONE {
        problems.push(format!(
            "{field}: {d} must be a fraction in (0, 1), e.g. \"0.05\" for ±5%"
        ));
        return None;
    }
    Some(d)
}

fn asset_limits(
    max_order_quantity: &Option<DecimalValue>,
    max_order_notional: &Option<DecimalValue>,
    max_position: &Option<DecimalValue>,
    price_collar: &Option<DecimalValue>,
    at: &dyn Fn(&str) -> String,
    problems: &mut Vec<String>,
) -> AssetLimits {
    AssetLimits {
        max_order_quantity: positive(max_order_quantity, &at("max_order_quantity"), problems),
        max_order_notional: positive(max_order_notional, &at("max_order_notional"), problems),
        max_position: positive(max_position, &at("max_position"), problems),
        price_collar: collar(price_collar, &at("price_collar"), problems),
    }
}

/// Validates `[strategy.pre_trade]`; `prefix` is `strategy[i].pre_trade`.
pub fn limits(s: &PreTradeSection, prefix: &str, problems: &mut Vec<String>) -> PreTradeLimits {
    let at = |field: &str| format!("{prefix}.{field}");
    let per_order = asset_limits(
        &s.max_order_quantity,
        &s.max_order_notional,
        &s.max_position,
        &s.price_collar,
        &at,
        problems,
    );
    let max_open_orders = match s.max_open_orders {
        None => None,
        Some(n) if (1..=1_000_000).contains(&n) => Some(n as usize),
        Some(n) => {
            problems.push(format!(
                "{}: {n} must be a whole number from 1 to 1000000",
                at("max_open_orders")
            ));
            None
        }
    };
    let max_reference_age = match &s.max_reference_age {
        Some(v) => v.to_duration(&at("max_reference_age"), problems),
        None => Some(chrono::Duration::seconds(DEFAULT_MAX_REFERENCE_AGE)),
    };
    let mut out = PreTradeLimits {
        per_order,
        max_gross_exposure: positive(&s.max_gross_exposure, &at("max_gross_exposure"), problems),
        max_reference_age,
        max_open_orders,
        duplicate_order_id: s.duplicate_order_id.unwrap_or(false),
        duplicate_window: s
            .duplicate_window
            .as_ref()
            .and_then(|v| v.to_duration(&at("duplicate_window"), problems)),
        assets: Default::default(),
    };
    for (asset, a) in &s.assets {
        let here = |field: &str| format!("{prefix}.assets.{asset}.{field}");
        if asset.trim().is_empty() {
            problems.push(format!("{}: an asset name must not be empty", at("assets")));
            continue;
        }
        let overrides = asset_limits(
            &a.max_order_quantity,
            &a.max_order_notional,
            &a.max_position,
            &a.price_collar,
            &here,
            problems,
        );
        out = out.with_asset(asset.clone(), overrides);
    }
    out
}
