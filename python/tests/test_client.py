"""The sidecar client against a real `rustybt live run`: what only HTTP has (tokens, an
unknown strategy, a service that is gone), and that its results are the engine's types."""

from __future__ import annotations

from pathlib import Path

import pytest

import rustybt_live as rl

from conftest import LiveRun, free_port, start_live_run, stop


def test_client_when_wrong_token_then_auth_error_and_nothing_changed(live_run: LiveRun) -> None:
    with rl.Client(live_run.url, token="wrong", strategy="py") as bad:
        with pytest.raises(rl.AuthError) as e:
            bad.halt(operator="mallory", reason="x")
        assert (e.value.status, e.value.code) == (401, "unauthorized")
        # GETs are open on loopback.
        assert bad.status().state == "NORMAL"


def test_client_when_token_from_the_environment_then_used(
    live_run: LiveRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUSTYBT_API_TOKEN", live_run.token)
    with rl.Client(live_run.url) as c:  # the only strategy
        assert c.strategy == "py"
        assert c.halt(operator="alice", reason="drill").state == "MANUALLY_HALTED"


def test_client_when_unknown_strategy_then_not_found(live_run: LiveRun) -> None:
    with rl.Client(live_run.url, token=live_run.token, strategy="nope") as c:
        with pytest.raises(rl.NotFoundError) as e:
            c.status()
        assert (e.value.status, e.value.code) == (404, "unknown_strategy")
        assert e.value.message == 'no strategy named "nope"'


def test_client_when_service_gone_then_unavailable(tmp_path: Path) -> None:
    run = start_live_run(tmp_path)
    c = rl.Client(run.url, token=run.token, strategy="py")
    assert c.status().state == "NORMAL"
    stop(run)
    with pytest.raises(rl.UnavailableError):
        c.status()
    with pytest.raises(rl.UnavailableError):
        rl.Client(f"http://127.0.0.1:{free_port()}", strategy="py").status()
    c.close()
    with pytest.raises(rl.ClosedError):
        c.status()


def test_client_when_service_restarted_then_tripped_state_read_back(tmp_path: Path) -> None:
    run = start_live_run(tmp_path)
    with rl.Client(run.url, token=run.token, strategy="py") as c:
        c.submit_snapshot(portfolio_value="100000")
        c.submit_snapshot(portfolio_value="85000")
        assert c.status().state == "TRIPPED"
    stop(run)
    # The sidecar's sled folder, opened in-process: the same checkpoint.
    with rl.Engine.from_config(run.config) as e:
        assert e.status().state == "TRIPPED"


def test_client_results_when_compared_with_the_engine_then_the_same_types(
    client: rl.Client, engine: rl.Engine
) -> None:
    for g in (client, engine):
        g.submit_snapshot(portfolio_value="100000")
    a = client.check_order(order_id="o", asset="SPY", side="buy", quantity="1")
    b = engine.check_order(order_id="o", asset="SPY", side="buy", quantity="1")
    assert a == b == rl.ACCEPTED and type(a) is type(b)
    sa, sb = client.status(), engine.status()
    assert type(sa) is type(sb) is rl.Status
    assert [x.type for x in sa.breakers] == [x.type for x in sb.breakers]
    assert sa.portfolio.value == sb.portfolio.value == 100000
    assert sorted(sa.raw) == sorted(sb.raw)
