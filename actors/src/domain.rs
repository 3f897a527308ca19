//! What the host tells the engine: portfolio snapshots, orders, fills and errors.
//! Validation lives here so every entry point (embedding API, HTTP, replay) refuses the same
//! bad input with the same words, before any state changes.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Input the engine refuses: names the field and the value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// A value that must be above zero was not.
    #[error("{field}: {value} must be greater than zero")]
    NotPositive {
        /// The field's name.
        field: &'static str,
        /// The value given.
        value: Decimal,
    },
    /// A value that must not be negative was.
    #[error("{field}: {value} must not be negative")]
    Negative {
        /// The field's name.
        field: &'static str,
        /// The value given.
        value: Decimal,
    },
    /// A text field that must not be empty was.
    #[error("{field}: must not be empty")]
    Empty {
        /// The field's name.
        field: &'static str,
    },
    /// An event older than one already accepted.
    #[error("{field}: {value} is before the previous event at {previous}: events out of order")]
    OutOfOrder {
        /// The field's name.
        field: &'static str,
        /// The timestamp given.
        value: DateTime<Utc>,
        /// The newest timestamp already accepted.
        previous: DateTime<Utc>,
    },
    /// A timestamp further ahead of the engine's clock than the allowed skew: accepting it
    /// would make every real event after it look out of order.
    #[error(
        "{field}: {value} is more than {max_skew_seconds} s ahead of the engine's clock ({now})"
    )]
    AheadOfClock {
        /// The field's name.
        field: &'static str,
        /// The timestamp given.
        value: DateTime<Utc>,
        /// The engine clock's time.
        now: DateTime<Utc>,
        /// The skew allowed.
        max_skew_seconds: i64,
    },
    /// An order id the gate never accepted, or accepted so long ago that it was forgotten
    /// (`/done` for an unknown order).
    #[error("order_id: {order_id:?} was never accepted by the gate")]
    UnknownOrder {
        /// The id given.
        order_id: String,
    },
    /// A `day` order the gate closed as expired at its session's close: it is no longer held
    /// (`/done` for it answers like one never accepted).
    #[error("order_id: {order_id:?} expired at its session's close and is no longer open")]
    ExpiredOrder {
        /// The id given.
        order_id: String,
    },
    /// Numbers whose product or sum does not fit a decimal (28 significant digits).
    #[error("{field}: {detail} is too large to compute with")]
    Overflow {
        /// The field's name.
        field: &'static str,
        /// What overflowed, with the values.
        detail: String,
    },
}

impl InputError {
    /// Refuses a timestamp more than `max_skew` ahead of `now`.
    pub fn check_not_ahead(
        field: &'static str,
        value: DateTime<Utc>,
        now: DateTime<Utc>,
        max_skew: chrono::Duration,
    ) -> Result<(), InputError> {
        if value > now + max_skew {
            return Err(InputError::AheadOfClock {
                field,
                value,
                now,
                max_skew_seconds: max_skew.num_seconds(),
            });
        }
        Ok(())
    }
}

/// A portfolio value at an instant: what the portfolio breakers judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valuation {
    /// Total value, cash included.
    pub value: Decimal,
    /// The snapshot's own time.
    pub at: DateTime<Utc>,
    /// When the engine received it (the stale-feed breaker's clock).
    pub received_at: DateTime<Utc>,
}

/// One holding in a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// Instrument identifier.
    pub asset: String,
    /// Signed quantity: negative is short.
    pub quantity: Decimal,
    /// Last price used to value the holding.
    pub market_price: Decimal,
}

impl Position {
    /// Quantity times price; `None` when the product does not fit a decimal (a validated
    /// snapshot never holds such a position).
    pub fn market_value(&self) -> Option<Decimal> {
        self.quantity.checked_mul(self.market_price)
    }
}

/// The host's view of the portfolio at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioSnapshot {
    /// When the host valued the portfolio.
    pub timestamp: DateTime<Utc>,
    /// Total value, cash included.
    pub portfolio_value: Decimal,
    /// Cash, when the host reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash: Option<Decimal>,
    /// Holdings, when the host reports them: `Some` of an empty list says the portfolio holds
    /// nothing; `None` leaves the positions the engine knows as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positions: Option<Vec<Position>>,
}

impl PortfolioSnapshot {
    /// A snapshot with a value and nothing else.
    pub fn valued(timestamp: DateTime<Utc>, portfolio_value: Decimal) -> Self {
        Self {
            timestamp,
            portfolio_value,
            cash: None,
            positions: None,
        }
    }

    /// The same snapshot reporting `positions` as every holding (an empty list: flat).
    pub fn with_positions(mut self, positions: Vec<Position>) -> Self {
        self.positions = Some(positions);
        self
    }

    /// The positions reported, none when the snapshot reports none.
    pub fn positions(&self) -> &[Position] {
        self.positions.as_deref().unwrap_or_default()
    }

    /// Refuses negative prices, empty asset names and positions whose value overflows. Any
    /// portfolio value is taken, zero and below included (a margin account's equity after
    /// losses): the portfolio breakers judge it, and fail closed where they cannot.
    pub fn validate(&self) -> Result<(), InputError> {
        for p in self.positions() {
            if p.asset.trim().is_empty() {
                return Err(InputError::Empty {
                    field: "positions.asset",
                });
            }
            if p.market_price < Decimal::ZERO {
                return Err(InputError::Negative {
                    field: "positions.market_price",
                    value: p.market_price,
                });
            }
        }
        self.gross_exposure().map(|_| ())
    }

    /// The sum of every position's absolute market value, refusing numbers whose product or
    /// sum overflows.
    pub fn gross_exposure(&self) -> Result<Decimal, InputError> {
        let mut gross = Decimal::ZERO;
        for p in self.positions() {
            let value = p.market_value().ok_or_else(|| InputError::Overflow {
                field: "positions.market_price",
                detail: format!("{} × {} for {}", p.quantity, p.market_price, p.asset),
            })?;
            gross = gross
                .checked_add(value.abs())
                .ok_or_else(|| InputError::Overflow {
                    field: "positions",
                    detail: format!("the gross market value at {}", p.asset),
                })?;
        }
        Ok(gross)
    }
}

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Increases a long position or covers a short.
    Buy,
    /// Reduces a long position or opens a short.
    Sell,
}

/// An order the host wants to submit to its broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// The host's identifier for the order.
    pub order_id: String,
    /// Instrument identifier.
    pub asset: String,
    /// Buy or sell.
    pub side: Side,
    /// Unsigned quantity.
    pub quantity: Decimal,
    /// Limit price, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_price: Option<Decimal>,
    /// When the host created the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// How long the order works: `day` (the default) expires at its session's close.
    #[serde(default, skip_serializing_if = "TimeInForce::is_day")]
    pub time_in_force: TimeInForce,
}

/// How long an order works if neither filled nor done (API v1.2 "Orders over days").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeInForce {
    /// Until its session closes (the market's `close`, else the next open); an order accepted
    /// outside a session belongs to the next one. Then the gate closes it as expired.
    #[default]
    Day,
    /// Good till cancelled: open until filled or done, across sessions.
    Gtc,
}

impl TimeInForce {
    /// Whether this is `day`, the default (left out when serialised).
    pub fn is_day(&self) -> bool {
        matches!(self, TimeInForce::Day)
    }

    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Day => "day",
            TimeInForce::Gtc => "gtc",
        }
    }
}

impl OrderRequest {
    /// A market order.
    pub fn market(
        order_id: impl Into<String>,
        asset: impl Into<String>,
        side: Side,
        quantity: Decimal,
    ) -> Self {
        Self {
            order_id: order_id.into(),
            asset: asset.into(),
            side,
            quantity,
            limit_price: None,
            timestamp: None,
            time_in_force: TimeInForce::Day,
        }
    }

    /// The same order, good till cancelled.
    pub fn good_till_cancelled(mut self) -> Self {
        self.time_in_force = TimeInForce::Gtc;
        self
    }

    /// Refuses empty identifiers, non-positive quantities and limit prices.
    pub fn validate(&self) -> Result<(), InputError> {
        if self.order_id.trim().is_empty() {
            return Err(InputError::Empty { field: "order_id" });
        }
        if self.asset.trim().is_empty() {
            return Err(InputError::Empty { field: "asset" });
        }
        if self.quantity <= Decimal::ZERO {
            return Err(InputError::NotPositive {
                field: "quantity",
                value: self.quantity,
            });
        }
        if let Some(price) = self.limit_price {
            if price <= Decimal::ZERO {
                return Err(InputError::NotPositive {
                    field: "limit_price",
                    value: price,
                });
            }
        }
        Ok(())
    }

    /// Signed quantity: buys positive, sells negative.
    pub fn signed_quantity(&self) -> Decimal {
        match self.side {
            Side::Buy => self.quantity,
            Side::Sell => -self.quantity,
        }
    }
}

/// A fill reported by the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fill {
    /// The order filled.
    pub order_id: String,
    /// Instrument identifier.
    pub asset: String,
    /// Buy or sell.
    pub side: Side,
    /// Quantity filled.
    pub quantity: Decimal,
    /// Fill price.
    pub price: Decimal,
    /// When the fill happened.
    pub timestamp: DateTime<Utc>,
}

impl Fill {
    /// Refuses empty identifiers and non-positive quantities or prices.
    pub fn validate(&self) -> Result<(), InputError> {
        if self.order_id.trim().is_empty() {
            return Err(InputError::Empty { field: "order_id" });
        }
        if self.asset.trim().is_empty() {
            return Err(InputError::Empty { field: "asset" });
        }
        if self.quantity <= Decimal::ZERO {
            return Err(InputError::NotPositive {
                field: "quantity",
                value: self.quantity,
            });
        }
        if self.price <= Decimal::ZERO {
            return Err(InputError::NotPositive {
                field: "price",
                value: self.price,
            });
        }
        Ok(())
    }
}

/// The kinds of error the error-rate breaker counts, each reported on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The broker rejected an order.
    OrderRejected,
    /// The broker failed (connection, internal error).
    BrokerError,
    /// Market or account data was missing or wrong.
    DataError,
}

impl ErrorKind {
    /// Every kind, in reporting order.
    pub const ALL: [ErrorKind; 3] = [
        ErrorKind::OrderRejected,
        ErrorKind::BrokerError,
        ErrorKind::DataError,
    ];

    /// The name used in the API and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::OrderRejected => "order_rejected",
            ErrorKind::BrokerError => "broker_error",
            ErrorKind::DataError => "data_error",
        }
    }

    fn index(self) -> usize {
        match self {
            ErrorKind::OrderRejected => 0,
            ErrorKind::BrokerError => 1,
            ErrorKind::DataError => 2,
        }
    }

    /// Position in [`ErrorKind::ALL`]; used for per-kind counters.
    pub fn slot(self) -> usize {
        self.index()
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error the host reports: a rejection, a broker failure or bad data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorReport {
    /// What kind of error.
    pub kind: ErrorKind,
    /// The broker's or host's message.
    pub message: String,
    /// The order concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// When it happened, if the host knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// A position as the venue reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenuePosition {
    /// Instrument.
    pub asset: String,
    /// Signed quantity: negative is short.
    pub quantity: Decimal,
}

/// An open order as the venue reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueOrder {
    /// The host's id for it.
    pub order_id: String,
    /// Instrument.
    pub asset: String,
    /// Buy or sell.
    pub side: Side,
    /// Quantity ordered (positive).
    pub quantity: Decimal,
    /// Quantity filled so far.
    #[serde(default)]
    pub filled: Decimal,
}

/// The broker's or venue's own view of positions and open orders (`POST .../venue`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueReport {
    /// When the venue's view was taken.
    pub timestamp: DateTime<Utc>,
    /// Positions; absent: not reported, empty: flat in every asset.
    #[serde(default)]
    pub positions: Option<Vec<VenuePosition>>,
    /// Open orders; absent: not compared.
    #[serde(default)]
    pub open_orders: Option<Vec<VenueOrder>>,
}

impl VenueReport {
    /// Checks every figure: names not empty, order quantities positive, fills not negative.
    pub fn validate(&self) -> Result<(), InputError> {
        for p in self.positions.iter().flatten() {
            if p.asset.trim().is_empty() {
                return Err(InputError::Empty {
                    field: "positions.asset",
                });
            }
        }
        for o in self.open_orders.iter().flatten() {
            if o.order_id.trim().is_empty() {
                return Err(InputError::Empty {
                    field: "open_orders.order_id",
                });
            }
            if o.asset.trim().is_empty() {
                return Err(InputError::Empty {
                    field: "open_orders.asset",
                });
            }
            if o.quantity <= Decimal::ZERO {
                return Err(InputError::NotPositive {
                    field: "open_orders.quantity",
                    value: o.quantity,
                });
            }
            if o.filled < Decimal::ZERO {
                return Err(InputError::Negative {
                    field: "open_orders.filled",
                    value: o.filled,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn test_validate_when_value_zero_or_below_then_accepted_for_the_breakers_to_judge() {
        // A margin account's equity can reach zero or below: the breakers judge it.
        for v in [
            dec!(0),
            dec!(-80),
            -Decimal::new(1, 28),
            Decimal::new(1, 28),
            Decimal::MIN,
            Decimal::MAX,
        ] {
            assert_eq!(PortfolioSnapshot::valued(Utc::now(), v).validate(), Ok(()));
        }
        // What is wrong with a snapshot is still refused, naming the field.
        let mut s = PortfolioSnapshot::valued(Utc::now(), dec!(-80));
        s.positions = Some(vec![Position {
            asset: "X".into(),
            quantity: dec!(1),
            market_price: dec!(-1),
        }]);
        assert_eq!(
            s.validate().unwrap_err().to_string(),
            "positions.market_price: -1 must not be negative"
        );
    }

    #[test]
    fn test_validate_when_negative_quantity_then_refused() {
        let o = OrderRequest::market("o1", "AAPL", Side::Buy, dec!(-1));
        assert!(matches!(
            o.validate(),
            Err(InputError::NotPositive {
                field: "quantity",
                ..
            })
        ));
    }

    #[test]
    fn test_order_json_when_unknown_field_then_refused() {
        let r: Result<OrderRequest, _> = serde_json::from_str(
            r#"{"order_id":"1","asset":"A","side":"buy","quantity":"1","bogus":1}"#,
        );
        assert!(r.is_err());
    }

    #[test]
    fn test_validate_when_position_value_overflows_then_names_field() {
        let mut s = PortfolioSnapshot::valued(Utc::now(), dec!(1));
        s.positions.get_or_insert_with(Vec::new).push(Position {
            asset: "X".into(),
            quantity: Decimal::MAX,
            market_price: dec!(2),
        });
        let err = s.validate().unwrap_err();
        assert!(
            err.to_string().starts_with("positions.market_price:"),
            "{err}"
        );
        s.positions.as_mut().unwrap()[0].quantity = dec!(1);
        s.positions.get_or_insert_with(Vec::new).push(Position {
            asset: "Y".into(),
            quantity: Decimal::MAX,
            market_price: dec!(1),
        });
        assert!(matches!(
            s.validate(),
            Err(InputError::Overflow {
                field: "positions",
                ..
            })
        ));
    }

    #[test]
    fn test_check_not_ahead_when_beyond_skew_then_refused() {
        let now = Utc::now();
        let skew = chrono::Duration::seconds(5);
        assert!(InputError::check_not_ahead("timestamp", now + skew, now, skew).is_ok());
        let err = InputError::check_not_ahead(
            "timestamp",
            now + skew + chrono::Duration::milliseconds(1),
            now,
            skew,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("timestamp: "), "{err}");
    }

    #[test]
    fn test_signed_quantity() {
        let o = OrderRequest::market("o1", "AAPL", Side::Sell, dec!(3));
        assert_eq!(o.signed_quantity(), dec!(-3));
    }
}
