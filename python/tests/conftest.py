"""Shared by the tests: configurations in a real sled folder (tmp_path), and a real
``rustybt live run`` process on a free loopback port for the sidecar client."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest

import rustybt_live as rl

TOKEN = "test-token-python-0123456789"
REPO = Path(__file__).resolve().parents[2]


def write_config(
    folder: Path,
    name: str = "py",
    breakers: str = "",
    port: int | None = None,
    extra: str = "",
) -> Path:
    """A configuration with one strategy, its checkpoint in ``folder/data``."""
    server = f'[server]\nbind = "127.0.0.1:{port}"\n' if port else ""
    text = (
        f'[engine]\ndata_dir = "data"\n{server}'
        f'[[strategy]]\nname = "{name}"\nprofile = "moderate"\n{extra}'
    )
    if breakers:
        text += f"[strategy.circuit_breakers]\n{breakers}\n"
    path = folder / "config.toml"
    path.write_text(text)
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path)


@pytest.fixture
def engine(config: Path) -> Iterator[rl.Engine]:
    with rl.Engine.from_config(config, strategy="py") as e:
        yield e


def rustybt_bin() -> str:
    """The `rustybt` binary: RUSTYBT_BIN (set by .ci/python.sh), or one already built."""
    given = os.environ.get("RUSTYBT_BIN")
    if given:
        return given
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    for profile in ("debug", "release"):
        candidate = target / profile / "rustybt"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("rustybt")
    if found:
        return found
    pytest.skip("no rustybt binary: set RUSTYBT_BIN (bash .ci/python.sh builds one)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveRun(NamedTuple):
    url: str
    token: str
    config: Path
    process: subprocess.Popen[bytes]


def start_live_run(folder: Path, breakers: str = "", name: str = "py", extra: str = "") -> LiveRun:
    port = free_port()
    config = write_config(folder, name=name, breakers=breakers, port=port, extra=extra)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTYBT_")}
    env["RUSTYBT_API_TOKEN"] = TOKEN
    log = open(folder / "live-run.log", "wb")
    proc = subprocess.Popen(
        [rustybt_bin(), "live", "run", "--config", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(
                f"rustybt live run did not come up: {(folder / 'live-run.log').read_text()}"
            )
        time.sleep(0.05)
    return LiveRun(url, TOKEN, config, proc)


def stop(run: LiveRun) -> None:
    run.process.terminate()
    try:
        run.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        run.process.kill()
        run.process.wait()


@pytest.fixture
def live_run(tmp_path: Path) -> Iterator[LiveRun]:
    folder = tmp_path / "sidecar"
    folder.mkdir()
    run = start_live_run(folder)
    try:
        yield run
    finally:
        stop(run)


@pytest.fixture
def client(live_run: LiveRun) -> Iterator[rl.Client]:
    with rl.Client(live_run.url, token=live_run.token, strategy="py") as c:
        yield c
