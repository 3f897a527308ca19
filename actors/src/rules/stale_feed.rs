//! Stale feed: during a session, no portfolio snapshot for longer than `max_snapshot_age`
//! trips, because every portfolio breaker is blind without one.

use super::market_session::MarketSession;
use crate::breaker::{BreakerKind, BreakerReading, Rule, Trip, Verdict};
use crate::domain::{InputError, Valuation};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The stale-feed rule.
#[derive(Debug, Clone)]
pub struct StaleFeedRule {
    max_age: Duration,
    market: MarketSession,
    last_seen: DateTime<Utc>,
    latched: bool,
}

impl StaleFeedRule {
    /// Trips when no snapshot came for more than `max_age` during a session; the clock starts
    /// at `started` so a feed that never speaks is caught too.
    pub fn new(max_age: Duration, market: MarketSession, started: DateTime<Utc>) -> Self {
        Self {
            max_age,
            market,
            last_seen: started,
            latched: false,
        }
    }

    /// A snapshot arrived at `at`. Returns whether a latched trip cleared.
    pub fn on_snapshot(&mut self, at: DateTime<Utc>) -> bool {
        self.last_seen = self.last_seen.max(at);
        std::mem::take(&mut self.latched)
    }

    /// Checks the feed's age at `now`.
    pub fn on_tick(&mut self, now: DateTime<Utc>) -> Option<Trip> {
        if self.latched || self.market.session_of(now).is_none() {
            return None;
        }
        // Silence before the open does not count against the session.
        let since = self
            .last_seen
            .max(self.market.open_instant(self.market.session_of(now)?));
        let age = now - since;
        if age <= self.max_age {
            return None;
        }
        self.latched = true;
        let mut details = BTreeMap::new();
        details.insert(
            "seconds_since_snapshot".into(),
            age.num_seconds().to_string(),
        );
        details.insert(
            "max_snapshot_age".into(),
            self.max_age.num_seconds().to_string(),
        );
        details.insert("last_snapshot_at".into(), self.last_seen.to_rfc3339());
        Some(Trip {
            breaker: BreakerKind::StaleFeed,
            at: now,
            value: Decimal::from(age.num_seconds()),
            limit: Decimal::from(self.max_age.num_seconds()),
            summary: format!(
                "no portfolio snapshot for {} s > {} s",
                age.num_seconds(),
                self.max_age.num_seconds()
            ),
            details,
        })
    }

    /// Lets the rule trip again after a reset.
    pub fn rearm(&mut self) {
        self.latched = false;
    }

    /// The reading for status pages.
    pub fn reading(&self, enabled: bool, now: DateTime<Utc>) -> BreakerReading {
        BreakerReading {
            breaker: BreakerKind::StaleFeed,
            enabled,
            ready: true,
            value: Some(Decimal::from((now - self.last_seen).num_seconds().max(0))),
            limit: Some(Decimal::from(self.max_age.num_seconds())),
            details: BTreeMap::new(),
        }
    }
}

impl Rule for StaleFeedRule {
    type Input = Valuation;
    type Durable = ();

    fn kind(&self) -> BreakerKind {
        BreakerKind::StaleFeed
    }

    /// Counts the snapshot by when the engine received it: a host's clock cannot keep the
    /// feed looking fresh.
    fn evaluate(&mut self, v: &Valuation) -> Result<Verdict, InputError> {
        Ok(if self.on_snapshot(v.received_at) {
            Verdict::Cleared
        } else {
            Verdict::Quiet
        })
    }

    fn on_tick(&mut self, now: DateTime<Utc>) -> Verdict {
        Verdict::from(StaleFeedRule::on_tick(self, now))
    }

    fn rearm(&mut self, _rebase: bool, now: DateTime<Utc>) -> Option<Trip> {
        StaleFeedRule::rearm(self);
        StaleFeedRule::on_tick(self, now)
    }

    fn reading(&self, now: DateTime<Utc>) -> BreakerReading {
        StaleFeedRule::reading(self, true, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveTime;

    fn market() -> MarketSession {
        MarketSession::new(
            chrono_tz::America::New_York,
            NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
            [],
        )
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn test_on_tick_when_silent_past_max_age_in_session_then_trips_once() {
        let mut r =
            StaleFeedRule::new(Duration::seconds(60), market(), utc("2026-03-09T14:00:00Z"));
        assert!(
            r.on_tick(utc("2026-03-09T14:01:00Z")).is_none(),
            "exactly 60 s is not stale"
        );
        let trip = r
            .on_tick(utc("2026-03-09T14:01:01Z"))
            .expect("61 s is stale");
        assert_eq!(trip.value, Decimal::from(61));
        assert!(r.on_tick(utc("2026-03-09T14:05:00Z")).is_none());
        assert!(
            r.on_snapshot(utc("2026-03-09T14:05:00Z")),
            "a snapshot clears it"
        );
    }

    #[test]
    fn test_on_tick_when_outside_session_then_never_trips() {
        let mut r =
            StaleFeedRule::new(Duration::seconds(60), market(), utc("2026-03-07T14:00:00Z"));
        assert!(r.on_tick(utc("2026-03-07T20:00:00Z")).is_none()); // Saturday
        assert!(r.on_tick(utc("2026-03-09T13:00:00Z")).is_none()); // Monday before the open
    }

    #[test]
    fn test_on_tick_when_silent_since_before_open_then_counts_from_open() {
        let mut r =
            StaleFeedRule::new(Duration::seconds(60), market(), utc("2026-03-09T10:00:00Z"));
        assert!(r.on_tick(utc("2026-03-09T13:30:30Z")).is_none());
        assert!(r.on_tick(utc("2026-03-09T13:31:01Z")).is_some());
    }
}
