//! When a market's trading session opens, in its own time zone.
//!
//! A session runs from the local open time to the end of that local calendar day. Weekends and
//! configured holidays have none, and instants before the open belong to no session.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// A stretch of time `[from, until)` that belongs to one session, or to none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSpan {
    /// The session, if any.
    pub session: Option<NaiveDate>,
    /// Start, inclusive.
    pub from: DateTime<Utc>,
    /// End, exclusive.
    pub until: DateTime<Utc>,
}

impl SessionSpan {
    /// Whether `at` falls inside.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.until
    }
}

/// A market's session calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketSession {
    timezone: Tz,
    open: NaiveTime,
    holidays: BTreeSet<NaiveDate>,
    weekends: bool,
    close: Option<NaiveTime>,
}

impl MarketSession {
    /// A calendar opening at `open` local time in `timezone`, closed on `holidays`.
    pub fn new(
        timezone: Tz,
        open: NaiveTime,
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Self {
        Self {
            timezone,
            open,
            holidays: holidays.into_iter().collect(),
            weekends: false,
            close: None,
        }
    }

    /// A calendar whose sessions end at `close` local time (without one, a session runs to
    /// the end of its local day).
    pub fn closing_at(mut self, close: NaiveTime) -> Self {
        self.close = Some(close);
        self
    }

    /// A calendar whose weekends have sessions too (crypto, demos).
    pub fn trading_every_day(mut self) -> Self {
        self.weekends = true;
        self
    }

    /// The market's time zone.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// Whether `date` has a session.
    pub fn is_trading_day(&self, date: NaiveDate) -> bool {
        (self.weekends || !matches!(date.weekday(), Weekday::Sat | Weekday::Sun))
            && !self.holidays.contains(&date)
    }

    /// The instant the session of `date` opens. On a daylight-saving gap the first valid
    /// instant after the local open time is taken.
    pub fn open_instant(&self, date: NaiveDate) -> DateTime<Utc> {
        self.local_instant(date, self.open)
    }

    /// The instant the session of `date` ends: its close, or the next local midnight.
    pub fn close_instant(&self, date: NaiveDate) -> DateTime<Utc> {
        match self.close {
            Some(close) if close > self.open => self.local_instant(date, close),
            _ => self.local_midnight(date.succ_opt().expect("date in range")),
        }
    }

    fn local_instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = date.and_time(time);
        match self.timezone.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            chrono::LocalResult::None => self.first_after_gap(local),
        }
    }

    /// The instant for a local time the zone skipped: the same wall time an hour later for
    /// the usual spring-forward gap (02:30 → 03:30), else the first quarter hour that exists,
    /// since a zone may skip a whole day (Samoa, 2011-12-30).
    fn first_after_gap(&self, local: chrono::NaiveDateTime) -> DateTime<Utc> {
        std::iter::once(local + chrono::Duration::hours(1))
            .chain((1..=48 * 4).map(|quarter| local + chrono::Duration::minutes(15 * quarter)))
            .find_map(|later| self.timezone.from_local_datetime(&later).earliest())
            .map_or_else(
                // No zone skips two days; read the wall time as UTC rather than fail.
                || Utc.from_utc_datetime(&local),
                |t| t.with_timezone(&Utc),
            )
    }

    /// The session `at` belongs to: its local date, if the market is open then.
    pub fn session_of(&self, at: DateTime<Utc>) -> Option<NaiveDate> {
        let date = at.with_timezone(&self.timezone).date_naive();
        (self.is_trading_day(date)
            && at >= self.open_instant(date)
            && at < self.close_instant(date))
        .then_some(date)
    }

    /// The stretch of time around `at` over which [`Self::session_of`] gives the same answer.
    pub fn session_span(&self, at: DateTime<Utc>) -> SessionSpan {
        let date = at.with_timezone(&self.timezone).date_naive();
        let day_start = self.local_midnight(date);
        let day_end = self.local_midnight(date.succ_opt().expect("date in range"));
        if !self.is_trading_day(date) {
            return SessionSpan {
                session: None,
                from: day_start,
                until: day_end,
            };
        }
        let open = self.open_instant(date);
        let close = self.close_instant(date);
        if at < open {
            SessionSpan {
                session: None,
                from: day_start,
                until: open,
            }
        } else if at < close {
            SessionSpan {
                session: Some(date),
                from: open,
                until: close,
            }
        } else {
            SessionSpan {
                session: None,
                from: close,
                until: day_end,
            }
        }
    }

    fn local_midnight(&self, date: NaiveDate) -> DateTime<Utc> {
        let local = date.and_time(NaiveTime::MIN);
        match self.timezone.from_local_datetime(&local).earliest() {
            Some(t) => t.with_timezone(&Utc),
            // A zone whose clocks skip midnight: the day starts when time exists again.
            None => self.first_after_gap(local),
        }
    }

    /// The next session open strictly after `at`.
    pub fn next_open_after(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let mut date = at.with_timezone(&self.timezone).date_naive();
        loop {
            if self.is_trading_day(date) {
                let open = self.open_instant(date);
                if open > at {
                    return open;
                }
            }
            date = date.succ_opt().expect("date in range");
        }
    }
}

#[cfg(test)]
mod samoa {
    use super::*;

    /// Samoa skipped 2011-12-30 entirely (UTC−10 to UTC+14): no session there may panic.
    #[test]
    fn test_session_when_zone_skips_a_whole_day_then_no_panic() {
        let m = MarketSession::new(
            chrono_tz::Pacific::Apia,
            NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
            [],
        )
        .closing_at(NaiveTime::from_hms_opt(16, 0, 0).unwrap())
        .trading_every_day();
        let at: DateTime<Utc> = "2011-12-29T22:00:00Z".parse().unwrap();
        let _ = m.session_span(at);
        let _ = m.session_of(at);
        let skipped = NaiveDate::from_ymd_opt(2011, 12, 30).unwrap();
        let open = m.open_instant(skipped);
        assert!(open > at - chrono::Duration::days(2));
        let _ = m.close_instant(skipped);
        let _ = m.next_open_after(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nyse() -> MarketSession {
        MarketSession::new(
            chrono_tz::America::New_York,
            NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
            [NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()],
        )
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn test_open_instant_when_winter_then_1430z() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap(); // Friday before the change
        assert_eq!(nyse().open_instant(d), utc("2026-03-06T14:30:00Z"));
    }

    #[test]
    fn test_open_instant_when_summer_then_1330z() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(); // Monday after 2026-03-08
        assert_eq!(nyse().open_instant(d), utc("2026-03-09T13:30:00Z"));
    }

    #[test]
    fn test_session_of_when_before_open_then_none() {
        assert_eq!(nyse().session_of(utc("2026-03-09T13:29:59Z")), None);
        assert_eq!(
            nyse().session_of(utc("2026-03-09T13:30:00Z")),
            NaiveDate::from_ymd_opt(2026, 3, 9)
        );
    }

    #[test]
    fn test_session_of_when_close_set_then_evening_has_no_session() {
        let m = nyse().closing_at(NaiveTime::from_hms_opt(16, 0, 0).unwrap());
        assert!(m.session_of(utc("2026-03-09T19:59:59Z")).is_some());
        assert_eq!(m.session_of(utc("2026-03-09T20:00:00Z")), None);
        let span = m.session_span(utc("2026-03-09T21:00:00Z"));
        assert_eq!(
            (span.session, span.from),
            (None, utc("2026-03-09T20:00:00Z"))
        );
    }

    #[test]
    fn test_session_of_when_weekend_or_holiday_then_none() {
        assert_eq!(nyse().session_of(utc("2026-03-07T15:00:00Z")), None); // Saturday
        assert_eq!(nyse().session_of(utc("2026-12-25T16:00:00Z")), None); // holiday
    }

    #[test]
    fn test_next_open_after_when_friday_evening_then_monday() {
        assert_eq!(
            nyse().next_open_after(utc("2026-03-06T21:00:00Z")),
            utc("2026-03-09T13:30:00Z")
        );
    }

    proptest::proptest! {
        /// The cached span agrees with the direct answer at every instant inside it.
        #[test]
        fn prop_session_span_agrees_with_session_of(secs in 0i64..(86_400 * 400), probe in 0i64..86_400, closes in proptest::bool::ANY) {
            let m = if closes { nyse().closing_at(NaiveTime::from_hms_opt(16, 0, 0).unwrap()) } else { nyse() };
            let at = utc("2026-01-01T00:00:00Z") + chrono::Duration::seconds(secs);
            let span = m.session_span(at);
            proptest::prop_assert!(span.contains(at));
            proptest::prop_assert_eq!(span.session, m.session_of(at));
            let inside = span.from + chrono::Duration::seconds(probe % ((span.until - span.from).num_seconds().max(1)));
            proptest::prop_assert_eq!(span.session, m.session_of(inside));
            proptest::prop_assert_eq!(m.session_of(span.until) == span.session && span.session.is_some(), false);
        }
    }

    #[test]
    fn test_open_instant_when_open_in_dst_gap_then_next_valid_instant() {
        let m = MarketSession::new(
            chrono_tz::America::New_York,
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            [],
        );
        let d = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(m.open_instant(d), utc("2026-03-08T07:30:00Z"));
    }
}
