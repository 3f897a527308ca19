//! The actors: thin shells that turn messages into calls of the rules and results into
//! messages.
//!
//! Supervision, in the spirit of ractor's supervision events: every actor but the Supervisor
//! is started under actix's supervisor, catches a panic at its handler boundary ([`guard`]),
//! marks itself not ready on the health board in that instant (the gate refuses from then
//! on), tells the Supervisor, and stops; actix restarts it (actix 0.13 restarts an actor that
//! stops, not one that panics), it reloads its durable state, tells the Supervisor again, and
//! marks itself ready once it can judge. The Supervisor records each event in the audit trail.
//! The Supervisor itself is guarded the same way and resumes from the checkpoint.

pub mod alert_dispatcher;
pub mod breaker;
pub mod ledger_feed;
pub mod manual_breaker;
pub mod messages;
pub mod order_gate;
pub mod supervisor;
pub mod wiring;

pub use alert_dispatcher::AlertDispatcher;
pub use breaker::Breaker;
pub use ledger_feed::LedgerFeed;
pub use manual_breaker::ManualBreaker;
pub use order_gate::OrderGate;
pub use supervisor::Supervisor;

use crate::supervision::{ActorName, HealthBoard, Lifecycle};
use actix::prelude::*;
use messages::LifecycleReport;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// What every supervised actor holds: where to report and where to show its health.
#[derive(Clone)]
pub struct Links {
    /// The strategy's Supervisor.
    pub supervisor: Addr<Supervisor>,
    /// The strategy's health board.
    pub health: Arc<HealthBoard>,
}

impl Links {
    fn report(&self, actor: ActorName, event: Lifecycle, detail: Option<String>) {
        self.supervisor.do_send(LifecycleReport {
            actor,
            event,
            detail,
        });
    }
}

/// An actor the Supervisor supervises.
pub(crate) trait Supervisee: Actor<Context = Context<Self>> {
    /// Its name on the health board and in the audit trail.
    fn name(&self) -> ActorName;
    /// Its links.
    fn links(&self) -> &Links;
    /// Reloads durable state after a restart.
    fn reload(&mut self) {}
    /// Whether it can judge now (a portfolio breaker needs its first snapshot).
    fn can_judge(&self) -> bool {
        true
    }
}

/// Marks the actor ready once it can judge; after a restart, tells the Supervisor.
pub(crate) fn mark_ready<A: Supervisee>(act: &A) {
    let (name, links) = (act.name(), act.links());
    if act.can_judge() && !links.health.is_ready(name) {
        links.health.set_ready(name, true);
        if links.health.restarts(name) > 0 {
            links.report(name, Lifecycle::Ready, None);
        }
    }
}

/// Called from `Supervised::restarting`: counts the restart, reloads, reports.
pub(crate) fn on_restart<A: Supervisee>(act: &mut A) {
    let name = act.name();
    act.links().health.count_restart(name);
    act.reload();
    act.links().report(name, Lifecycle::Restarted, None);
}

/// Runs `f` on the actor; on a panic, marks the actor not ready (the gate refuses from this
/// instant), tells the Supervisor, and stops the actor so actix restarts it.
pub(crate) fn guard<A: Supervisee, R>(
    act: &mut A,
    ctx: &mut Context<A>,
    f: impl FnOnce(&mut A) -> R,
) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(|| f(act))) {
        Ok(r) => Some(r),
        Err(payload) => {
            let what = panic_message(payload.as_ref());
            let name = act.name();
            tracing::error!(actor = %name, panic = %what, "actor panicked: restarting it");
            act.links().health.set_ready(name, false);
            act.links().report(name, Lifecycle::Panicked, Some(what));
            ctx.stop();
            None
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// The `Supervised` impl and the fault-injection handler of a supervisee.
macro_rules! supervisee {
    ($actor:ty $(, $($gen:tt)*)?) => {
        impl $(<$($gen)*>)? actix::Supervised for $actor {
            fn restarting(&mut self, _: &mut actix::Context<Self>) {
                $crate::actors::on_restart(self);
            }
        }

        #[cfg(feature = "test-util")]
        impl $(<$($gen)*>)? actix::Handler<$crate::actors::messages::InjectPanic> for $actor {
            type Result = ();

            fn handle(
                &mut self,
                _: $crate::actors::messages::InjectPanic,
                ctx: &mut actix::Context<Self>,
            ) {
                $crate::actors::guard(self, ctx, |_| panic!("injected fault"));
            }
        }
    };
}
pub(crate) use supervisee;

/// A supervisee whose links live in a `links` field, ready as soon as it starts: the
/// `Supervisee`, `Actor`, `Supervised` and fault-injection impls in one line.
macro_rules! plain_supervisee {
    ($actor:ty, $name:expr) => {
        impl $crate::actors::Supervisee for $actor {
            fn name(&self) -> $crate::supervision::ActorName {
                $name
            }

            fn links(&self) -> &$crate::actors::Links {
                &self.links
            }
        }

        impl actix::Actor for $actor {
            type Context = actix::Context<Self>;

            fn started(&mut self, _: &mut actix::Context<Self>) {
                $crate::actors::mark_ready(self);
            }
        }

        $crate::actors::supervisee!($actor);
    };
}
pub(crate) use plain_supervisee;
