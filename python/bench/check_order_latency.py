#!/usr/bin/env python3
"""check_order from Python: the engine in this process against the same call through the
sidecar client (a `rustybt live run` on loopback, one kept-alive HTTP connection), in the
same run, on the same machine. Prints p50/p90/p99/p99.9/max per path and the ratio.

    pip install ./python
    cargo build --release --bin rustybt
    python python/bench/check_order_latency.py --orders 100000 --rustybt target/release/rustybt

Each order is timed alone (time.perf_counter_ns around the one call), with Decimal quantity
and limit price and a fresh order id, the order-rate breaker switched off so every order is
judged in full and accepted. Not part of CI (its tests use fewer orders, elsewhere).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import rustybt_live as rl

CONFIG = """[engine]
data_dir = "data"
{server}
[[strategy]]
name = "bench"
profile = "moderate"
[strategy.circuit_breakers]
order_rate = {{ enabled = false }}
stale_feed = {{ enabled = false }}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(ns: list[int]) -> dict[str, float]:
    s = sorted(ns)
    n = len(s)

    def at(q: float) -> float:
        return s[min(n - 1, int(q * n))] / 1000.0

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "p99.9": at(0.999), "max": s[-1] / 1000.0}


def run_orders(guard: rl.Guard, n: int, prefix: str) -> list[int]:
    qty, price = Decimal("1"), Decimal("500.00")
    ids = [f"{prefix}-{i}" for i in range(n)]
    out = [0] * n
    clock = time.perf_counter_ns
    check = guard.check_order
    for i, oid in enumerate(ids):
        t0 = clock()
        d = check(order_id=oid, asset="SPY", side="buy", quantity=qty, limit_price=price)
        out[i] = clock() - t0
        if not d.accepted:
            raise SystemExit(f"order {oid} refused: {d.reason}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--warmup", type=int, default=2_000)
    p.add_argument("--rustybt", default=os.environ.get("RUSTYBT_BIN", "target/release/rustybt"))
    a = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "inproc").mkdir()
        (root / "sidecar").mkdir()
        inproc_config = root / "inproc" / "config.toml"
        inproc_config.write_text(CONFIG.format(server=""))
        port = free_port()
        sidecar_config = root / "sidecar" / "config.toml"
        sidecar_config.write_text(CONFIG.format(server=f'[server]\nbind = "127.0.0.1:{port}"'))

        env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTYBT_")}
        env["RUSTYBT_API_TOKEN"] = "bench-token"
        proc = subprocess.Popen(
            [a.rustybt, "live", "run", "--config", str(sidecar_config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(url + "/healthz", timeout=1):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"{a.rustybt} live run did not come up")
                    time.sleep(0.05)

            results = {}
            with rl.Engine.from_config(inproc_config) as engine, rl.Client(
                url, token="bench-token", strategy="bench"
            ) as client:
                for name, guard in (("in-process", engine), ("sidecar", client)):
                    guard.submit_snapshot(portfolio_value=Decimal("1000000"))
                    run_orders(guard, a.warmup, f"warm-{name}")
                # Interleaved halves, so that neither path has the machine to itself.
                half = a.orders // 2
                samples: dict[str, list[int]] = {"in-process": [], "sidecar": []}
                for rnd in range(2):
                    for name, guard in (("in-process", engine), ("sidecar", client)):
                        samples[name] += run_orders(guard, half if rnd == 0 else a.orders - half, f"{name}-{rnd}")
                for name in samples:
                    results[name] = percentiles(samples[name])
        finally:
            proc.terminate()
            proc.wait(timeout=20)

    print(f"check_order from Python, {a.orders} orders per path ({platform.python_implementation()} "
          f"{platform.python_version()}, {os.cpu_count()} cores, {platform.machine()})")
    print(f"{'path':<12} {'p50 µs':>9} {'p90 µs':>9} {'p99 µs':>9} {'p99.9 µs':>9} {'max µs':>10}")
    for name, r in results.items():
        print(f"{name:<12} {r['p50']:>9.2f} {r['p90']:>9.2f} {r['p99']:>9.2f} {r['p99.9']:>9.2f} {r['max']:>10.1f}")
    ratio99 = results["sidecar"]["p99"] / results["in-process"]["p99"]
    ratio50 = results["sidecar"]["p50"] / results["in-process"]["p50"]
    print(f"sidecar / in-process: p50 {ratio50:.1f}x, p99 {ratio99:.1f}x (target: p99 >= 20x)")
    sys.exit(0 if ratio99 >= 20 else 1)


if __name__ == "__main__":
    main()
