//! Silence: during a session, nothing heard for longer than a limit trips. One rule serves every
//! breaker of that shape; what differs is the breaker kind, what it waits for (the words its
//! trips use) and the input that counts as hearing it:
//!
//! - the stale feed ([`crate::breakers::StaleFeedRule`]) waits for portfolio snapshots, because every
//!   portfolio breaker is blind without one;
//! - the dead-man's switch ([`crate::breakers::HostSilentRule`]) waits for any host event, because a host
//!   that has gone quiet may have died with orders working.
//!
//! The clock starts when the rule is made (start-up), so a source that never speaks is caught
//! too. Only time inside a session counts: silence before a session's open does not count
//! against it. Sessions that touch (an always-open market, or a calendar whose sessions run
//! midnight to midnight every day) form one unbroken stretch, and silence counts across their
//! boundaries: a host that went quiet a few seconds before an always-open market's daily open is
//! not given a fresh allowance at the open.

use super::beacon::HostBeacon;
use super::market_session::MarketSession;
use crate::breaker::{BreakerKind, BreakerReading, Rule, Trip, Verdict};
use crate::domain::InputError;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

/// An input that proves the source is alive, and when the engine heard it.
pub trait Heard: Send + Sync + 'static {
    /// When the engine heard it, by the engine's clock (never a host's own timestamp, which
    /// could keep a dead source looking alive).
    fn heard_at(&self) -> DateTime<Utc>;
}

/// What a silence rule waits for, in the words of its trips: the summary reads
/// `"no {noun} for 75 s > 60 s"` and the trip's details carry the three keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Awaited {
    /// What is missing, for people: `"portfolio snapshot"`.
    pub noun: &'static str,
    /// Detail key for the whole seconds of silence that counted (inside the session).
    pub silence_key: &'static str,
    /// Detail key for the limit, in whole seconds.
    pub limit_key: &'static str,
    /// Detail key for the last time heard (RFC 3339), the start-up time when nothing was.
    pub last_key: &'static str,
}

impl Awaited {
    /// The stale feed's words.
    pub const PORTFOLIO_SNAPSHOT: Awaited = Awaited {
        noun: "portfolio snapshot",
        silence_key: "seconds_since_snapshot",
        limit_key: "max_snapshot_age",
        last_key: "last_snapshot_at",
    };

    /// The dead-man's switch's words.
    pub const HOST_EVENT: Awaited = Awaited {
        noun: "host event",
        silence_key: "seconds_since_host_event",
        limit_key: "timeout",
        last_key: "last_host_event_at",
    };
}

/// The silence rule, judging inputs of type `E`. Use it through [`crate::breakers::StaleFeedRule`] or
/// [`crate::breakers::HostSilentRule`], whose constructors fill in the kind and the words.
///
/// It trips once per silence, then stays latched until [`Self::rearm`] or until it hears
/// something new, which answers [`Verdict::Cleared`]: an auto-reset breaker clears then, a
/// manual-reset one ignores it and waits for the operator.
#[derive(Debug)]
pub struct SilenceRule<E: Heard> {
    kind: BreakerKind,
    awaited: Awaited,
    limit: Duration,
    market: MarketSession,
    last_heard: DateTime<Utc>,
    latched: bool,
    beacon: Option<Arc<HostBeacon>>,
    input: PhantomData<fn(&E)>,
}

impl<E: Heard> Clone for SilenceRule<E> {
    fn clone(&self) -> Self {
        Self {
            kind: self.kind,
            awaited: self.awaited,
            limit: self.limit,
            market: self.market.clone(),
            last_heard: self.last_heard,
            latched: self.latched,
            beacon: self.beacon.clone(),
            input: PhantomData,
        }
    }
}

impl<E: Heard> SilenceRule<E> {
    /// A rule for breaker `kind` that trips when nothing was heard for more than `limit` of
    /// session time on `market`, counting from `started`. With a `beacon`, every
    /// [`Self::on_tick`] first takes the beacon's latest stamp as heard.
    pub fn watching(
        kind: BreakerKind,
        awaited: Awaited,
        limit: Duration,
        market: MarketSession,
        started: DateTime<Utc>,
        beacon: Option<Arc<HostBeacon>>,
    ) -> Self {
        Self {
            kind,
            awaited,
            limit,
            market,
            last_heard: started,
            latched: false,
            beacon,
            input: PhantomData,
        }
    }

    /// The longest silence allowed.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// The last time something was heard (the start-up time when nothing was), including what
    /// the beacon holds but [`Self::on_tick`] has not taken yet.
    pub fn last_heard(&self) -> DateTime<Utc> {
        match self.beacon.as_ref().and_then(|b| b.last()) {
            Some(stamped) => self.last_heard.max(stamped),
            None => self.last_heard,
        }
    }

    /// Something was heard at `at`. Returns whether that lifted a latched trip. A time not
    /// after the last one heard is old news: it changes nothing.
    pub fn on_heard(&mut self, at: DateTime<Utc>) -> bool {
        if at <= self.last_heard {
            return false;
        }
        self.last_heard = at;
        std::mem::take(&mut self.latched)
    }

    /// Time passed: takes the beacon's latest stamp as heard, then judges the silence at `now`.
    /// Answers the trip, or [`Verdict::Cleared`] when the beacon lifted a latched trip.
    pub fn on_tick(&mut self, now: DateTime<Utc>) -> Verdict {
        let cleared = match self.beacon.as_ref().and_then(|b| b.last()) {
            Some(stamped) => self.on_heard(stamped),
            None => false,
        };
        match self.judge(now) {
            Some(trip) => Verdict::Trip(trip),
            None if cleared => Verdict::Cleared,
            None => Verdict::Quiet,
        }
    }

    /// Trips when, at `now`, a session is running and the silence inside it (and inside the
    /// sessions touching it) exceeds the limit. Exactly the limit is not silent enough.
    fn judge(&mut self, now: DateTime<Utc>) -> Option<Trip> {
        if self.latched {
            return None;
        }
        let counted_from = self.counting_from(now)?;
        let silence = now - counted_from;
        if silence <= self.limit {
            return None;
        }
        self.latched = true;
        Some(self.trip(now, silence, counted_from))
    }

    /// Where the silence that counts at `now` starts: the later of the last time heard and the
    /// open of the unbroken stretch of sessions `now` is in. `None` outside a session.
    fn counting_from(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let span = self.market.session_span(now);
        span.session?;
        let mut stretch_start = span.from;
        // Walk back over sessions that touch, no further than the last time heard: the loop
        // ends within a few steps unless the rule has been silent for days.
        while stretch_start > self.last_heard {
            let before = self
                .market
                .session_span(stretch_start - Duration::nanoseconds(1));
            if before.session.is_none() || before.until != stretch_start {
                break;
            }
            stretch_start = before.from;
        }
        Some(self.last_heard.max(stretch_start))
    }

    fn trip(&self, now: DateTime<Utc>, silence: Duration, counted_from: DateTime<Utc>) -> Trip {
        let words = self.awaited;
        let seconds = silence.num_seconds();
        let limit = self.limit.num_seconds();
        let mut details = BTreeMap::new();
        details.insert(words.silence_key.into(), seconds.to_string());
        details.insert(words.limit_key.into(), limit.to_string());
        details.insert(words.last_key.into(), self.last_heard.to_rfc3339());
        details.insert("counted_from".into(), counted_from.to_rfc3339());
        Trip {
            breaker: self.kind,
            at: now,
            value: Decimal::from(seconds),
            limit: Decimal::from(limit),
            summary: format!("no {} for {seconds} s > {limit} s", words.noun),
            details,
        }
    }

    /// Lets the rule trip again after a reset, and judges at once: a silence that still holds
    /// at `now` trips again.
    pub fn rearm(&mut self, now: DateTime<Utc>) -> Option<Trip> {
        self.latched = false;
        match self.on_tick(now) {
            Verdict::Trip(trip) => Some(trip),
            Verdict::Quiet | Verdict::Cleared => None,
        }
    }

    /// The reading for status pages: the value is the whole seconds since the last time heard
    /// (session or not), the limit the longest silence allowed.
    pub fn reading(&self, enabled: bool, now: DateTime<Utc>) -> BreakerReading {
        let last = self.last_heard();
        let mut details = BTreeMap::new();
        details.insert(self.awaited.last_key.into(), last.to_rfc3339());
        BreakerReading {
            breaker: self.kind,
            enabled,
            ready: true,
            value: Some(Decimal::from((now - last).num_seconds().max(0))),
            limit: Some(Decimal::from(self.limit.num_seconds())),
            details,
        }
    }
}

impl<E: Heard> Rule for SilenceRule<E> {
    type Input = E;
    type Durable = ();

    fn kind(&self) -> BreakerKind {
        self.kind
    }

    fn evaluate(&mut self, input: &E) -> Result<Verdict, InputError> {
        Ok(if self.on_heard(input.heard_at()) {
            Verdict::Cleared
        } else {
            Verdict::Quiet
        })
    }

    fn on_tick(&mut self, now: DateTime<Utc>) -> Verdict {
        SilenceRule::on_tick(self, now)
    }

    fn rearm(&mut self, _rebase: bool, now: DateTime<Utc>) -> Option<Trip> {
        SilenceRule::rearm(self, now)
    }

    fn reading(&self, now: DateTime<Utc>) -> BreakerReading {
        SilenceRule::reading(self, true, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breakers::HostSilentRule;
    use chrono::{NaiveDate, NaiveTime};
    use proptest::prelude::*;

    fn calendar(kind: u8) -> MarketSession {
        let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let holiday = [NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()];
        match kind {
            0 => MarketSession::new(chrono_tz::America::New_York, hm(9, 30), holiday)
                .closing_at(hm(16, 0)),
            1 => MarketSession::new(chrono_tz::America::New_York, hm(9, 30), holiday).always_open(),
            2 => MarketSession::new(chrono_tz::UTC, NaiveTime::MIN, holiday).always_open(),
            _ => MarketSession::new(chrono_tz::UTC, NaiveTime::MIN, holiday).trading_every_day(),
        }
    }

    /// The reference, one second at a time: the silence that counts grows by a second when
    /// the whole second lay inside sessions, and a gap between sessions wipes it.
    fn counted_silence_step(m: &MarketSession, run: i64, t: DateTime<Utc>) -> i64 {
        let in_session = |at| m.session_of(at).is_some();
        if in_session(t) && in_session(t - Duration::milliseconds(500)) {
            run + 1
        } else {
            0
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Saturday to Tuesday around the New York spring change (2026-03-08) and a Monday
        /// holiday, ticking every
        /// second: the rule trips exactly when the reference's counted silence first exceeds
        /// the limit, and never otherwise.
        #[test]
        fn prop_host_silent_when_ticked_every_second_then_trips_exactly_when_reference_does(
            kind in 0u8..4,
            start in 0i64..(86_400 * 4),
            gaps in proptest::collection::vec(1i64..400, 0..6),
            limit in 1i64..300,
        ) {
            let m = calendar(kind);
            let started = "2026-03-07T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::seconds(start);
            let beacon = Arc::new(HostBeacon::new());
            let mut r = HostSilentRule::new(Duration::seconds(limit), m.clone(), started, Arc::clone(&beacon));
            let mut events = Vec::new();
            let mut at = started;
            for g in gaps {
                at += Duration::seconds(g * 7);
                events.push(at);
            }
            let end = at + Duration::seconds(limit + 2_000);
            let mut silent = 0;
            let mut latched = false;
            let mut now = started;
            while now < end {
                now += Duration::seconds(1);
                if events.first() == Some(&now) {
                    events.remove(0);
                    beacon.stamp(now);
                    silent = 0;
                    latched = false;
                } else {
                    silent = counted_silence_step(&m, silent, now);
                }
                let verdict = Rule::on_tick(&mut r, now);
                let should_trip = !latched && silent > limit;
                prop_assert_eq!(matches!(verdict, Verdict::Trip(_)), should_trip, "at {} silence {}", now, silent);
                if let Verdict::Trip(trip) = verdict {
                    prop_assert_eq!(trip.value, Decimal::from(silent));
                    latched = true;
                }
            }
        }
    }
}
