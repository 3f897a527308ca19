//! The breaker rules: pure, synchronous structs with no I/O and no clock of their own.
//! Each takes its input and the time, and answers with an optional [`Trip`](crate::breaker::Trip).

pub mod daily_loss;
pub mod drawdown;
pub mod error_rate;
pub mod market_session;
pub mod order_rate;
pub mod sliding_window;
pub mod stale_feed;

pub use daily_loss::{DailyLossLimit, DailyLossRule, DailyLossState};
pub use drawdown::{DrawdownRule, DrawdownState};
pub use error_rate::{ErrorArrival, ErrorRateRule};
pub use market_session::MarketSession;
pub use order_rate::{OrderRateRule, OrderVerdict};
pub use sliding_window::SlidingWindow;
pub use stale_feed::StaleFeedRule;

/// Formats a ratio as a percentage with two decimals: `-0.1042` → `-10.42%`.
pub fn percent(ratio: rust_decimal::Decimal) -> String {
    match ratio.checked_mul(rust_decimal::Decimal::ONE_HUNDRED) {
        Some(p) => format!("{}%", p.round_dp(2).normalize()),
        None => format!("{}×100%", ratio.normalize()),
    }
}
