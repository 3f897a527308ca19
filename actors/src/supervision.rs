//! Who is up: every actor of a strategy by name, its lifecycle events, and the health board
//! the order gate reads on every order. An actor marks itself not ready in the same instant it
//! fails, before anyone hears of it, so no order can slip through a restart.

use crate::breaker::BreakerKind;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// An actor of one strategy's engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum ActorName {
    /// Owns the state machine and the checkpoint.
    Supervisor,
    /// Takes portfolio snapshots and fans them out.
    LedgerFeed,
    /// Owns the order decision core.
    OrderGate,
    /// Delivers alerts.
    AlertDispatcher,
    /// One breaker's shell (the manual breaker included).
    Breaker(BreakerKind),
}

const FIXED: [ActorName; 4] = [
    ActorName::Supervisor,
    ActorName::LedgerFeed,
    ActorName::OrderGate,
    ActorName::AlertDispatcher,
];
const SLOTS: usize = FIXED.len() + BreakerKind::ALL.len();

impl ActorName {
    /// Every actor name, in reporting order.
    pub fn all() -> impl Iterator<Item = ActorName> {
        FIXED
            .into_iter()
            .chain(BreakerKind::ALL.into_iter().map(ActorName::Breaker))
    }

    fn slot(self) -> usize {
        match self {
            ActorName::Breaker(k) => FIXED.len() + k.slot(),
            fixed => FIXED.iter().position(|&f| f == fixed).unwrap_or(0),
        }
    }

    /// The name from its text (`order_gate`, `drawdown_breaker`...).
    pub fn parse(s: &str) -> Option<ActorName> {
        ActorName::all().find(|a| a.to_string() == s)
    }
}

impl std::fmt::Display for ActorName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActorName::Supervisor => f.write_str("supervisor"),
            ActorName::LedgerFeed => f.write_str("ledger_feed"),
            ActorName::OrderGate => f.write_str("order_gate"),
            ActorName::AlertDispatcher => f.write_str("alert_dispatcher"),
            ActorName::Breaker(k) => write!(f, "{k}_breaker"),
        }
    }
}

impl From<ActorName> for String {
    fn from(a: ActorName) -> String {
        a.to_string()
    }
}

impl TryFrom<String> for ActorName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        ActorName::parse(&s).ok_or_else(|| format!("no actor named {s}"))
    }
}

/// What happened to an actor, as the Supervisor hears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// It panicked inside a handler; it is being restarted.
    Panicked,
    /// It stopped and will not come back (its mailbox is closed).
    Stopped,
    /// It was restarted with its durable state reloaded; not ready yet.
    Restarted,
    /// It is up and has the input it needs again: the gate may open.
    Ready,
}

impl Lifecycle {
    /// The event from its text.
    pub fn parse(s: &str) -> Option<Lifecycle> {
        [
            Lifecycle::Panicked,
            Lifecycle::Stopped,
            Lifecycle::Restarted,
            Lifecycle::Ready,
        ]
        .into_iter()
        .find(|l| l.to_string() == s)
    }
}

impl std::fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Lifecycle::Panicked => "panicked",
            Lifecycle::Stopped => "stopped",
            Lifecycle::Restarted => "restarted",
            Lifecycle::Ready => "ready",
        })
    }
}

/// One actor's health, for the status and `/healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorHealth {
    /// Which actor.
    pub actor: ActorName,
    /// Up and judging; the gate refuses orders while any actor is not.
    pub ready: bool,
    /// Restarts since the engine started.
    pub restarts: u64,
}

/// Readiness of every actor of one strategy. The gate fails closed while any registered actor
/// is not ready.
#[derive(Debug)]
pub struct HealthBoard {
    registered: [bool; SLOTS],
    ready: [AtomicBool; SLOTS],
    restarts: [AtomicU64; SLOTS],
}

impl HealthBoard {
    /// A board for these actors. Each is ready from the start (its mailbox takes messages as
    /// soon as it exists) except those that `need_input` before they can judge.
    pub fn new(
        actors: impl IntoIterator<Item = ActorName>,
        need_input: impl IntoIterator<Item = ActorName>,
    ) -> Self {
        let mut board = Self {
            registered: [false; SLOTS],
            ready: Default::default(),
            restarts: Default::default(),
        };
        for a in actors {
            board.registered[a.slot()] = true;
            board.ready[a.slot()] = AtomicBool::new(true);
        }
        for a in need_input {
            board.ready[a.slot()] = AtomicBool::new(false);
        }
        board
    }

    /// Marks an actor ready or not.
    pub fn set_ready(&self, actor: ActorName, ready: bool) {
        self.ready[actor.slot()].store(ready, Ordering::Release);
    }

    /// Counts a restart.
    pub fn count_restart(&self, actor: ActorName) {
        self.restarts[actor.slot()].fetch_add(1, Ordering::Relaxed);
    }

    /// Restarts of an actor since the engine started.
    pub fn restarts(&self, actor: ActorName) -> u64 {
        self.restarts[actor.slot()].load(Ordering::Relaxed)
    }

    /// Whether an actor is ready.
    pub fn is_ready(&self, actor: ActorName) -> bool {
        self.ready[actor.slot()].load(Ordering::Acquire)
    }

    /// Whether an actor runs in this engine.
    pub fn is_registered(&self, actor: ActorName) -> bool {
        self.registered[actor.slot()]
    }

    /// The first registered actor that is not ready, if any.
    pub fn first_not_ready(&self) -> Option<ActorName> {
        ActorName::all().find(|&a| {
            let i = a.slot();
            self.registered[i] && !self.ready[i].load(Ordering::Acquire)
        })
    }

    /// Every registered actor's health.
    pub fn report(&self) -> Vec<ActorHealth> {
        ActorName::all()
            .filter(|a| self.is_registered(*a))
            .map(|actor| ActorHealth {
                actor,
                ready: self.is_ready(actor),
                restarts: self.restarts(actor),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_first_not_ready_when_unregistered_actor_down_then_ignored() {
        let b = HealthBoard::new(
            [
                ActorName::Breaker(BreakerKind::Drawdown),
                ActorName::OrderGate,
            ],
            [ActorName::Breaker(BreakerKind::Drawdown)],
        );
        assert_eq!(
            b.first_not_ready(),
            Some(ActorName::Breaker(BreakerKind::Drawdown))
        );
        b.set_ready(ActorName::OrderGate, false);
        assert_eq!(b.first_not_ready(), Some(ActorName::OrderGate));
        b.set_ready(ActorName::OrderGate, true);
        assert_eq!(
            b.first_not_ready(),
            Some(ActorName::Breaker(BreakerKind::Drawdown))
        );
        b.set_ready(ActorName::Breaker(BreakerKind::Drawdown), true);
        assert_eq!(b.first_not_ready(), None);
        assert!(!b.is_registered(ActorName::Breaker(BreakerKind::ErrorRate)));
    }

    #[test]
    fn test_actor_name_round_trips_through_text() {
        for a in ActorName::all() {
            assert_eq!(ActorName::parse(&a.to_string()), Some(a));
        }
        assert_eq!(
            ActorName::Breaker(BreakerKind::DailyLoss).to_string(),
            "daily_loss_breaker"
        );
    }
}
