//! The configured limits. Every limit is optional: an absent one is not checked.

use chrono::Duration;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

/// The four limits an asset may override.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetLimits {
    /// Largest |quantity| of one order.
    pub max_order_quantity: Option<Decimal>,
    /// Largest quantity × price of one order.
    pub max_order_notional: Option<Decimal>,
    /// Largest |position| in the asset were the order to fill completely.
    pub max_position: Option<Decimal>,
    /// Largest |limit price / reference price − 1|, a fraction in (0, 1).
    pub price_collar: Option<Decimal>,
}

impl AssetLimits {
    /// `self`'s values where it has them, `base`'s elsewhere: an asset's override over the
    /// strategy-wide value.
    pub fn over(&self, base: &AssetLimits) -> AssetLimits {
        AssetLimits {
            max_order_quantity: self.max_order_quantity.or(base.max_order_quantity),
            max_order_notional: self.max_order_notional.or(base.max_order_notional),
            max_position: self.max_position.or(base.max_position),
            price_collar: self.price_collar.or(base.price_collar),
        }
    }
}

/// The bound on open orders of a strategy that sets no `max_open_orders` (API v1.2).
pub const DEFAULT_MAX_OPEN_ORDERS: usize = 100_000;

/// A strategy's pre-trade limits (`[strategy.pre_trade]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreTradeLimits {
    /// Strategy-wide values of the per-asset limits.
    pub per_order: AssetLimits,
    /// Largest Σ |position after| × reference price over assets, after the order.
    pub max_gross_exposure: Option<Decimal>,
    /// Oldest reference price a check may use; older denies the order.
    pub max_reference_age: Option<Duration>,
    /// Most orders open at once, this one included; unset: [`DEFAULT_MAX_OPEN_ORDERS`], so
    /// that orders a host never reports done cannot grow the book without bound.
    pub max_open_orders: Option<usize>,
    /// Deny an order id the gate accepted within the duplicate window.
    pub duplicate_order_id: bool,
    /// How long an accepted id is remembered, by the engine's clock; unset: the current
    /// session and the one before (the market's calendar).
    pub duplicate_window: Option<Duration>,
    /// Per-asset overrides, already merged over [`Self::per_order`].
    pub assets: FxHashMap<String, AssetLimits>,
}

impl Default for PreTradeLimits {
    /// No check at all: what a strategy without `[strategy.pre_trade]` gets.
    fn default() -> Self {
        Self {
            per_order: AssetLimits::default(),
            max_gross_exposure: None,
            max_reference_age: None,
            max_open_orders: None,
            duplicate_order_id: false,
            duplicate_window: None,
            assets: FxHashMap::default(),
        }
    }
}

impl PreTradeLimits {
    /// Adds an asset's overrides, merged over the strategy-wide values.
    pub fn with_asset(mut self, asset: impl Into<String>, overrides: AssetLimits) -> Self {
        let merged = overrides.over(&self.per_order);
        self.assets.insert(asset.into(), merged);
        self
    }

    /// The limits that apply to `asset`.
    pub fn for_asset(&self, asset: &str) -> &AssetLimits {
        self.assets.get(asset).unwrap_or(&self.per_order)
    }

    /// Most orders open at once: `max_open_orders`, else [`DEFAULT_MAX_OPEN_ORDERS`].
    pub fn open_orders_cap(&self) -> usize {
        self.max_open_orders.unwrap_or(DEFAULT_MAX_OPEN_ORDERS)
    }

    /// Whether any check is configured. The bound on open orders applies even when none is
    /// (see [`Self::open_orders_cap`]); the duplicate window alone is no check.
    pub fn any(&self) -> bool {
        let p = &self.per_order;
        p.max_order_quantity.is_some()
            || p.max_order_notional.is_some()
            || p.max_position.is_some()
            || p.price_collar.is_some()
            || self.max_gross_exposure.is_some()
            || self.max_open_orders.is_some()
            || self.duplicate_order_id
            || !self.assets.is_empty()
    }
}
