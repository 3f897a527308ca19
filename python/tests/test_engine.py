"""The engine in this process: configuration, the sled folder across restarts, closing,
threads and the GIL."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

import rustybt_live as rl

from conftest import write_config


def test_restart_when_tripped_in_the_same_sled_folder_then_comes_back_tripped(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with rl.Engine.from_config(config, strategy="py") as e:
        e.submit_snapshot(portfolio_value="100000")
        e.submit_snapshot(portfolio_value="85000")
        assert e.state == "TRIPPED"
    assert (tmp_path / "data").is_dir()
    with rl.Engine.from_config(config) as again:
        s = again.status()
        assert s.state == "TRIPPED"
        assert s.breaker("drawdown").tripped  # type: ignore[union-attr]
        again.submit_snapshot(portfolio_value="85000")
        d = again.check_order(order_id="o", asset="SPY", side="buy", quantity="1")
        assert (d.accepted, d.state) == (False, "TRIPPED")
        assert "trip:drawdown" in [a.cause for a in again.audit()]


def test_restart_when_halted_then_comes_back_halted_with_its_reason(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with rl.Engine.from_config(config) as e:
        e.halt(operator="alice", reason="end of day")
    with rl.Engine.from_config(config) as again:
        s = again.status()
        assert (s.state, s.reason) == ("MANUALLY_HALTED", "end of day")


def test_close_then_every_call_raises_closed_and_close_again_does_nothing(config: Path) -> None:
    e = rl.Engine.from_config(config)
    assert not e.closed and "NORMAL" in repr(e)
    e.close()
    e.close()
    assert e.closed and "closed" in repr(e)
    with pytest.raises(rl.ClosedError):
        e.status()
    with pytest.raises(rl.ClosedError):
        e.check_order(order_id="o", asset="SPY", side="buy", quantity="1")
    with pytest.raises(rl.ClosedError):
        e.submit_snapshot(portfolio_value="1")


def test_events_when_engine_closed_then_the_iteration_ends(config: Path) -> None:
    e = rl.Engine.from_config(config)
    stream = e.events()
    got: list[rl.Event] = []
    t = threading.Thread(target=lambda: got.extend(stream))
    t.start()
    e.halt(operator="alice", reason="drill")
    e.close()
    t.join(10)
    assert not t.is_alive()
    assert {ev.kind for ev in got} >= {"manual_halt", "state_changed"}


def test_from_config_when_the_file_is_bad_then_config_error_naming_each_problem(tmp_path: Path) -> None:
    with pytest.raises(rl.ConfigError) as e:
        rl.Engine.from_config(tmp_path / "missing.toml")
    assert "missing.toml" in e.value.message
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[strategy]]\nname = "a"\n[strategy.circuit_breakers]\n'
        'drawdown = { threshold = "0.5" }\norder_rate = { max_orders = 0 }\n'
    )
    with pytest.raises(rl.ConfigError) as e:
        rl.Engine.from_config(bad)
    assert "threshold" in e.value.message and "max_orders" in e.value.message, e.value.message
    bad.write_text('[[strategy]]\nname = "a"\n[strategy.circuit_breakers]\norder_rate = { max_orderz = 3 }\n')
    with pytest.raises(rl.ConfigError) as e:
        rl.Engine.from_config(bad)
    assert "unknown field `max_orderz`" in e.value.message, e.value.message
    assert isinstance(e.value, ValueError)


def test_from_config_when_several_strategies_then_the_one_named(tmp_path: Path) -> None:
    two = tmp_path / "two.toml"
    two.write_text('[engine]\ndata_dir = "data"\n[[strategy]]\nname = "a"\n[[strategy]]\nname = "b"\n')
    with pytest.raises(rl.ConfigError) as e:
        rl.Engine.from_config(two)
    assert "has 2 strategies (a, b)" in e.value.message
    with pytest.raises(rl.ConfigError) as e:
        rl.Engine.from_config(two, strategy="c")
    assert 'no strategy named "c"' in e.value.message
    with rl.Engine.from_config(two, strategy="b") as b:
        assert b.strategy == "b" and b.status().name == "b"


def test_check_order_when_many_threads_then_exactly_the_limit_passes(tmp_path: Path) -> None:
    config = write_config(tmp_path, breakers="order_rate = { max_orders = 50, window = 60 }")
    with rl.Engine.from_config(config) as e:
        e.submit_snapshot(portfolio_value="100000")
        results: list[bool] = []
        lock = threading.Lock()

        def send(k: int) -> None:
            for i in range(25):
                d = e.check_order(order_id=f"t{k}-{i}", asset="SPY", side="buy", quantity=Decimal(1))
                with lock:
                    results.append(d.accepted)

        threads = [threading.Thread(target=send, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(True) == 50 and len(results) == 100
        assert e.status().state == "TRIPPED"


def test_gil_when_a_call_waits_in_the_engine_then_other_threads_run(config: Path) -> None:
    with rl.Engine.from_config(config) as e:
        stream = e.events()
        count = 0
        stop = threading.Event()

        def spin() -> None:
            nonlocal count
            while not stop.is_set():
                count += 1

        t = threading.Thread(target=spin)
        t.start()
        time.sleep(0.05)
        before = count
        # Waits 0.5 s inside the engine's native code, the GIL released.
        assert stream.get(timeout=0.5) is None
        during = count - before
        stop.set()
        t.join()
        # With the GIL held for 0.5 s the spinning thread would have counted (almost) nothing.
        assert during > 10_000, during


def test_check_order_when_decimal_in_exponent_form_then_read_exactly(engine: rl.Engine) -> None:
    engine.submit_snapshot(portfolio_value="100000")
    assert engine.check_order(order_id="e", asset="SPY", side="buy", quantity=Decimal("2E+1")).accepted
    assert engine.status().raw["recent_orders"][-1]["order"]["quantity"] == "20"
