//! Configuration files: any text through `Config::parse`, with fixed in-memory environments so
//! a run is reproducible. A refusal must name at least one problem; an accepted file must hold
//! only what validation promises the engine (ratios in range, windows of 1 s to 7 days, ...).

#![no_main]

use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;
use rustybt_actors::breakers::DailyLossLimit;
use rustybt_actors::config::{Config, Env};
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

/// An environment with nothing set.
struct Empty;

impl Env for Empty {
    fn var(&self, _: &str) -> Option<String> {
        None
    }
}

/// Every variable the configuration reads, set, so the overrides run too.
fn full_env() -> &'static HashMap<String, String> {
    static ENV: OnceLock<HashMap<String, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        [
            ("SMTP_HOST", "smtp.example.com"),
            ("SMTP_PORT", "587"),
            ("SMTP_USERNAME", "alerts"),
            ("ALERT_EMAIL", "ops@example.com, ,risk@example.com"),
            ("TWILIO_ACCOUNT_SID", "AC0123"),
            ("TWILIO_FROM_NUMBER", "+15550000000"),
            ("ALERT_PHONE", "+15550000001,+15550000002"),
            (
                "ALERT_WEBHOOK_URL",
                "https://hooks.example.com/a,,https://hooks.example.com/b",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    })
}

fn in_open_interval(d: Decimal) -> bool {
    d > Decimal::NEGATIVE_ONE && d < Decimal::ZERO
}

/// What `Config::parse` promises about a configuration it accepts.
fn check(c: &Config, base: &Path) {
    assert!(c.bind.parse::<std::net::SocketAddr>().is_ok(), "{}", c.bind);
    assert!(c.data_dir.starts_with(base) || c.data_dir.is_absolute());
    assert!(!c.strategies.is_empty());
    let week = chrono::Duration::days(7);
    let second = chrono::Duration::seconds(1);
    let in_range = |d: chrono::Duration| d >= second && d <= week;
    let mut names = std::collections::HashSet::new();
    for s in &c.strategies {
        assert!(names.insert(s.name.as_str()), "{} twice", s.name);
        assert!(!s.name.is_empty() && s.name.len() <= 64, "{:?}", s.name);
        assert!(in_range(s.reset_confirmation_ttl));
        assert!(in_range(s.max_clock_skew));
        if let Some(d) = &s.breakers.drawdown {
            assert!(in_open_interval(d.threshold), "{}", d.threshold);
        }
        if let Some(l) = &s.breakers.daily_loss {
            match l.limit {
                DailyLossLimit::Fraction(f) => assert!(in_open_interval(f), "{f}"),
                DailyLossLimit::Amount(a) => assert!(a < Decimal::ZERO, "{a}"),
            }
        }
        if let Some(o) = &s.breakers.order_rate {
            assert!((1..=1_000_000).contains(&o.max));
            assert!(in_range(o.window));
        }
        if let Some(e) = &s.breakers.error_rate {
            assert!((1..=1_000_000).contains(&e.max));
            assert!(in_range(e.window));
        }
        if let Some(f) = &s.breakers.stale_feed {
            assert!(in_range(f.max_snapshot_age));
        }
        assert!(s.alerts.max_per_breaker_per_hour >= 1);
        assert!(c.strategy(&s.name).is_some());
    }
    for w in &c.alerts.webhook {
        assert!(w.url.is_some());
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let base = Path::new("/fuzz/config");
    let envs: [&dyn Env; 2] = [&Empty, full_env()];
    for env in envs {
        match Config::parse(text, base, env) {
            Ok(c) => check(&c, base),
            Err(e) => {
                assert!(!e.problems.is_empty());
                let _ = e.to_string();
            }
        }
    }
});
