//! Spawning one strategy's actors: resume the checkpoint, build the core, wire the breakers.

use super::*;
use crate::actors::ledger_feed::PortfolioBreakers;
use crate::checkpoint::SeenId;
use crate::decision::{GateRules, GateUpdate};
use crate::state_machine::{StateMachine, Transition, Trigger};

/// What the checkpoint resumes; anything unreadable or impossible starts the engine halted.
struct Resumed {
    machine: StateMachine,
    startup: Vec<Transition>,
    open_orders: Vec<(Arc<str>, OpenOrder)>,
    seen_ids: Vec<SeenId>,
}

fn resume(
    settings: &StrategySettings,
    checkpoint: &StrategyCheckpoint,
    now: DateTime<Utc>,
) -> Resumed {
    let (mut machine, mut startup) = resume_machine(checkpoint, now);
    let (open_orders, book_problem) = match checkpoint.load_open_orders() {
        Ok(orders) => (orders, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let (seen_ids, ids_problem) = match checkpoint.load_seen_ids() {
        Ok(ids) => (ids, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let book_problem = book_problem.or(ids_problem);
    let mut durable = DurableCheck::new(checkpoint);
    settings.breakers.start(&mut durable);
    if let Some(e) = durable.problem.or(book_problem) {
        let step = machine.apply(
            Trigger::Halt {
                operator: ENGINE_OPERATOR.into(),
                reason: format!(
                    "checkpoint unreadable at start, trading halted until an operator resets: {e}"
                ),
            },
            now,
        );
        startup.extend(step.records);
    }
    Resumed {
        machine,
        startup,
        open_orders,
        seen_ids,
    }
}

/// Every actor of the strategy; the portfolio breakers cannot judge before their first
/// snapshot: fail closed until then.
fn health_board(s: &StrategySettings) -> Arc<HealthBoard> {
    let mut actors: Vec<ActorName> = vec![
        ActorName::Supervisor,
        ActorName::LedgerFeed,
        ActorName::OrderGate,
        ActorName::AlertDispatcher,
        ActorName::Breaker(BreakerKind::Manual),
    ];
    actors.extend(s.breakers.enabled().into_iter().map(ActorName::Breaker));
    Arc::new(HealthBoard::new(
        actors,
        s.breakers
            .awaiting_first_input()
            .into_iter()
            .map(ActorName::Breaker),
    ))
}

/// The gate's core, judging against the resumed machine, with the orders still working when
/// the engine stopped counted as open until the host says otherwise.
fn decision_core(
    settings: &StrategySettings,
    checkpoint: &StrategyCheckpoint,
    resumed: &mut Resumed,
    health: Arc<HealthBoard>,
    now: DateTime<Utc>,
) -> Arc<DecisionCore> {
    let core = Arc::new(DecisionCore::new(
        GateUpdate::new(resumed.machine.record().clone(), 0),
        GateRules {
            reduce_only_when_tripped: settings.reduce_only_when_tripped,
            order_rate: settings.breakers.order_rate.as_ref().map(|o| {
                let (max, window) = OrderRateRule::limit(o);
                OrderRateRule::new(max, window)
            }),
            pre_trade: settings.pre_trade.clone(),
            pre_trade_denials: settings.breakers.pre_trade.as_ref().map(|p| {
                let (max, window) = PreTradeDenialRule::limit(p);
                PreTradeDenialRule::new(max, window)
            }),
            market: Some(settings.market.clone()),
        },
        health,
    ));
    let orders = std::mem::take(&mut resumed.open_orders);
    core.restore_open_orders(orders, std::mem::take(&mut resumed.seen_ids), now);
    // After a crash the book may miss the last orders accepted: with `after_crash =
    // "reconcile"` only reducing orders pass until a venue report re-bases it.
    let reconcile = settings
        .reconciliation
        .as_ref()
        .is_some_and(|r| r.after_crash == crate::settings::AfterCrash::Reconcile);
    if reconcile && checkpoint.last_stop() == crate::checkpoint::LastStop::Unclean {
        tracing::warn!(strategy = %settings.name, "stopped uncleanly before: unreconciled until the first venue report");
        core.set_unreconciled();
    }
    core
}

/// What every actor of the strategy shares.
struct Shared {
    settings: StrategySettings,
    clock: SharedClock,
    checkpoint: StrategyCheckpoint,
    health: Arc<HealthBoard>,
    control: Arc<ControlEvents>,
    beacon: Arc<HostBeacon>,
    telemetry: broadcast::Sender<TelemetryEvent>,
    now: DateTime<Utc>,
}

/// The breakers, started and wired to their inputs.
fn start_breakers(
    sh: &Shared,
    core: &Arc<DecisionCore>,
    links: &Links,
) -> (
    Vec<BreakerLink>,
    PortfolioBreakers,
    Option<Recipient<crate::actors::messages::Evaluate<ErrorArrival>>>,
) {
    let mut wiring = Wiring::new(
        RuleContext {
            market: sh.settings.market.clone(),
            started: sh.now,
            beacon: sh.beacon.clone(),
        },
        sh.checkpoint.clone(),
        core.clone(),
        sh.clock.clone(),
        links.clone(),
    );
    sh.settings.breakers.start(&mut wiring);
    debug_assert!(
        wiring.unrouted.is_empty(),
        "unrouted inputs: {:?}",
        wiring.unrouted
    );
    (wiring.started, wiring.portfolio, wiring.errors)
}

/// Starts every actor but the Supervisor and hands the handle's parts back.
fn start_actors(
    sh: &Shared,
    core: Arc<DecisionCore>,
    links: Links,
    channels: Vec<Arc<dyn AlertChannel>>,
    alert_arbiter: Option<ArbiterHandle>,
) -> Inner {
    let (breakers, portfolio, error_rate) = start_breakers(sh, &core, &links);
    let gate = {
        let (core, links, cp) = (core.clone(), links.clone(), sh.checkpoint.clone());
        actix::Supervisor::start(move |_| OrderGate::new(core, links).saving_open_orders_to(cp))
    };
    let feed = {
        let parts = FeedParts {
            strategy: sh.settings.name.clone(),
            breakers: portfolio,
            core: core.clone(),
            max_clock_skew: sh.settings.max_clock_skew,
            telemetry: sh.telemetry.clone(),
            clock: sh.clock.clone(),
        };
        let l = links.clone();
        actix::Supervisor::start(move |_| LedgerFeed::new(parts, l))
    };
    let dispatcher = {
        let (al, c, cp, l) = (
            sh.settings.alerts.clone(),
            sh.clock.clone(),
            sh.checkpoint.clone(),
            links.clone(),
        );
        let make =
            move |_: &mut Context<AlertDispatcher>| AlertDispatcher::new(channels, al, c, cp, l);
        match &alert_arbiter {
            Some(arb) => actix::Supervisor::start_in_arbiter(arb, make),
            None => actix::Supervisor::start(make),
        }
    };
    let manual = {
        let l = links.clone();
        actix::Supervisor::start(move |_| ManualBreaker::new(l))
    };
    Inner {
        name: sh.settings.name.clone(),
        desk: sh.settings.desk.clone(),
        core,
        feed,
        gate,
        error_rate,
        manual,
        dispatcher,
        breakers,
        health: sh.health.clone(),
        control: sh.control.clone(),
        telemetry: sh.telemetry.clone(),
        clock: sh.clock.clone(),
        max_clock_skew: sh.settings.max_clock_skew,
        checkpoint: sh.checkpoint.clone(),
        errors: Mutex::new(ErrorLog::default()),
        beacon: sh.beacon.clone(),
        supervisor: links.supervisor,
    }
}

/// Starts a strategy's actors in the current actix runtime.
pub fn spawn_engine(parts: EngineParts) -> EngineHandle {
    let EngineParts {
        settings,
        clock,
        checkpoint,
        channels,
        cancel,
        alert_arbiter,
    } = parts;
    let now = clock.now();
    let mut resumed = resume(&settings, &checkpoint, now);
    let (telemetry, _) = broadcast::channel(4096);
    let sh = Shared {
        health: health_board(&settings),
        control: Arc::new(ControlEvents::default()),
        // Stamped by every host call without a message; the dead-man's switch reads it on ticks.
        beacon: Arc::new(HostBeacon::new()),
        telemetry,
        settings,
        clock,
        checkpoint,
        now,
    };

    // The factory runs at once, on this thread; it hands the handle's parts out through here.
    let slot: Rc<RefCell<Option<Inner>>> = Rc::default();
    let out = slot.clone();
    let _supervisor = actix::Supervisor::start(move |ctx: &mut Context<Supervisor>| {
        let links = Links {
            supervisor: ctx.address(),
            health: sh.health.clone(),
        };
        let core = decision_core(
            &sh.settings,
            &sh.checkpoint,
            &mut resumed,
            sh.health.clone(),
            now,
        );
        let mut sup = Supervisor::new(
            SupervisorParts {
                strategy: sh.settings.name.clone(),
                machine: resumed.machine,
                startup: resumed.startup,
                checkpoint: sh.checkpoint.clone(),
                clock: sh.clock.clone(),
                reset_ttl: sh.settings.reset_confirmation_ttl,
                tick_interval: sh.settings.tick_interval,
                core: core.clone(),
                health: sh.health.clone(),
                control: sh.control.clone(),
                cancel,
            },
            ctx.address(),
        );
        let inner = start_actors(&sh, core, links, channels, alert_arbiter);
        sup.set_actors(StrategyActors {
            gate: Some(inner.gate.clone()),
            breakers: inner.breakers.clone(),
            dispatcher: Some(inner.dispatcher.clone()),
        });
        *out.borrow_mut() = Some(inner);
        sup
    });
    let inner = slot.borrow_mut().take().map(Arc::new);
    EngineHandle {
        // `start` runs its closure before returning.
        inner: inner.unwrap_or_else(|| unreachable!("the Supervisor factory ran")),
    }
}
