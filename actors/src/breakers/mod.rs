//! The breakers: one file each (its rule, its settings, its tests) and one line in the
//! registry at the bottom of this file.
//!
//! In: what a breaker judges (valuations from the ledger feed, error reports, the passing of
//! time; orders, for the windows the decision core counts). Out: a [`Trip`](crate::breaker::Trip)
//! that closes the gate, or a clear for an auto-reset breaker.
//!
//! Every breaker implements [`BreakerSpec`] (its kind, its settings, its reset policy) and one
//! of two shells:
//!
//! - [`ActorBreaker`]: a [`Rule`] run in the generic breaker actor
//!   ([`crate::actors::Breaker`]); its input type says what feeds it.
//! - [`WindowBreaker`]: a window over orders that the decision core counts on the caller's
//!   thread (no actor hop on the order path), run by the window shell
//!   ([`crate::actors::OrderGate::window`]) for time, re-arm and readings.
//!
//! The registry names each breaker once; from it come [`BreakerKind`], its names, the
//! strategy's [`BreakerSettings`], which actors the engine starts and which wait for their
//! first input. Adding a breaker: `docs/architecture/adding-a-breaker.md`.

pub mod count_window;
pub mod daily_loss;
pub mod drawdown;
pub mod error_rate;
#[cfg(test)]
mod extreme_values;
pub mod host_silent;
pub mod order_rate;
pub mod pre_trade_denials;
pub mod stale_feed;

pub use daily_loss::{DailyLossLimit, DailyLossRule, DailyLossState};
pub use drawdown::{DrawdownRule, DrawdownState};
pub use error_rate::{ErrorArrival, ErrorRateRule};
pub use host_silent::HostSilentRule;
pub use order_rate::{OrderRateRule, OrderVerdict};
pub use pre_trade_denials::PreTradeDenialRule;
pub use stale_feed::StaleFeedRule;

use crate::breaker::{ResetPolicy, Rule};
use crate::rules::{HostBeacon, MarketSession};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// What every breaker declares.
pub trait BreakerSpec {
    /// Its validated settings; `None` in [`BreakerSettings`] switches it off.
    type Settings: Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static;
    /// Its configuration section as written, `[strategy.circuit_breakers.<name>]`, with
    /// `deny_unknown_fields`.
    type Section: serde::de::DeserializeOwned + Default + Clone + std::fmt::Debug;
    /// Which breaker it is.
    const KIND: BreakerKind;
    /// How it returns to service under `settings`.
    fn reset(settings: &Self::Settings) -> ResetPolicy;
    /// Whether the status lists it while switched off. Breakers added after v1.0 are listed
    /// only when configured (API.md), so existing readers see no new entries.
    const LISTED_WHEN_OFF: bool = false;
    /// Validates its section (`None`: absent from the file) into its settings, `None` when
    /// switched off or on a problem. `at("field")` names a field in messages (`at("")`: the
    /// section itself); every problem found is pushed to `problems`.
    fn settle(
        section: Option<&Self::Section>,
        profile: crate::config::Profile,
        at: &dyn Fn(&str) -> String,
        problems: &mut Vec<String>,
    ) -> Option<Self::Settings>;
}

/// What a rule may need from its strategy when it is built.
#[derive(Clone)]
pub struct RuleContext {
    /// The strategy's market calendar.
    pub market: MarketSession,
    /// When the engine started: silence is counted from here until the first input.
    pub started: DateTime<Utc>,
    /// Stamped by every host call; the dead-man's switch reads it.
    pub beacon: Arc<HostBeacon>,
}

/// A breaker whose rule runs in the generic breaker actor.
pub trait ActorBreaker: BreakerSpec + Rule + Sized {
    /// Whether the gate stays closed until the rule has its first input (the portfolio
    /// breakers cannot judge before a first valuation: fail closed until then).
    const NEEDS_FIRST_INPUT: bool = false;
    /// A fresh rule: at start and again after each restart of its actor.
    fn build(settings: &Self::Settings, context: &RuleContext) -> Self;
}

/// A breaker over orders that the decision core counts in the caller's thread.
pub trait WindowBreaker: BreakerSpec {
    /// The most events allowed inside the window, and the window.
    fn limit(settings: &Self::Settings) -> (usize, Duration);
}

/// What starting a breaker takes; implemented by the engine's wiring, one method per shell.
pub trait Shells {
    /// Starts the actor of an enabled actor-run breaker.
    fn actor<B: ActorBreaker>(&mut self, settings: &B::Settings);
    /// Starts the window shell of an enabled window breaker.
    fn window<B: WindowBreaker>(&mut self, settings: &B::Settings);
}

/// The registry: one line per breaker. The field name is the breaker's name in the API,
/// metrics, alerts and its configuration section (`[strategy.circuit_breakers.<name>]`).
macro_rules! registry {
    ($( $(#[$doc:meta])* $kind:ident : $field:ident => $ty:ty, $shell:ident; )*) => {
        /// The breakers an engine runs: the registry's, then the bus and the manual stop.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum BreakerKind {
            $( $(#[$doc])* $kind, )*
            /// The firm's bus, lost for longer than the host's lease (`on_bus_loss`): enforced
            /// by the gate, never tripped.
            Bus,
            /// An operator's emergency stop. Kept last so the automatic breakers report first.
            Manual,
        }

        impl BreakerKind {
            /// Every kind, in reporting order: the order of declaration, so that
            /// `ALL[k.slot()] == k`.
            pub const ALL: [BreakerKind; [$( registry!(@unit $kind), )*].len() + 2] =
                [$( BreakerKind::$kind, )* BreakerKind::Bus, BreakerKind::Manual];

            /// The name used by the API, metrics, alerts and the configuration.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( BreakerKind::$kind => stringify!($field), )*
                    BreakerKind::Bus => "bus",
                    BreakerKind::Manual => "manual",
                }
            }

            /// Whether the status lists this breaker while it is switched off.
            pub fn listed_when_off(self) -> bool {
                match self {
                    $( BreakerKind::$kind => <$ty as BreakerSpec>::LISTED_WHEN_OFF, )*
                    BreakerKind::Bus | BreakerKind::Manual => true,
                }
            }
        }

        /// The breakers of one strategy, each `None` when switched off.
        #[derive(Debug, Clone, PartialEq)]
        pub struct BreakerSettings {
            $( $(#[$doc])* pub $field: Option<<$ty as BreakerSpec>::Settings>, )*
        }

        impl BreakerSettings {
            /// Every breaker switched off.
            pub fn none() -> Self {
                Self { $( $field: None, )* }
            }

            /// The kinds switched on, in reporting order.
            pub fn enabled(&self) -> Vec<BreakerKind> {
                let mut out = Vec::new();
                $( if self.$field.is_some() { out.push(BreakerKind::$kind); } )*
                out
            }

            /// The kinds switched on whose gate waits for their first input.
            pub fn awaiting_first_input(&self) -> Vec<BreakerKind> {
                let mut out = Vec::new();
                $( registry!(@first $shell, $ty, self.$field, BreakerKind::$kind, out); )*
                out
            }

            /// How the breaker of `kind` resets, when it is switched on.
            pub fn reset_of(&self, kind: BreakerKind) -> Option<ResetPolicy> {
                match kind {
                    $( BreakerKind::$kind => self.$field.as_ref().map(<$ty as BreakerSpec>::reset), )*
                    BreakerKind::Bus | BreakerKind::Manual => None,
                }
            }

            /// Starts every breaker switched on, each in its shell.
            pub fn start(&self, shells: &mut impl Shells) {
                $( if let Some(s) = &self.$field { shells.$shell::<$ty>(s); } )*
            }
        }

        /// `[strategy.circuit_breakers]` as written: one section per breaker.
        #[derive(Debug, Clone, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct BreakersSection {
            $( $(#[$doc])* pub $field: Option<<$ty as BreakerSpec>::Section>, )*
        }

        impl BreakersSection {
            /// Validates every section in registry order; `prefix` names the table in
            /// messages (`strategy[0].circuit_breakers`).
            pub fn settle(
                &self,
                profile: crate::config::Profile,
                prefix: &str,
                problems: &mut Vec<String>,
            ) -> BreakerSettings {
                BreakerSettings { $(
                    $field: <$ty as BreakerSpec>::settle(
                        self.$field.as_ref(),
                        profile,
                        &|f| field_path(prefix, stringify!($field), f),
                        problems,
                    ),
                )* }
            }
        }

        #[cfg(test)]
        const REGISTERED: &[(BreakerKind, &str)] = &[$( (BreakerKind::$kind, stringify!($field)), )*];
    };
    (@first actor, $ty:ty, $value:expr, $kind:expr, $out:ident) => {
        if $value.is_some() && <$ty as ActorBreaker>::NEEDS_FIRST_INPUT {
            $out.push($kind);
        }
    };
    (@first window, $ty:ty, $value:expr, $kind:expr, $out:ident) => {};
    (@unit $kind:ident) => { () };
}

/// `prefix.section.field`, or `prefix.section` for the section itself (`field` empty).
fn field_path(prefix: &str, section: &str, field: &str) -> String {
    if field.is_empty() {
        format!("{prefix}.{section}")
    } else {
        format!("{prefix}.{section}.{field}")
    }
}

registry! {
    /// Fall from the high-water mark.
    Drawdown: drawdown => drawdown::DrawdownRule, actor;
    /// Loss since the session's open.
    DailyLoss: daily_loss => daily_loss::DailyLossRule, actor;
    /// Orders inside a sliding window.
    OrderRate: order_rate => order_rate::OrderRateRule, window;
    /// Errors inside a sliding window.
    ErrorRate: error_rate => error_rate::ErrorRateRule, actor;
    /// No portfolio snapshot for too long during a session.
    StaleFeed: stale_feed => stale_feed::StaleFeedRule, actor;
    /// Too many orders denied by the pre-trade checks inside a sliding window.
    PreTrade: pre_trade => pre_trade_denials::PreTradeDenialRule, window;
    /// The dead-man's switch: no host event (snapshot, order, fill, error, heartbeat...) for
    /// too long during a session.
    HostSilent: host_silent => host_silent::HostSilentRule, actor;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_registry_when_listed_then_kinds_in_order_before_bus_and_manual() {
        let listed: Vec<BreakerKind> = REGISTERED.iter().map(|(k, _)| *k).collect();
        assert_eq!(&BreakerKind::ALL[..listed.len()], &listed[..]);
        assert_eq!(
            &BreakerKind::ALL[listed.len()..],
            &[BreakerKind::Bus, BreakerKind::Manual]
        );
        for (kind, name) in REGISTERED {
            assert_eq!(kind.as_str(), *name);
        }
    }

    #[test]
    fn test_settings_when_none_then_nothing_enabled_or_awaited() {
        let s = BreakerSettings::none();
        assert!(s.enabled().is_empty());
        assert!(s.awaiting_first_input().is_empty());
        for kind in BreakerKind::ALL {
            assert_eq!(s.reset_of(kind), None, "{kind}");
        }
    }

    #[test]
    fn test_sections_when_absent_then_profile_defaults_and_opt_in_breakers_off() {
        let mut problems = Vec::new();
        let s = BreakersSection::default().settle(
            crate::config::Profile::Moderate,
            "strategy[0].circuit_breakers",
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(s, crate::settings::StrategySettings::moderate("x").breakers);
        assert!(s.pre_trade.is_none() && s.host_silent.is_none());
    }

    #[test]
    fn test_sections_when_field_bad_then_problem_names_prefix_section_and_field() {
        let section: BreakersSection = toml::from_str(
            "[daily_loss]\nlimit = \"-0.05\"\nlimit_amount = -5000\n[host_silent]\ntimeout = 0\n",
        )
        .unwrap();
        let mut problems = Vec::new();
        let s = section.settle(crate::config::Profile::Moderate, "p", &mut problems);
        assert_eq!(
            problems,
            [
                "p.daily_loss: give either limit (a fraction) or limit_amount, not both",
                "p.host_silent.timeout: 0 s must be between 1 second and 7 days",
            ]
        );
        assert!(s.daily_loss.is_none());
    }

    #[test]
    fn test_sections_when_unknown_key_then_refused() {
        let e = toml::from_str::<BreakersSection>("[drawdown]\nthresold = -0.1\n").unwrap_err();
        assert!(e.message().contains("unknown field `thresold`"), "{e}");
        let e = toml::from_str::<BreakersSection>("[no_such_breaker]\n").unwrap_err();
        assert!(
            e.message().contains("unknown field `no_such_breaker`"),
            "{e}"
        );
    }
}
