"""A strategy loop in Python, written once against `rustybt_live.Guard`, runs away and trips
the order-rate breaker: in-process and through the sidecar."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest

import rustybt_live as rl

from conftest import start_live_run, stop, write_config

MAX_ORDERS = 20


def runaway_strategy(engine: rl.Guard, prices: list[Decimal]) -> list[rl.OrderDecision]:
    """Buys on every tick, as a buggy strategy would; sends only what the engine accepts."""
    engine.submit_snapshot(portfolio_value=Decimal("100000"))
    sent, decisions = [], []
    for i, price in zip(itertools.count(), prices):
        decision = engine.check_order(
            order_id=f"loop-{i}", asset="SPY", side="buy", quantity=Decimal("1"), limit_price=price
        )
        decisions.append(decision)
        if decision.accepted:
            sent.append(i)  # here the host would send it to its broker
    return decisions


@pytest.mark.parametrize("kind", ["engine", "client"])
def test_strategy_loop_when_it_runs_away_then_the_order_rate_breaker_stops_it(
    kind: str, tmp_path: Path
) -> None:
    breakers = f"order_rate = {{ max_orders = {MAX_ORDERS}, window = 60 }}"
    run = None
    if kind == "engine":
        guard: rl.Guard = rl.Engine.from_config(write_config(tmp_path, breakers=breakers))
    else:
        run = start_live_run(tmp_path, breakers=breakers)
        guard = rl.Client(run.url, token=run.token, strategy="py")
    try:
        events = guard.events()  # type: ignore[attr-defined]
        prices = [Decimal("500.00") + Decimal(i) / 100 for i in range(50)]
        decisions = runaway_strategy(guard, prices)
        assert [d.accepted for d in decisions] == [True] * MAX_ORDERS + [False] * 30
        tripping = decisions[MAX_ORDERS]
        assert (tripping.breaker, tripping.state) == ("order_rate", "NORMAL")
        assert "order rate limit exceeded" in (tripping.reason or "")
        after = decisions[MAX_ORDERS + 1]
        assert (after.breaker, after.state) == ("order_rate", "TRIPPED")
        status = guard.status()
        assert status.state == "TRIPPED"
        rate = status.breaker("order_rate")
        assert rate is not None and rate.tripped and rate.limit == MAX_ORDERS
        trips = []
        while not trips:
            e = events.get(timeout=10)
            assert e is not None, "no trip event"
            if e.kind == "circuit_breaker_tripped":
                trips.append(e)
        assert trips[0].breaker == "order_rate"
        assert [a.cause for a in guard.audit()][-1] == "trip:order_rate"
        events.close()
    finally:
        guard.close()
        if run is not None:
            stop(run)
