#!/usr/bin/env python3
"""rustybt sidecar client for a Python strategy: standard library only.

The documented Python client is now the package `rustybt_live` (`pip install ./python`):
`rustybt_live.Client` has typed results and exceptions, and the same methods as the
in-process `rustybt_live.Engine` (docs/python.md). This script stays as a dependency-free
example of the HTTP API.

The example writes into a strategy of its own, `python-example` (or --strategy NAME), never
into `demo`: that one is fed by the simulated market of a bare `rustybt live run`, and a second
feed would mix its portfolio and orders with the example's. Give the service a configuration
with the example's strategy, then run it:

    cat > python-example.toml <<'TOML'
    [[strategy]]
    name = "python-example"
    TOML
    cargo run --release -- live run --config python-example.toml
    RUSTYBT_API_TOKEN=$(cat data/api-token) python3 examples/python/client.py

In a strategy:

    from client import RustybtClient
    rb = RustybtClient("http://127.0.0.1:8080", "momentum", token)
    rb.snapshot(portfolio_value="100000.00", positions=[{"asset": "SPY", "quantity": "10", "market_price": "500.00"}])
    decision = rb.check_order("o-1", "SPY", "buy", "10")
    if decision["decision"] == "accepted":
        ...  # send it to the broker
    else:
        print("refused:", decision["reason"])

Money, prices and quantities are decimal strings (never floats), as the API requires.
"""
import argparse
import datetime as dt
import json
import os
import sys
import urllib.error
import urllib.request
from decimal import Decimal


class RustybtError(Exception):
    """The engine answered with an error body, or could not be reached."""


class RustybtClient:
    def __init__(self, url, strategy, token=None, timeout=5.0):
        self.base = url.rstrip("/") + "/api/v1/strategies/" + strategy
        self.token = token
        self.timeout = timeout

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            try:
                err = json.loads(e.read())
                raise RustybtError(f"{e.code} {err.get('error')}: {err.get('message')}") from None
            except ValueError:
                raise RustybtError(f"{e.code} {e.reason}") from None
        except urllib.error.URLError as e:
            raise RustybtError(f"cannot reach the engine at {self.base}: {e.reason}") from None

    @staticmethod
    def _now():
        return dt.datetime.now(dt.timezone.utc).isoformat()

    def snapshot(self, portfolio_value, cash=None, positions=None, timestamp=None):
        body = {"timestamp": timestamp or self._now(), "portfolio_value": str(portfolio_value)}
        if cash is not None:
            body["cash"] = str(cash)
        if positions:
            body["positions"] = positions
        return self._call("POST", "/portfolio", body)

    def check_order(self, order_id, asset, side, quantity, limit_price=None):
        body = {"order_id": order_id, "asset": asset, "side": side, "quantity": str(quantity), "timestamp": self._now()}
        if limit_price is not None:
            body["limit_price"] = str(limit_price)
        return self._call("POST", "/orders", body)

    def fill(self, order_id, asset, side, quantity, price):
        return self._call("POST", "/fills", {"order_id": order_id, "asset": asset, "side": side, "quantity": str(quantity), "price": str(price), "timestamp": self._now()})

    def error(self, kind, message, order_id=None):
        body = {"kind": kind, "message": message, "timestamp": self._now()}
        if order_id:
            body["order_id"] = order_id
        return self._call("POST", "/errors", body)

    def status(self):
        return self._call("GET", "")

    def halt(self, operator, reason):
        return self._call("POST", "/halt", {"operator": operator, "reason": reason})


# The example's own strategy; see the module's docstring for a configuration that has it.
DEFAULT_STRATEGY = "python-example"
# Fed by the simulated market of `rustybt live run` without a configuration.
DEMO_STRATEGY = "demo"


def main():
    p = argparse.ArgumentParser(description="A short demo of the rustybt sidecar API.")
    p.add_argument("--url", default=os.environ.get("RUSTYBT_URL", "http://127.0.0.1:8080"))
    p.add_argument(
        "--strategy",
        default=DEFAULT_STRATEGY,
        help=f"the strategy to write into (default {DEFAULT_STRATEGY}; never {DEMO_STRATEGY})",
    )
    p.add_argument("--halt", action="store_true", help="halt the strategy at the end")
    a = p.parse_args()
    if a.strategy == DEMO_STRATEGY:
        p.error(
            f"--strategy {DEMO_STRATEGY}: that strategy is fed by the simulated market of "
            "`rustybt live run`; the example writes snapshots, orders and errors, so it needs a "
            f"strategy of its own (default {DEFAULT_STRATEGY}, see the docstring for its configuration)"
        )
    rb = RustybtClient(a.url, a.strategy, os.environ.get("RUSTYBT_API_TOKEN"))
    try:
        value = Decimal("100000.00")
        rb.snapshot(value, cash="0", positions=[{"asset": "SPY", "quantity": "200", "market_price": "500.00"}])
        decision = rb.check_order("py-1", "SPY", "buy", "1", limit_price="500.00")
        print("order py-1:", decision["decision"], decision.get("reason", ""))
        rb.error("data_error", "stale quote from the python demo")
        s = rb.status()
        print("state:", s["state"], "| value:", s["portfolio"]["value"], "| drawdown:", s["portfolio"]["drawdown"])
        for b in s["breakers"]:
            if b.get("enabled", True):
                print(f"  {b['type']:<11} {b['status']:<8} {b.get('value', '-')} / {b.get('limit', '-')}")
        if a.halt:
            print("halted:", rb.halt("python-demo", "demo halt")["state"])
    except RustybtError as e:
        print("error:", e, file=sys.stderr)
        if "unknown_strategy" in str(e):
            print(
                f"hint: run the service with a configuration that has [[strategy]] name = \"{a.strategy}\" "
                "(see the docstring of examples/python/client.py)",
                file=sys.stderr,
            )
        sys.exit(1)


if __name__ == "__main__":
    main()
