"""Every method, through both faces: the engine in this process and the client of a real
`rustybt live run`. The same test, the same assertions, the same messages: a strategy moves
between the two without a change."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import rustybt_live as rl

from conftest import start_live_run, stop, write_config

Make = Callable[..., rl.Guard]


@pytest.fixture(params=["engine", "client"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Make]:
    """Makes the engine (in-process) or the client (of a sidecar) of one strategy `py`."""
    opened: list[Any] = []
    runs: list[Any] = []

    def make_one(breakers: str = "", pre_trade: str = "") -> rl.Guard:
        folder = tmp_path / f"g{len(opened)}"
        folder.mkdir()
        extra = f"[strategy.pre_trade]\n{pre_trade}" if pre_trade else ""
        if request.param == "engine":
            g: rl.Guard = rl.Engine.from_config(write_config(folder, breakers=breakers, extra=extra))
        else:
            run = start_live_run(folder, breakers=breakers, extra=extra)
            runs.append(run)
            g = rl.Client(run.url, token=run.token, strategy="py")
        opened.append(g)
        return g

    yield make_one
    for g in opened:
        g.close()
    for r in runs:
        stop(r)


def ready(g: rl.Guard, value: str = "100000.00") -> None:
    g.submit_snapshot(
        portfolio_value=Decimal(value),
        cash=Decimal("50000"),
        positions=[{"asset": "SPY", "quantity": Decimal("100"), "market_price": "500.00"}],
    )


def test_check_order_when_no_snapshot_yet_then_rejected_naming_the_breaker(make: Make) -> None:
    g = make()
    d = g.check_order(order_id="o-1", asset="SPY", side="buy", quantity="1")
    assert isinstance(d, rl.OrderDecision)
    assert (d.accepted, d.state, d.breaker, d.check) == (False, "NORMAL", "drawdown", None)
    assert "not ready" in (d.reason or "")


def test_check_order_when_ready_then_accepted_whatever_the_money_type(make: Make) -> None:
    g = make()
    ready(g)
    now = datetime.now(timezone.utc)
    for i, quantity in enumerate([Decimal("1"), "2", 3, Decimal("1E+1"), Decimal("0.5")]):
        d = g.check_order(
            order_id=f"o-{i}",
            asset="SPY",
            side="buy" if i % 2 else "sell",
            quantity=quantity,
            limit_price=Decimal("500.25") if i % 2 else None,
            timestamp=now if i < 3 else None,
        )
        assert d == rl.ACCEPTED and d.accepted and d.reason is None, d
    s = g.status()
    assert s.orders_accepted == 5
    assert [o["order"]["quantity"] for o in s.raw["recent_orders"]] == ["1", "2", "3", "10", "0.5"]
    assert s.raw["recent_orders"][1]["order"]["limit_price"] == "500.25"


def test_submit_snapshot_then_the_status_carries_it_as_decimals(make: Make) -> None:
    g = make()
    ready(g)
    s = g.status()
    assert isinstance(s, rl.Status)
    assert s.name == "py" and s.state == "NORMAL"
    assert s.portfolio.value == Decimal("100000.00")
    assert s.portfolio.cash == Decimal("50000")
    assert s.portfolio.high_water_mark == Decimal("100000.00")
    assert s.portfolio.positions == (
        rl.Position("SPY", Decimal("100"), Decimal("500.00"), Decimal("50000.00")),
    )
    assert s.portfolio.as_of is not None and s.portfolio.as_of.tzinfo is not None
    dd = s.breaker("drawdown")
    assert dd is not None and dd.limit == Decimal("-0.10") and not dd.tripped


def test_submit_snapshot_when_drawdown_over_the_limit_then_tripped_and_orders_refused(
    make: Make,
) -> None:
    g = make()
    ready(g)
    g.submit_snapshot(portfolio_value="89000")
    s = g.status()
    assert s.state == "TRIPPED"
    assert s.breaker("drawdown").tripped  # type: ignore[union-attr]
    d = g.check_order(order_id="o", asset="SPY", side="buy", quantity="1")
    assert (d.accepted, d.state, d.breaker) == (False, "TRIPPED", "drawdown")


def test_submit_snapshot_when_value_below_zero_then_accepted_and_drawdown_trips(
    make: Make,
) -> None:
    # A margin account's equity below zero is judged, never refused: -80 after 100 is -180%.
    g = make()
    g.submit_snapshot(portfolio_value="100")
    g.submit_snapshot(portfolio_value="-80")
    s = g.status()
    assert s.state == "TRIPPED"
    assert s.portfolio.value == Decimal("-80")
    assert s.breaker("drawdown").tripped  # type: ignore[union-attr]
    d = g.check_order(order_id="o", asset="SPY", side="buy", quantity="1")
    assert (d.accepted, d.state, d.breaker) == (False, "TRIPPED", "drawdown")


def test_report_fill_then_listed_in_the_status(make: Make) -> None:
    g = make()
    ready(g)
    g.report_fill(order_id="o-1", asset="SPY", side="buy", quantity="10", price=Decimal("500.10"))
    fills = g.status().raw["recent_fills"]
    assert [(f["order_id"], f["quantity"], f["price"]) for f in fills] == [("o-1", "10", "500.10")]


def test_report_error_when_over_the_error_rate_then_tripped(make: Make) -> None:
    g = make("error_rate = { max_errors = 2, window = 60 }")
    ready(g)
    g.report_error(kind="broker_error", message="timeout", order_id="o-1")
    g.report_error(kind="data_error", message="stale quote")
    assert g.status().state == "NORMAL"
    g.report_error(kind="order_rejected", message="no margin")
    s = g.status()
    assert s.state == "TRIPPED"
    assert s.breaker("error_rate").tripped  # type: ignore[union-attr]
    assert s.raw["error_totals"] == {"broker_error": 1, "data_error": 1, "order_rejected": 1}


def test_halt_then_manually_halted_durable_and_a_second_halt_says_so(make: Make) -> None:
    g = make()
    ready(g)
    s = g.halt(operator="alice", reason="runaway orders")
    assert isinstance(s, rl.Status)
    assert (s.state, s.reason, s.already_halted) == ("MANUALLY_HALTED", "runaway orders", False)
    d = g.check_order(order_id="o", asset="SPY", side="buy", quantity="1")
    assert (d.accepted, d.state, d.breaker) == (False, "MANUALLY_HALTED", "manual")
    again = g.halt(operator="bob", reason="still")
    assert (again.state, again.reason, again.already_halted) == ("MANUALLY_HALTED", "runaway orders", True)


def test_reset_when_two_steps_then_normal_and_a_wrong_token_changes_nothing(make: Make) -> None:
    g = make()
    ready(g)
    with pytest.raises(rl.ConflictError) as e:
        g.request_reset(operator="alice")
    assert (e.value.code, e.value.status) == ("nothing_to_reset", 409)
    g.halt(operator="alice", reason="drill")
    ticket = g.request_reset(operator="alice", reason="drill over")
    assert isinstance(ticket, rl.ResetTicket)
    assert ticket.state == "RESETTING" and ticket.confirmation_token
    assert ticket.expires_at is not None and ticket.expires_at > datetime.now(timezone.utc)
    with pytest.raises(rl.ConflictError) as e:
        g.confirm_reset(operator="bob", confirmation_token="wrong")
    assert e.value.code == "wrong_confirmation_token"
    assert e.value.message == "the confirmation token does not match the pending reset"
    s = g.status()
    assert s.state == "RESETTING" and s.pending_reset_expires_at == ticket.expires_at
    s = g.confirm_reset(operator="bob", confirmation_token=ticket.confirmation_token)
    assert s.state == "NORMAL"
    assert g.check_order(order_id="o", asset="SPY", side="buy", quantity="1").accepted


def test_audit_then_every_transition_with_its_cause_and_operator(make: Make) -> None:
    g = make()
    ready(g)
    g.halt(operator="alice", reason="drill")
    t = g.request_reset(operator="alice")
    g.confirm_reset(operator="bob", confirmation_token=t.confirmation_token)
    trail = g.audit()
    assert all(isinstance(a, rl.AuditEntry) for a in trail)
    got = [(a.from_state, a.to_state, a.cause, a.operator) for a in trail[-3:]]
    assert got == [
        ("NORMAL", "MANUALLY_HALTED", "manual_halt", "alice"),
        ("MANUALLY_HALTED", "RESETTING", "reset_requested", "alice"),
        ("RESETTING", "NORMAL", "reset_confirmed", "bob"),
    ]
    assert [a.seq for a in trail] == sorted(a.seq for a in trail)


def _later() -> datetime:
    return datetime.now(timezone.utc) + timedelta(hours=1)


# (method, keyword arguments, exception, code, message (a prefix when it ends with "…"))
BAD_INPUT: list[tuple[str, dict[str, Any], type[rl.RustybtError], str, str]] = [
    ("check_order", dict(order_id="x", asset="SPY", side="buy", quantity="abc"),
     rl.InputError, "invalid_decimal", 'quantity: "abc" is not a decimal'),
    ("check_order", dict(order_id="x", asset="SPY", side="buy", quantity=1.5),
     rl.InputError, "invalid_decimal", 'quantity: 1.5 must be a decimal written as a JSON string, e.g. "1.5"'),
    ("check_order", dict(order_id="x", asset="SPY", side="hold", quantity="1"),
     rl.InputError, "invalid_body", "side: unknown variant `hold`, expected `buy` or `sell`"),
    ("check_order", dict(order_id="x", asset="SPY", side="buy", quantity="-1"),
     rl.InputError, "invalid_value", "quantity: -1 must be greater than zero"),
    ("check_order", dict(order_id="x", asset="SPY", side="buy", quantity="1", limit_price="0"),
     rl.InputError, "invalid_value", "limit_price: 0 must be greater than zero"),
    ("check_order", dict(order_id=" ", asset="SPY", side="buy", quantity="1"),
     rl.InputError, "invalid_value", "order_id: must not be empty"),
    ("check_order", dict(order_id="x", asset="SPY", side="buy", quantity="1", timestamp=datetime(2026, 3, 2, 15, 4, 5)),
     rl.InputError, "invalid_body", "timestamp: 2026-03-02T15:04:05 has no time zone…"),
    ("check_order", dict(order_id="x", asset="SPY", side="buy", quantity="1", timestamp=_later()),
     rl.InputError, "invalid_value", "timestamp: …"),
    ("submit_snapshot", dict(portfolio_value="1", positions=[{"asset": "A", "quantity": "1", "market_price": "-1"}]),
     rl.InputError, "invalid_value", "positions.market_price: -1 must not be negative"),
    ("submit_snapshot", dict(portfolio_value="99999999999999999999999999999999"),
     rl.InputError, "invalid_decimal", 'portfolio_value: "99999999999999999999999999999999" is not a decimal'),
    ("submit_snapshot", dict(portfolio_value="1", positions=[{"asset": "A", "quantity": "1", "market_price": "x"}]),
     rl.InputError, "invalid_decimal", 'positions[0].market_price: "x" is not a decimal'),
    ("report_fill", dict(order_id="o", asset="SPY", side="buy", quantity="1", price="abc"),
     rl.InputError, "invalid_decimal", 'price: "abc" is not a decimal'),
    ("report_error", dict(kind="nope", message="m"),
     rl.InputError, "invalid_body", "kind: unknown variant `nope`…"),
    ("halt", dict(operator="", reason="r"),
     rl.InputError, "invalid_value", "operator: must not be empty"),
    ("confirm_reset", dict(operator="a", confirmation_token="t"),
     rl.ConflictError, "no_reset_pending", "…"),
]


def _fingerprint(s: rl.Status) -> tuple[Any, ...]:
    r = s.raw
    return (
        s.state,
        s.orders_accepted,
        sorted(s.orders_rejected.items()),
        s.portfolio.value,
        len(r["recent_orders"]),
        len(r["recent_fills"]),
        sorted(r["error_totals"].items()),
        r["portfolio"]["snapshots_accepted"],
    )


def test_bad_input_when_any_method_then_the_api_error_and_nothing_changed(make: Make) -> None:
    g = make()
    ready(g)
    g.check_order(order_id="before", asset="SPY", side="buy", quantity="1")
    before = _fingerprint(g.status())
    for method, kwargs, exc, code, message in BAD_INPUT:
        with pytest.raises(exc) as e:
            getattr(g, method)(**kwargs)
        assert e.value.code == code, (method, kwargs, e.value)
        if message.endswith("…"):
            assert e.value.message.startswith(message[:-1]), (method, kwargs, e.value)
        else:
            assert e.value.message == message, (method, kwargs, e.value)
        assert str(e.value) == e.value.message
        assert _fingerprint(g.status()) == before, (method, kwargs)
    assert issubclass(rl.InputError, ValueError)


def test_events_when_halted_and_reset_then_each_change_in_order(make: Make) -> None:
    g = make()
    ready(g)
    stream = g.events()  # type: ignore[attr-defined]
    seen: list[rl.Event] = []
    done = threading.Event()

    def collect(e: rl.Event) -> None:
        seen.append(e)
        if e.kind == "reset_confirmed":
            done.set()

    sub = g.on_event(collect)  # type: ignore[attr-defined]
    g.halt(operator="alice", reason="drill")
    t = g.request_reset(operator="alice")
    g.confirm_reset(operator="alice", confirmation_token=t.confirmation_token)
    kinds = []
    while len(kinds) < 6:
        e = stream.get(timeout=10)
        assert e is not None, f"events so far: {kinds}"
        assert isinstance(e, rl.Event) and e.strategy == "py"
        kinds.append((e.kind, e.state))
    assert ("manual_halt", None) in kinds
    assert ("state_changed", "MANUALLY_HALTED") in kinds
    assert ("reset_requested", None) in kinds
    assert ("state_changed", "RESETTING") in kinds
    assert ("state_changed", "NORMAL") in kinds
    assert done.wait(10)
    sub.close()
    stream.close()
    assert [e.kind for e in seen if e.kind == "state_changed"] == ["state_changed"] * 3


def test_v11_calls_when_orders_open_then_done_prices_and_heartbeat_keep_the_book(make: Make) -> None:
    """`order_done`, `post_prices` and `heartbeat` keep the engine's book: an accepted order
    is open until done; an id never accepted is not found and changes nothing."""
    g = make()
    ready(g)
    assert g.check_order(order_id="o-1", asset="SPY", side="buy", quantity="3").accepted
    assert [o.order_id for o in g.status().open_orders] == ["o-1"]
    g.order_done(order_id="o-1", status="cancelled")
    assert g.status().open_orders == ()
    before = _fingerprint(g.status())
    with pytest.raises(rl.NotFoundError) as e:
        g.order_done(order_id="never", status="cancelled")
    assert 'order_id: "never" was never accepted by the gate' in str(e.value)
    with pytest.raises(rl.InputError) as bad:
        g.post_prices(prices={"SPY": Decimal("-1")})
    assert "prices.price: -1" in str(bad.value)
    assert _fingerprint(g.status()) == before
    g.post_prices(prices={"SPY": Decimal("501.25")})
    refs = dict((a, r["price"]) for a, r in g.status().raw["pre_trade"]["references"])
    assert refs["SPY"] == "501.25"
    g.heartbeat()


def test_pre_trade_check_when_extra_zero_then_decision_names_check_limit_value(make: Make) -> None:
    g = make(pre_trade='max_order_quantity = "100"\n')
    ready(g)
    d = g.check_order(order_id="fat", asset="SPY", side="buy", quantity="1000")
    assert (d.accepted, d.check, d.limit, d.value, d.breaker) == (
        False,
        "max_order_quantity",
        Decimal("100"),
        Decimal("1000"),
        None,
    )
    assert d.reason == "order quantity 1000 > max 100 (SPY)"
