//! `[strategy.market]` and `[firm.market]`: a market's sessions, validated.

use super::MarketSection;
use crate::rules::MarketSession;
use crate::settings::StrategySettings;
use chrono::{NaiveDate, NaiveTime};

/// The sessions of `section` (the default market, New York 09:30-16:00, when absent); every
/// problem is named under `path` (`strategy[0].market`, `firm.market`).
pub(super) fn market_session(
    section: Option<&MarketSection>,
    path: &str,
    problems: &mut Vec<String>,
) -> Option<MarketSession> {
    let at = |field: &str| format!("{path}.{field}");
    let before = problems.len();
    let m = section.cloned().unwrap_or_default();
    let default_market = m.timezone.is_none() && m.open.is_none();
    let close_text = m
        .close
        .clone()
        .or_else(|| default_market.then(|| "16:00".to_string()));
    let close = close_text
        .as_ref()
        .and_then(|t| time_of(t, "16:00", &at("close"), problems));
    let tz_name = m.timezone.unwrap_or_else(|| "America/New_York".into());
    let tz = match tz_name.parse::<chrono_tz::Tz>() {
        Ok(tz) => Some(tz),
        Err(_) => {
            problems.push(format!(
                "{}: {tz_name:?} is not an IANA time zone (e.g. \"America/New_York\")",
                at("timezone")
            ));
            None
        }
    };
    let open_text = m.open.unwrap_or_else(|| "09:30".into());
    let open = time_of(&open_text, "09:30", &at("open"), problems);
    let mut holidays = Vec::new();
    for (j, h) in m.holidays.unwrap_or_default().iter().enumerate() {
        match NaiveDate::parse_from_str(h, "%Y-%m-%d") {
            Ok(d) => holidays.push(d),
            Err(_) => problems.push(format!(
                "{}: {h:?} is not a date like \"2026-12-25\"",
                at(&format!("holidays[{j}]"))
            )),
        }
    }
    let always_open = m.always_open.unwrap_or(false);
    if always_open && m.close.is_some() {
        problems.push(format!(
            "{}: a market with always_open = true has no close; remove close",
            at("close")
        ));
    }
    let (tz, open) = (tz?, open?);
    let market = MarketSession::new(tz, open, holidays);
    let market = match close {
        _ if always_open => market.always_open(),
        Some(c) if c <= open => {
            problems.push(format!(
                "{}: {c} must be after the open {open}",
                at("close")
            ));
            market
        }
        Some(c) => market.closing_at(c),
        None => market,
    };
    (problems.len() == before).then_some(market)
}

/// `text` as an `HH:MM` time; otherwise a problem naming `field` and showing `example`.
fn time_of(
    text: &str,
    example: &str,
    field: &str,
    problems: &mut Vec<String>,
) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text, "%H:%M")
        .map_err(|_| problems.push(format!("{field}: {text:?} is not a time like {example:?}")))
        .ok()
}

/// The market every strategy shares, for a firm without `[firm.market]`: the firm's session
/// must not depend on which strategy happens to be listed first.
pub(super) fn shared_market(
    strategies: &[StrategySettings],
    problems: &mut Vec<String>,
) -> Option<MarketSession> {
    let Some(first) = strategies.first() else {
        return Some(StrategySettings::moderate("firm").market);
    };
    match strategies.iter().position(|s| s.market != first.market) {
        None => Some(first.market.clone()),
        Some(j) => {
            problems.push(format!(
                "firm.circuit_breakers.daily_loss: strategy[0] ({}) and strategy[{j}] ({}) trade \
                 in different markets; give [firm.market] to say whose open starts the firm's day",
                first.name, strategies[j].name
            ));
            None
        }
    }
}
