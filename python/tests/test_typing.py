"""Editors and mypy see the API: the package and a strategy written against it pass
`mypy --strict`, and a wrong call is caught."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import rustybt_live

STRATEGY = '''
from decimal import Decimal
from rustybt_live import Client, Engine, Guard, OrderDecision, Status

def step(engine: Guard, i: int) -> bool:
    engine.submit_snapshot(portfolio_value=Decimal("100000"))
    d: OrderDecision = engine.check_order(order_id=f"o-{i}", asset="SPY", side="buy", quantity="1")
    s: Status = engine.status()
    return d.accepted and s.state == "NORMAL"

def both(path: str, url: str) -> None:
    with Engine.from_config(path, strategy="py") as e:
        step(e, 1)
    with Client(url, token="t", strategy="py") as c:
        step(c, 2)
'''

WRONG = '''
from rustybt_live import Engine
e = Engine.from_config("c.toml")
e.check_order(order_id="o", asset="SPY", side="buy")
d = e.check_order(order_id="o", asset="SPY", side="buy", quantity="1")
d.accepted = "yes"
'''


def _mypy(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy")
    f = tmp_path / "strategy.py"
    f.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(f)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def test_mypy_when_a_strategy_uses_the_package_then_clean(tmp_path: Path) -> None:
    r = _mypy(tmp_path, STRATEGY)
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_when_a_call_is_wrong_then_caught(tmp_path: Path) -> None:
    r = _mypy(tmp_path, WRONG)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'Missing named argument "quantity"' in r.stdout, r.stdout
    assert "accepted" in r.stdout, r.stdout


def test_package_when_installed_then_typed() -> None:
    root = Path(rustybt_live.__file__).parent
    assert (root / "py.typed").exists()
    assert (root / "_native.pyi").exists()
