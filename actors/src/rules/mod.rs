//! What the breakers are built from: exact decimal comparisons, the market calendar, sliding
//! windows, silence timers and the percentages their trips report. Pure and synchronous, no
//! I/O and no clock of their own. The breakers themselves are in [`crate::breakers`]; their
//! rules are re-exported here.

pub mod beacon;
pub mod exact;
pub mod market_session;
pub mod silence;
pub mod sliding_window;
pub mod windowed_limit;

pub use beacon::HostBeacon;
pub use market_session::MarketSession;
pub use silence::{Awaited, Heard, SilenceRule};
pub use sliding_window::SlidingWindow;
pub use windowed_limit::{Counted, WindowedLimit};

/// Formats a ratio as a percentage with two decimals: `-0.1042` → `-10.42%`.
pub fn percent(ratio: rust_decimal::Decimal) -> String {
    percent_dp(ratio, 2)
}

fn percent_dp(ratio: rust_decimal::Decimal, dp: u32) -> String {
    match ratio.checked_mul(rust_decimal::Decimal::ONE_HUNDRED) {
        Some(p) => format!("{}%", p.round_dp(dp).normalize()),
        None => format!("{}×100%", ratio.normalize()),
    }
}

/// A trip's ratio and its limit as percentages: the limit exactly, the ratio with as many
/// decimals as the limit has (at least two). Rounding to one precision keeps order and the
/// limit is printed as it is, so a ratio at or below its limit never reads above it:
/// `(-0.1042, -0.1)` → `("-10.42%", "-10%")`; `(-0.10025012, -0.10025001)` →
/// `("-10.025012%", "-10.025001%")`, where two decimals would have read `-10.03% <= -10.03%`
/// and a rounding of the ratio alone `-10.02% <= -10.03%`.
pub fn percent_against(
    ratio: rust_decimal::Decimal,
    limit: rust_decimal::Decimal,
) -> (String, String) {
    let dp = limit
        .checked_mul(rust_decimal::Decimal::ONE_HUNDRED)
        .map_or(2, |p| p.normalize().scale().max(2));
    (percent_dp(ratio, dp), percent_dp(limit, dp))
}

/// The ratio a trip reports against `limit`: rounded to six decimals (or the limit's, when it
/// has more), and never on the other side of the limit than the exact judgment put it (a
/// rounding of the quotient cannot undo a breach). `None` (a quotient too large for a decimal)
/// reports `Decimal::MIN`, below any limit.
pub fn reported_ratio(
    ratio: Option<rust_decimal::Decimal>,
    limit: rust_decimal::Decimal,
) -> rust_decimal::Decimal {
    match ratio {
        Some(r) => r.round_dp(limit.scale().max(6)).min(limit).normalize(),
        None => rust_decimal::Decimal::MIN,
    }
}
