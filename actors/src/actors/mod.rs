//! The actors: thin shells that turn messages into calls of the rules and results into
//! messages. Each catches a panic at its handler boundary and stops, so actix's supervisor
//! restarts it (actix 0.13 does not restart an actor that panics; it does restart one that
//! stops), with its durable state reloaded in `restarting()`.

pub mod alert_dispatcher;
pub mod daily_loss_breaker;
pub mod drawdown_breaker;
pub mod error_rate_breaker;
pub mod health;
pub mod ledger_feed;
pub mod manual_breaker;
pub mod messages;
pub mod order_gate;
pub mod order_rate_breaker;
pub mod supervisor;

pub use alert_dispatcher::AlertDispatcher;
pub use daily_loss_breaker::DailyLossBreaker;
pub use drawdown_breaker::DrawdownBreaker;
pub use error_rate_breaker::ErrorRateBreaker;
pub use health::HealthBoard;
pub use ledger_feed::LedgerFeed;
pub use manual_breaker::ManualBreaker;
pub use order_gate::OrderGate;
pub use order_rate_breaker::OrderRateBreaker;
pub use supervisor::Supervisor;

use actix::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f` on the actor; on a panic, logs it, runs `on_panic` (a breaker marks itself not
/// ready there, before anyone hears back) and stops the actor so its supervisor restarts it.
pub(crate) fn guard<A, R>(
    act: &mut A,
    ctx: &mut Context<A>,
    name: &str,
    on_panic: impl FnOnce(&mut A),
    f: impl FnOnce(&mut A) -> R,
) -> Option<R>
where
    A: Actor<Context = Context<A>>,
{
    match catch_unwind(AssertUnwindSafe(|| f(act))) {
        Ok(r) => Some(r),
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            tracing::error!(actor = name, panic = %what, "actor panicked: restarting it");
            on_panic(act);
            ctx.stop();
            None
        }
    }
}
