//! One strategy's engine settings, already validated (the TOML layer is [`crate::config`]).

use crate::breaker::ResetPolicy;
use crate::breakers::DailyLossLimit;
use crate::pretrade::PreTradeLimits;
use crate::rules::MarketSession;
use chrono::{Duration, NaiveTime};
use rust_decimal::Decimal;

pub use crate::breakers::daily_loss::DailyLossSettings;
pub use crate::breakers::drawdown::DrawdownSettings;
pub use crate::breakers::error_rate::ErrorRateSettings;
pub use crate::breakers::host_silent::HostSilentSettings;
pub use crate::breakers::order_rate::OrderRateSettings;
pub use crate::breakers::pre_trade_denials::PreTradeBreakerSettings;
pub use crate::breakers::stale_feed::StaleFeedSettings;
pub use crate::breakers::BreakerSettings;

/// Alert dispatch settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSettings {
    /// Alerts allowed per breaker per hour; the rest are counted as suppressed.
    pub max_per_breaker_per_hour: usize,
    /// Alerts waiting or in flight at once; more are dropped and counted.
    pub queue_capacity: usize,
    /// Time allowed for one delivery attempt.
    pub attempt_timeout: std::time::Duration,
    /// Attempts per channel per alert.
    pub max_attempts: u32,
    /// Wait before the first retry; doubles on each.
    pub retry_backoff: std::time::Duration,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            max_per_breaker_per_hour: 10,
            queue_capacity: 1024,
            attempt_timeout: std::time::Duration::from_secs(10),
            max_attempts: 3,
            retry_backoff: std::time::Duration::from_millis(500),
        }
    }
}

/// What a strategy does after an unclean stop (`[strategy.reconciliation] after_crash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterCrash {
    /// Unreconciled until the first venue report: every order that does not reduce a position
    /// is denied (`unreconciled`), since the book may miss orders accepted in the crash's last
    /// moments and would undercount exposure.
    #[default]
    Reconcile,
    /// Trade on the checkpointed book at once.
    TrustCheckpoint,
}

impl AfterCrash {
    /// The configuration's name.
    pub fn as_str(self) -> &'static str {
        match self {
            AfterCrash::Reconcile => "reconcile",
            AfterCrash::TrustCheckpoint => "trust_checkpoint",
        }
    }
}

/// `[strategy.reconciliation]`: the engine's book against the venue's reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationSettings {
    /// |venue position − own position| allowed per asset.
    pub position_tolerance: Decimal,
    /// How long a difference may last (orders in flight, late fills).
    pub grace: Duration,
    /// What an unclean stop means for the next start.
    pub after_crash: AfterCrash,
}

impl Default for ReconciliationSettings {
    fn default() -> Self {
        Self {
            position_tolerance: Decimal::ZERO,
            grace: Duration::seconds(10),
            after_crash: AfterCrash::Reconcile,
        }
    }
}

/// Everything one strategy's engine needs. `None` switches a breaker off.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategySettings {
    /// The strategy's name (API paths, alerts, metrics).
    pub name: String,
    /// Let orders that shrink a position through while TRIPPED.
    pub reduce_only_when_tripped: bool,
    /// The market calendar (daily loss and stale feed).
    pub market: MarketSession,
    /// The breakers, each `None` when switched off.
    pub breakers: BreakerSettings,
    /// Pre-trade checks on every order (all absent: none).
    pub pre_trade: PreTradeLimits,
    /// How long a reset request waits for its confirmation.
    pub reset_confirmation_ttl: Duration,
    /// How far ahead of the engine's clock a host timestamp may be; beyond it the event is
    /// refused (one far-future snapshot would make every real one look out of order).
    pub max_clock_skew: Duration,
    /// How often time-driven checks run (stale feed, session open, auto clear, reset expiry);
    /// `None` runs them only on [`crate::engine::EngineHandle::tick`] (tests, replays).
    pub tick_interval: Option<std::time::Duration>,
    /// Alert dispatch.
    pub alerts: AlertSettings,
    /// The desk label: the scope of desk-wide halts; `None`: the strategy is on no desk.
    pub desk: Option<String>,
    /// `[strategy.reconciliation]`; absent: no venue comparison, and a crash is trusted.
    pub reconciliation: Option<ReconciliationSettings>,
}

impl StrategySettings {
    /// The moderate profile on a New York 09:30–16:00 market: the story's defaults.
    pub fn moderate(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            reduce_only_when_tripped: false,
            market: MarketSession::new(
                chrono_tz::America::New_York,
                NaiveTime::from_hms_opt(9, 30, 0).expect("valid time"),
                [],
            )
            .closing_at(NaiveTime::from_hms_opt(16, 0, 0).expect("valid time")),
            breakers: BreakerSettings {
                drawdown: Some(DrawdownSettings {
                    threshold: Decimal::new(-10, 2),
                    reset: ResetPolicy::Manual,
                }),
                daily_loss: Some(DailyLossSettings {
                    limit: DailyLossLimit::Fraction(Decimal::new(-5, 2)),
                    reset: ResetPolicy::Manual,
                }),
                order_rate: Some(OrderRateSettings {
                    max: 100,
                    window: Duration::seconds(60),
                    reset: ResetPolicy::Auto,
                }),
                error_rate: Some(ErrorRateSettings {
                    max: 10,
                    window: Duration::seconds(60),
                    reset: ResetPolicy::Manual,
                }),
                stale_feed: Some(StaleFeedSettings {
                    max_snapshot_age: Duration::seconds(60),
                    reset: ResetPolicy::Auto,
                }),
                pre_trade: None,
                host_silent: None,
            },
            pre_trade: PreTradeLimits::default(),
            reset_confirmation_ttl: Duration::seconds(300),
            max_clock_skew: Duration::seconds(10),
            tick_interval: Some(std::time::Duration::from_secs(1)),
            alerts: AlertSettings::default(),
            desk: None,
            reconciliation: None,
        }
    }
}
