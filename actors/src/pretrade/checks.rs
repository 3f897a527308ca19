//! The checks, judged in a fixed order on every order: duplicate id, open orders, quantity,
//! reference price, collar, notional, position, gross exposure. The first that fails denies
//! the order and names the check, its limit and the value compared with it. A value equal to
//! its limit passes.
//!
//! One order costs a handful of decimal operations and at most four hash look-ups, whatever
//! the number of assets or open orders: gross exposure is a running sum kept by the book.

use super::book::OrderBook;
use super::limits::PreTradeLimits;
use crate::domain::{OrderRequest, Side};
use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// The pre-trade checks, by their API names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreTradeCheck {
    /// |quantity| of one order.
    MaxOrderQuantity,
    /// Quantity × price of one order.
    MaxOrderNotional,
    /// |position| per asset were the order to fill completely.
    MaxPosition,
    /// Σ |position after| × reference price over assets.
    MaxGrossExposure,
    /// |limit price / reference − 1|.
    PriceCollar,
    /// A reference price a check needs is missing or too old.
    StaleReferencePrice,
    /// Orders open at once, this one included.
    MaxOpenOrders,
    /// An order id the gate accepted before.
    DuplicateOrderId,
    /// After an unclean stop, an order that does not reduce a position before the first venue
    /// report re-based the book (`[strategy.reconciliation] after_crash = "reconcile"`).
    Unreconciled,
}

impl PreTradeCheck {
    /// Every check, in reporting order.
    pub const ALL: [PreTradeCheck; PreTradeCheck::COUNT] = [
        PreTradeCheck::MaxOrderQuantity,
        PreTradeCheck::MaxOrderNotional,
        PreTradeCheck::MaxPosition,
        PreTradeCheck::MaxGrossExposure,
        PreTradeCheck::PriceCollar,
        PreTradeCheck::StaleReferencePrice,
        PreTradeCheck::MaxOpenOrders,
        PreTradeCheck::DuplicateOrderId,
        PreTradeCheck::Unreconciled,
    ];

    /// How many checks there are.
    pub const COUNT: usize = 9;

    /// The name used by the API, metrics and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            PreTradeCheck::MaxOrderQuantity => "max_order_quantity",
            PreTradeCheck::MaxOrderNotional => "max_order_notional",
            PreTradeCheck::MaxPosition => "max_position",
            PreTradeCheck::MaxGrossExposure => "max_gross_exposure",
            PreTradeCheck::PriceCollar => "price_collar",
            PreTradeCheck::StaleReferencePrice => "stale_reference_price",
            PreTradeCheck::MaxOpenOrders => "max_open_orders",
            PreTradeCheck::DuplicateOrderId => "duplicate_order_id",
            PreTradeCheck::Unreconciled => "unreconciled",
        }
    }

    /// Position in [`PreTradeCheck::ALL`], for per-check counters.
    pub fn slot(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for PreTradeCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an order was denied before it left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    /// The check that failed.
    pub check: PreTradeCheck,
    /// Its limit; absent for a duplicate id and a missing reference price.
    pub limit: Option<Decimal>,
    /// The figure compared with the limit (for a stale reference price, its age in seconds).
    pub value: Option<Decimal>,
    /// One line a person can read, naming the asset.
    pub reason: String,
}

fn deny(check: PreTradeCheck, limit: Decimal, value: Decimal, reason: String) -> Denial {
    Denial {
        check,
        limit: Some(limit),
        value: Some(value),
        reason,
    }
}

/// Whether the order moves `held` towards zero without crossing it.
pub fn reduces(held: Decimal, side: Side, quantity: Decimal) -> bool {
    match side {
        Side::Sell => held > Decimal::ZERO && quantity <= held,
        Side::Buy => held < Decimal::ZERO && quantity <= -held,
    }
}

/// The bound on open orders alone: what a strategy without any configured check is judged
/// by (`max_open_orders`, else [`super::limits::DEFAULT_MAX_OPEN_ORDERS`]). One comparison.
pub fn judge_open_orders(limits: &PreTradeLimits, book: &OrderBook) -> Result<(), Denial> {
    let max = limits.open_orders_cap();
    let open = book.open_count().saturating_add(1);
    if open > max {
        return Err(deny(
            PreTradeCheck::MaxOpenOrders,
            Decimal::from(max),
            Decimal::from(open),
            format!("open orders {open} > max {max}"),
        ));
    }
    Ok(())
}

/// The denial of an order while the book waits for its first venue report after a crash.
pub fn unreconciled() -> Denial {
    Denial {
        check: PreTradeCheck::Unreconciled,
        limit: None,
        value: None,
        reason: "the engine stopped uncleanly and its book may miss orders: only orders that \
                 reduce a position pass until the first venue report (POST .../venue)"
            .into(),
    }
}

/// Judges one validated order against `limits` and `book` as of `now` (the engine's clock).
pub fn judge(
    limits: &PreTradeLimits,
    book: &OrderBook,
    order: &OrderRequest,
    now: DateTime<Utc>,
) -> Result<(), Denial> {
    if limits.duplicate_order_id && book.was_accepted(&order.order_id, now) {
        return Err(Denial {
            check: PreTradeCheck::DuplicateOrderId,
            limit: None,
            value: None,
            reason: format!("order_id {} was accepted before", order.order_id),
        });
    }
    judge_open_orders(limits, book)?;
    let o = Order::read(limits, book, order);
    o.quantity()?;
    o.reference_fresh(limits.max_reference_age, now)?;
    o.collar()?;
    o.notional()?;
    if o.reducing {
        // An order that only shrinks a position never breaches a position or exposure cap.
        return Ok(());
    }
    o.position()?;
    o.gross(limits.max_gross_exposure, book)
}

/// One order with what the checks read about its asset, looked up once.
struct Order<'a> {
    order: &'a OrderRequest,
    asset: &'a str,
    caps: &'a super::limits::AssetLimits,
    held_book: Option<&'a super::book::AssetBook>,
    /// Position plus working orders; `None` when that sum overflows (never counted as reducing).
    held: Option<Decimal>,
    reducing: bool,
    reference: Option<super::book::ReferencePrice>,
    needs_reference: bool,
}

impl<'a> Order<'a> {
    fn read(limits: &'a PreTradeLimits, book: &'a OrderBook, order: &'a OrderRequest) -> Self {
        let asset = order.asset.as_str();
        let caps = limits.for_asset(asset);
        let held_book = book.asset(asset);
        let held = held_book.map_or(Some(Decimal::ZERO), |a| a.exposure_position());
        let reducing = held.is_some_and(|h| reduces(h, order.side, order.quantity));
        let gross_applies = limits.max_gross_exposure.is_some() && !reducing;
        let needs_reference = match order.limit_price {
            Some(_) => caps.price_collar.is_some(),
            None => caps.max_order_notional.is_some(),
        } || gross_applies;
        Self {
            order,
            asset,
            caps,
            held_book,
            held,
            reducing,
            reference: held_book.and_then(|a| a.reference),
            needs_reference,
        }
    }

    fn quantity(&self) -> Result<(), Denial> {
        let (Some(max), quantity) = (self.caps.max_order_quantity, self.order.quantity) else {
            return Ok(());
        };
        if quantity > max {
            return Err(deny(
                PreTradeCheck::MaxOrderQuantity,
                max,
                quantity,
                format!("order quantity {quantity} > max {max} ({})", self.asset),
            ));
        }
        Ok(())
    }

    /// A reference price the later checks need: present, and no older than `max_age`.
    fn reference_fresh(
        &self,
        max_age: Option<chrono::Duration>,
        now: DateTime<Utc>,
    ) -> Result<(), Denial> {
        if !self.needs_reference {
            return Ok(());
        }
        let asset = self.asset;
        let Some(r) = self.reference else {
            return Err(Denial {
                check: PreTradeCheck::StaleReferencePrice,
                limit: None,
                value: None,
                reason: format!("no reference price for {asset}"),
            });
        };
        let Some(max_age) = max_age else {
            return Ok(());
        };
        let age = self.order.timestamp.unwrap_or(now) - r.at;
        if age > max_age {
            let seconds = Decimal::new(age.num_milliseconds(), 3).normalize();
            let max = Decimal::from(max_age.num_seconds());
            return Err(deny(
                PreTradeCheck::StaleReferencePrice,
                max,
                seconds,
                format!("reference price of {asset} is {seconds} s old > max {max} s"),
            ));
        }
        Ok(())
    }

    fn collar(&self) -> Result<(), Denial> {
        let (Some(collar), Some(limit_price), Some(r)) = (
            self.caps.price_collar,
            self.order.limit_price,
            self.reference,
        ) else {
            return Ok(());
        };
        // Compared by multiplication, |limit − reference| ≤ collar × reference: exact at the
        // edge, and no division on the path of an order that passes. The ratio is computed
        // only to word a denial.
        let outside = match (
            limit_price.checked_sub(r.price),
            collar.checked_mul(r.price),
        ) {
            (Some(diff), Some(allowed)) => diff.abs() > allowed,
            _ => true,
        };
        if !outside {
            return Ok(());
        }
        let away = limit_price
            .checked_div(r.price)
            .and_then(|q| q.checked_sub(Decimal::ONE))
            .map(|d| {
                d.abs()
                    .round_dp_with_strategy(8, RoundingStrategy::AwayFromZero)
                    .normalize()
            })
            .unwrap_or(Decimal::MAX);
        Err(deny(
            PreTradeCheck::PriceCollar,
            collar,
            away,
            format!(
                "limit price {limit_price} is {} from the reference {} > collar {} ({})",
                crate::rules::percent(away),
                r.price,
                crate::rules::percent(collar),
                self.asset
            ),
        ))
    }

    fn notional(&self) -> Result<(), Denial> {
        let Some(max) = self.caps.max_order_notional else {
            return Ok(());
        };
        let Some(price) = self.order.limit_price.or(self.reference.map(|r| r.price)) else {
            return Ok(());
        };
        let notional = self
            .order
            .quantity
            .checked_mul(price)
            .unwrap_or(Decimal::MAX);
        if notional > max {
            return Err(deny(
                PreTradeCheck::MaxOrderNotional,
                max,
                notional,
                format!("order notional {notional} > max {max} ({})", self.asset),
            ));
        }
        Ok(())
    }

    /// The asset's position were the order to fill completely.
    fn after(&self) -> Option<Decimal> {
        self.held
            .and_then(|h| h.checked_add(self.order.signed_quantity()))
    }

    fn position(&self) -> Result<(), Denial> {
        let Some(max) = self.caps.max_position else {
            return Ok(());
        };
        let size = self.after().map_or(Decimal::MAX, |a| a.abs());
        if size > max {
            return Err(deny(
                PreTradeCheck::MaxPosition,
                max,
                size,
                format!(
                    "position after the order {size} > max {max} ({})",
                    self.asset
                ),
            ));
        }
        Ok(())
    }

    fn gross(&self, max: Option<Decimal>, book: &OrderBook) -> Result<(), Denial> {
        let (Some(max), Some(r)) = (max, self.reference) else {
            return Ok(());
        };
        let own_term = self.held_book.and_then(|a| a.term());
        let others_unvalued =
            book.unvalued() - usize::from(self.held_book.is_some() && own_term.is_none());
        if others_unvalued > 0 {
            return Err(Denial {
                check: PreTradeCheck::StaleReferencePrice,
                limit: None,
                value: None,
                reason: format!(
                    "gross exposure cannot be valued: {others_unvalued} other asset(s) held or worked without a reference price"
                ),
            });
        }
        let gross = self
            .after()
            .and_then(|a| a.abs().checked_mul(r.price))
            .and_then(|term| {
                book.gross_sum()?
                    .checked_sub(own_term.unwrap_or_default())?
                    .checked_add(term)
            })
            .unwrap_or(Decimal::MAX);
        if gross > max {
            return Err(deny(
                PreTradeCheck::MaxGrossExposure,
                max,
                gross,
                format!("gross exposure after the order {gross} > max {max}"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::PreTradeCheck::*;
    use super::*;
    use crate::domain::Position;
    use crate::pretrade::limits::AssetLimits;
    use crate::pretrade::OrderBook;
    use chrono::Duration;
    use rust_decimal_macros::dec;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_773_064_800 + s, 0).unwrap()
    }

    fn buy(qty: Decimal) -> OrderRequest {
        OrderRequest::market("o", "AAPL", Side::Buy, qty)
    }

    fn sell(qty: Decimal) -> OrderRequest {
        OrderRequest::market("o", "AAPL", Side::Sell, qty)
    }

    fn limit(mut o: OrderRequest, price: Decimal) -> OrderRequest {
        o.limit_price = Some(price);
        o
    }

    /// A book holding `qty` AAPL valued at 100 by a snapshot at t(0).
    fn holding(qty: Decimal) -> OrderBook {
        let mut b = OrderBook::new();
        b.on_snapshot(
            t(0),
            &[Position {
                asset: "AAPL".into(),
                quantity: qty,
                market_price: dec!(100),
            }],
        );
        b
    }

    fn only(f: impl FnOnce(&mut PreTradeLimits)) -> PreTradeLimits {
        let mut l = PreTradeLimits::default();
        f(&mut l);
        l
    }

    fn check_of(
        r: Result<(), Denial>,
    ) -> Option<(PreTradeCheck, Option<Decimal>, Option<Decimal>)> {
        r.err().map(|d| (d.check, d.limit, d.value))
    }

    #[test]
    fn test_judge_when_no_limits_then_everything_passes() {
        let l = PreTradeLimits::default();
        assert!(!l.any());
        assert!(judge(&l, &OrderBook::new(), &buy(Decimal::MAX), t(0)).is_ok());
    }

    #[test]
    fn test_max_order_quantity_when_at_limit_then_passes_and_one_unit_over_then_denied() {
        let l = only(|l| l.per_order.max_order_quantity = Some(dec!(1000)));
        let b = OrderBook::new();
        assert!(judge(&l, &b, &buy(dec!(1000)), t(0)).is_ok());
        assert_eq!(
            check_of(judge(&l, &b, &buy(dec!(1000.0001)), t(0))),
            Some((MaxOrderQuantity, Some(dec!(1000)), Some(dec!(1000.0001))))
        );
        let d = judge(&l, &b, &sell(dec!(1001)), t(0)).unwrap_err();
        assert_eq!(d.reason, "order quantity 1001 > max 1000 (AAPL)");
    }

    #[test]
    fn test_per_asset_override_when_set_then_wins_over_strategy_wide() {
        let l = only(|l| l.per_order.max_order_quantity = Some(dec!(1000))).with_asset(
            "AAPL",
            AssetLimits {
                max_order_quantity: Some(dec!(500)),
                ..AssetLimits::default()
            },
        );
        let b = OrderBook::new();
        assert!(judge(&l, &b, &buy(dec!(500)), t(0)).is_ok());
        assert_eq!(
            check_of(judge(&l, &b, &buy(dec!(501)), t(0))).map(|c| c.1),
            Some(Some(dec!(500)))
        );
        // Another asset keeps the strategy-wide value.
        let other = OrderRequest::market("o", "MSFT", Side::Buy, dec!(1000));
        assert!(judge(&l, &b, &other, t(0)).is_ok());
        // An override that leaves a limit out inherits it.
        let l = only(|l| l.per_order.max_order_quantity = Some(dec!(10))).with_asset(
            "AAPL",
            AssetLimits {
                max_position: Some(dec!(5000)),
                ..AssetLimits::default()
            },
        );
        assert!(judge(&l, &b, &buy(dec!(11)), t(0)).is_err());
    }

    #[test]
    fn test_max_order_notional_when_limit_order_then_judged_at_its_limit_price() {
        let l = only(|l| l.per_order.max_order_notional = Some(dec!(50000)));
        // No reference needed for a limit order.
        let b = OrderBook::new();
        assert!(judge(&l, &b, &limit(buy(dec!(500)), dec!(100)), t(0)).is_ok());
        let d = judge(&l, &b, &limit(buy(dec!(500)), dec!(124.00)), t(0)).unwrap_err();
        assert_eq!(
            (d.check, d.limit, d.value),
            (MaxOrderNotional, Some(dec!(50000)), Some(dec!(62000.00)))
        );
        assert_eq!(d.reason, "order notional 62000.00 > max 50000 (AAPL)");
    }

    #[test]
    fn test_max_order_notional_when_market_order_then_judged_at_reference_or_denied_without_one() {
        let l = only(|l| l.per_order.max_order_notional = Some(dec!(50000)));
        assert!(judge(&l, &holding(dec!(0)), &buy(dec!(500)), t(0)).is_ok());
        assert_eq!(
            check_of(judge(&l, &holding(dec!(0)), &buy(dec!(501)), t(0))),
            Some((MaxOrderNotional, Some(dec!(50000)), Some(dec!(50100))))
        );
        assert_eq!(
            check_of(judge(&l, &OrderBook::new(), &buy(dec!(1)), t(0))),
            Some((StaleReferencePrice, None, None))
        );
    }

    #[test]
    fn test_stale_reference_when_at_max_age_then_passes_and_older_then_denied_with_age() {
        let l = only(|l| {
            l.per_order.max_order_notional = Some(dec!(1000000));
            l.max_reference_age = Some(Duration::seconds(60));
        });
        let b = holding(dec!(0));
        assert!(judge(&l, &b, &buy(dec!(1)), t(60)).is_ok());
        assert_eq!(
            check_of(judge(&l, &b, &buy(dec!(1)), t(61))),
            Some((StaleReferencePrice, Some(dec!(60)), Some(dec!(61))))
        );
        // The order's own timestamp is the one judged when it has one.
        let mut o = buy(dec!(1));
        o.timestamp = Some(t(30));
        assert!(judge(&l, &b, &o, t(500)).is_ok());
        // A check that needs no reference does not care how old it is.
        let q = only(|l| {
            l.per_order.max_order_quantity = Some(dec!(10));
            l.max_reference_age = Some(Duration::seconds(60));
        });
        assert!(judge(&q, &b, &buy(dec!(1)), t(10_000)).is_ok());
    }

    #[test]
    fn test_price_collar_when_at_edge_then_passes_and_beyond_then_denied() {
        let l = only(|l| l.per_order.price_collar = Some(dec!(0.05)));
        let b = holding(dec!(0));
        assert!(judge(&l, &b, &limit(buy(dec!(1)), dec!(105)), t(0)).is_ok());
        assert!(judge(&l, &b, &limit(sell(dec!(1)), dec!(95)), t(0)).is_ok());
        assert_eq!(
            check_of(judge(&l, &b, &limit(buy(dec!(1)), dec!(105.01)), t(0))),
            Some((PriceCollar, Some(dec!(0.05)), Some(dec!(0.0501))))
        );
        let d = judge(&l, &b, &limit(buy(dec!(1)), dec!(130)), t(0)).unwrap_err();
        assert_eq!(
            d.reason,
            "limit price 130 is 30% from the reference 100 > collar 5% (AAPL)"
        );
        // A market order has no limit price to collar.
        assert!(judge(&l, &b, &buy(dec!(1)), t(0)).is_ok());
        // A limit order with no reference at all cannot be collared: denied.
        assert_eq!(
            check_of(judge(
                &l,
                &OrderBook::new(),
                &limit(buy(dec!(1)), dec!(1)),
                t(0)
            ))
            .map(|c| c.0),
            Some(StaleReferencePrice)
        );
    }

    #[test]
    fn test_max_position_when_open_orders_count_then_position_after_includes_them() {
        let l = only(|l| l.per_order.max_position = Some(dec!(5000)));
        let mut b = holding(dec!(4000));
        assert!(judge(&l, &b, &buy(dec!(1000)), t(0)).is_ok());
        b.accept(
            &OrderRequest::market("w", "AAPL", Side::Buy, dec!(600)),
            t(0),
        );
        assert_eq!(
            check_of(judge(&l, &b, &buy(dec!(401)), t(0))),
            Some((MaxPosition, Some(dec!(5000)), Some(dec!(5001))))
        );
        assert!(judge(&l, &b, &buy(dec!(400)), t(0)).is_ok());
        // Shorts count by size too.
        let b = holding(dec!(-4000));
        assert_eq!(
            check_of(judge(&l, &b, &sell(dec!(1001)), t(0))).map(|c| c.2),
            Some(Some(dec!(5001)))
        );
    }

    #[test]
    fn test_reduce_only_order_when_over_position_and_gross_limits_then_never_denied_by_them() {
        let l = only(|l| {
            l.per_order.max_position = Some(dec!(100));
            l.max_gross_exposure = Some(dec!(1000));
        });
        // Already far over both limits: selling part of it must pass.
        let b = holding(dec!(5000));
        assert!(judge(&l, &b, &sell(dec!(4000)), t(0)).is_ok());
        assert!(judge(&l, &b, &sell(dec!(5000)), t(0)).is_ok());
        // Crossing through zero is not reducing.
        assert_eq!(
            check_of(judge(&l, &b, &sell(dec!(5200)), t(0))),
            Some((MaxPosition, Some(dec!(100)), Some(dec!(200))))
        );
        let g = only(|l| l.max_gross_exposure = Some(dec!(1000)));
        assert_eq!(
            check_of(judge(&g, &b, &sell(dec!(5011)), t(0))),
            Some((MaxGrossExposure, Some(dec!(1000)), Some(dec!(1100))))
        );
        // A reducing order needs no reference price for the gross check.
        let mut flat_ref = OrderBook::new();
        flat_ref.accept(&OrderRequest::market("w", "AAPL", Side::Buy, dec!(5)), t(0));
        assert!(judge(&g, &flat_ref, &sell(dec!(5)), t(0)).is_ok());
        // But per-order limits still apply to it.
        let q = only(|l| l.per_order.max_order_quantity = Some(dec!(10)));
        assert!(judge(&q, &b, &sell(dec!(11)), t(0)).is_err());
    }

    #[test]
    fn test_max_gross_exposure_when_at_limit_then_passes_and_over_then_denied() {
        let l = only(|l| l.max_gross_exposure = Some(dec!(250000)));
        let mut b = holding(dec!(1000)); // 100 000
        b.on_prices(t(0), &[("MSFT".into(), dec!(500))]);
        b.on_fill(&crate::domain::Fill {
            order_id: "x".into(),
            asset: "MSFT".into(),
            side: Side::Sell,
            quantity: dec!(100),
            price: dec!(500),
            timestamp: t(1),
        })
        .unwrap(); // short 100 × 500 = 50 000
        assert_eq!(b.gross_exposure(), Some(dec!(150000)));
        assert!(judge(&l, &b, &buy(dec!(1000)), t(1)).is_ok());
        assert_eq!(
            check_of(judge(&l, &b, &buy(dec!(1001)), t(1))),
            Some((MaxGrossExposure, Some(dec!(250000)), Some(dec!(250100))))
        );
        // An asset held without any reference price makes the sum unknowable: denied.
        b.accept(&OrderRequest::market("n", "NEW", Side::Buy, dec!(1)), t(1));
        assert_eq!(
            check_of(judge(&l, &b, &buy(dec!(1)), t(1))).map(|c| c.0),
            Some(StaleReferencePrice)
        );
    }

    #[test]
    fn test_max_open_orders_when_at_limit_then_passes_and_next_denied_until_one_closes() {
        let l = only(|l| l.max_open_orders = Some(2));
        let mut b = OrderBook::new();
        b.accept(&OrderRequest::market("a", "X", Side::Buy, dec!(1)), t(0));
        assert!(judge(&l, &b, &buy(dec!(1)), t(0)).is_ok());
        b.accept(&OrderRequest::market("b", "X", Side::Buy, dec!(1)), t(0));
        assert_eq!(
            check_of(judge(&l, &b, &buy(dec!(1)), t(0))),
            Some((MaxOpenOrders, Some(dec!(2)), Some(dec!(3))))
        );
        b.on_done("a", t(0)).unwrap();
        assert!(judge(&l, &b, &buy(dec!(1)), t(0)).is_ok());
    }

    #[test]
    fn test_duplicate_order_id_when_accepted_before_then_denied_even_after_done() {
        let l = only(|l| l.duplicate_order_id = true);
        let mut b = OrderBook::new();
        assert!(judge(&l, &b, &buy(dec!(1)), t(0)).is_ok());
        b.accept(&buy(dec!(1)), t(0));
        let d = judge(&l, &b, &buy(dec!(1)), t(0)).unwrap_err();
        assert_eq!((d.check, d.limit, d.value), (DuplicateOrderId, None, None));
        b.on_done("o", t(0)).unwrap();
        assert!(judge(&l, &b, &buy(dec!(1)), t(0)).is_err());
    }

    #[test]
    fn test_judge_when_values_extreme_then_denied_never_panics() {
        let l = only(|l| {
            l.per_order.max_order_notional = Some(dec!(1));
            l.per_order.max_position = Some(dec!(1));
            l.per_order.price_collar = Some(dec!(0.5));
            l.max_gross_exposure = Some(dec!(1));
        });
        let mut b = OrderBook::new();
        b.on_prices(t(0), &[("AAPL".into(), Decimal::new(1, 28))]);
        assert_eq!(
            check_of(judge(&l, &b, &limit(buy(dec!(1)), Decimal::MAX), t(0))).map(|c| c.0),
            Some(PriceCollar)
        );
        b.on_prices(t(1), &[("AAPL".into(), Decimal::MAX)]);
        assert!(judge(&l, &b, &buy(Decimal::MAX), t(1)).is_err());
    }

    #[test]
    fn test_check_names_when_serialized_then_match_the_api() {
        for c in PreTradeCheck::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert_eq!(PreTradeCheck::ALL[c.slot()], c);
        }
    }

    #[test]
    fn test_duplicate_order_id_when_window_passed_then_forgotten_and_accepted_again() {
        use crate::pretrade::book::OrderDays;
        let l = only(|l| {
            l.duplicate_order_id = true;
            l.duplicate_window = Some(Duration::seconds(3600));
        });
        let mut b = OrderBook::new().with_days(OrderDays::new(None, l.duplicate_window));
        b.accept(&buy(dec!(1)), t(0));
        b.on_done("o", t(0)).unwrap();
        assert_eq!(
            check_of(judge(&l, &b, &buy(dec!(1)), t(3599))).map(|c| c.0),
            Some(DuplicateOrderId)
        );
        assert!(judge(&l, &b, &buy(dec!(1)), t(3600)).is_ok());
        // Open, it is a duplicate however old.
        b.accept(&buy(dec!(1)), t(3600));
        assert_eq!(
            check_of(judge(&l, &b, &buy(dec!(1)), t(100_000))).map(|c| c.0),
            Some(DuplicateOrderId)
        );
    }

    #[test]
    fn test_max_open_orders_when_unset_then_bounded_at_100k() {
        use crate::pretrade::limits::DEFAULT_MAX_OPEN_ORDERS;
        let none = PreTradeLimits::default();
        assert!(!none.any(), "the bound alone is no configured check");
        assert_eq!(none.open_orders_cap(), 100_000);
        let mut b = OrderBook::new();
        for i in 0..DEFAULT_MAX_OPEN_ORDERS {
            b.accept(
                &OrderRequest::market(format!("o{i}"), "X", Side::Buy, dec!(1)),
                t(0),
            );
        }
        assert_eq!(
            check_of(judge_open_orders(&none, &b)),
            Some((MaxOpenOrders, Some(dec!(100000)), Some(dec!(100001))))
        );
        assert_eq!(
            check_of(judge(&none, &b, &buy(dec!(1)), t(0))).map(|c| c.0),
            Some(MaxOpenOrders)
        );
        b.on_done("o0", t(0)).unwrap();
        assert!(judge_open_orders(&none, &b).is_ok());
    }
}
