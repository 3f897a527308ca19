"""The sidecar client: the same methods, results and exceptions as ``rustybt_live.Engine``,
over the HTTP API of a ``rustybt live run`` (``../shared/API.md``). Standard library only
(``http.client`` with a kept-alive connection, ``urllib.parse``, ``json``).

    from rustybt_live import Client
    with Client("http://127.0.0.1:8080", strategy="momentum") as rb:   # token: RUSTYBT_API_TOKEN
        decision = rb.check_order(order_id="o-1", asset="SPY", side="buy", quantity="10")
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import threading
import urllib.parse
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Union

from . import _bodies as b
from ._bodies import Money, Time
from ._errors import (
    AuthError,
    ClosedError,
    ConflictError,
    InputError,
    NotFoundError,
    RustybtError,
    UnavailableError,
)
from ._types import AuditEntry, Event, OrderDecision, ResetTicket, Status

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

_BY_STATUS: dict[int, type[RustybtError]] = {
    400: InputError,
    413: InputError,
    422: InputError,
    401: AuthError,
    404: NotFoundError,
    409: ConflictError,
    503: UnavailableError,
}


def _error(status: int, body: bytes, reason: str) -> RustybtError:
    try:
        d = json.loads(body)
        code, message = d.get("error"), d.get("message") or reason
    except ValueError:
        code, message = None, f"{status} {reason}"
    return _BY_STATUS.get(status, RustybtError)(message, code, status)


class ClientEventStream:
    """Control events of the sidecar (its ``/events`` stream, less the snapshot telemetry),
    as ``Event`` values: iterate it, or poll it with ``get(timeout)``."""

    _END = object()

    def __init__(self, client: "Client") -> None:
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self._conn = client._connect(timeout=None)
        self._closed = False
        headers = client._headers(get=True)
        headers["Accept"] = "text/event-stream"
        self._conn.request("GET", client._path("/events"), headers=headers)
        resp = self._conn.getresponse()
        if resp.status != 200:
            raise _error(resp.status, resp.read(), resp.reason)
        self._resp = resp
        # The first frame is the state before any change: subscribed from then on.
        first = self._frame()
        if first is None:
            raise UnavailableError("the event stream ended at once", "unreachable", None)
        self._thread = threading.Thread(target=self._pump, name="rustybt-sse", daemon=True)
        self._thread.start()

    def _frame(self) -> Optional[tuple[str, str]]:
        name, data = "message", list[str]()
        while True:
            line = self._resp.readline()
            if not line:
                return None
            text = line.decode("utf-8").rstrip("\r\n")
            if not text:
                if data:
                    return name, "\n".join(data)
                name = "message"
                continue
            if text.startswith(":"):
                continue
            key, _, value = text.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if key == "event":
                name = value
            elif key == "data":
                data.append(value)

    def _pump(self) -> None:
        try:
            while True:
                frame = self._frame()
                if frame is None:
                    break
                name, data = frame
                if name in ("hello", "snapshot", "message"):
                    continue
                self._queue.put(Event.from_json(json.loads(data)))
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            # Closed under the reader (close() from another thread), or the service went away.
            pass
        finally:
            self._queue.put(self._END)

    def get(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, or ``None`` after ``timeout`` seconds (or once the stream ended)."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is self._END:
            self._queue.put(self._END)
            return None
        return item  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        while True:
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is self._END:
                self._queue.put(self._END)
                raise StopIteration
            return item  # type: ignore[no-any-return]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                sock = self._conn.sock
                if sock is not None:
                    import socket

                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._conn.close()

    def __enter__(self) -> "ClientEventStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Subscription:
    def __init__(self, stream: ClientEventStream, callback: Callable[[Event], None]) -> None:
        self._stream = stream
        self._thread = threading.Thread(target=self._run, args=(callback,), name="rustybt-events", daemon=True)
        self._thread.start()

    def _run(self, callback: Callable[[Event], None]) -> None:
        for event in self._stream:
            callback(event)

    def close(self, timeout: Optional[float] = 5.0) -> None:
        self._stream.close()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)


class Client:
    """A strategy of a ``rustybt live run`` sidecar, with ``Engine``'s methods.

    ``token`` defaults to ``RUSTYBT_API_TOKEN``; ``strategy`` to the service's only strategy.
    One kept-alive connection, used by one thread at a time (calls from several threads wait
    their turn). ``timeout`` is per call, in seconds.
    """

    def __init__(
        self,
        url: str,
        token: Optional[str] = None,
        strategy: Optional[str] = None,
        timeout: float = 5.0,
    ) -> None:
        parts = urllib.parse.urlsplit(url if "://" in url else "http://" + url)
        if parts.scheme not in ("http", "https"):
            raise InputError(f"url: {url!r} is not an http(s) URL", "invalid_url", None)
        self.url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._scheme, self._host, self._port = parts.scheme, parts.hostname or "127.0.0.1", parts.port
        self._prefix = parts.path.rstrip("/")
        env_token = os.environ.get("RUSTYBT_API_TOKEN", "").strip()
        self._token = token if token is not None else (env_token or None)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: Optional[http.client.HTTPConnection] = None
        self._closed = False
        if strategy is None:
            names = [s["name"] for s in self._request("GET", "/api/v1/strategies")]
            if len(names) != 1:
                raise InputError(
                    f"strategy: the service at {self.url} runs {len(names)} strategies "
                    f"({', '.join(names)}); name the one to use",
                    "invalid_value",
                    None,
                )
            strategy = names[0]
        self.strategy: str = strategy
        self._base = "/api/v1/strategies/" + urllib.parse.quote(strategy, safe="")

    # ---- HTTP ----

    def _connect(self, timeout: Optional[float]) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        return cls(self._host, self._port, timeout=timeout)

    def _headers(self, get: bool = False) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._token:
            h["Authorization"] = "Bearer " + self._token
        return h

    def _path(self, suffix: str) -> str:
        return self._prefix + self._base + suffix

    def _request(self, method: str, path: str, body: Optional[Mapping[str, Any]] = None) -> Any:
        if self._closed:
            raise ClosedError("the client is closed", "client_closed", None)
        data = None if body is None else _dumps(body).encode("utf-8")
        target = self._prefix + path
        with self._lock:
            for attempt in (0, 1):
                fresh = self._conn is None
                if self._conn is None:
                    self._conn = self._connect(self.timeout)
                try:
                    self._conn.request(method, target, body=data, headers=self._headers())
                    resp = self._conn.getresponse()
                    raw = resp.read()
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                    # The service closed a kept-alive connection while it was idle: once more
                    # on a new one. A fresh connection failing is an answer in itself.
                    self._conn.close()
                    self._conn = None
                    if fresh or attempt:
                        raise UnavailableError(
                            f"cannot reach the engine at {self.url}: {e}", "unreachable", None
                        ) from None
                    continue
                except (OSError, http.client.HTTPException) as e:
                    self._conn.close()
                    self._conn = None
                    raise UnavailableError(
                        f"cannot reach the engine at {self.url}: {e}", "unreachable", None
                    ) from None
                if resp.status >= 400:
                    raise _error(resp.status, raw, resp.reason)
                return json.loads(raw) if raw else None
        raise AssertionError("unreachable")

    def _post(self, suffix: str, body: Mapping[str, Any]) -> Any:
        return self._request("POST", self._base + suffix, body)

    # ---- Host events ----

    def check_order(
        self,
        *,
        order_id: str,
        asset: str,
        side: str,
        quantity: Money,
        limit_price: Optional[Money] = None,
        timestamp: Optional[Time] = None,
        time_in_force: Optional[str] = None,
    ) -> OrderDecision:
        """``POST .../orders``: the order gate. ``time_in_force``: ``"day"`` (the default,
        expires at its session's close) or ``"gtc"``."""
        body = b.order(order_id, asset, side, quantity, limit_price, timestamp, time_in_force)
        return OrderDecision.from_json(self._post("/orders", body))

    def submit_snapshot(
        self,
        *,
        portfolio_value: Money,
        positions: Optional[Iterable[Any]] = None,
        cash: Optional[Money] = None,
        timestamp: Optional[Time] = None,
    ) -> None:
        """``POST .../portfolio``."""
        self._post("/portfolio", b.snapshot(portfolio_value, cash, positions, timestamp))

    def report_fill(
        self,
        *,
        order_id: str,
        asset: str,
        side: str,
        quantity: Money,
        price: Money,
        timestamp: Optional[Time] = None,
    ) -> None:
        """``POST .../fills``."""
        self._post("/fills", b.fill(order_id, asset, side, quantity, price, timestamp))

    def report_error(
        self,
        *,
        kind: str,
        message: str,
        order_id: Optional[str] = None,
        timestamp: Optional[Time] = None,
    ) -> None:
        """``POST .../errors``."""
        self._post("/errors", b.error(kind, message, order_id, timestamp))

    def order_done(self, *, order_id: str, status: str, timestamp: Optional[Time] = None) -> None:
        """``POST .../orders/{order_id}/done`` (API v1.1)."""
        path = "/orders/" + urllib.parse.quote(order_id, safe="") + "/done"
        self._post(path, b.done(status, timestamp))

    def post_prices(
        self,
        *,
        prices: Union[Mapping[str, Money], Iterable[Mapping[str, Any]]],
        timestamp: Optional[Time] = None,
    ) -> None:
        """``POST .../prices`` (API v1.1)."""
        self._post("/prices", b.prices(prices, timestamp))

    def heartbeat(self, *, timestamp: Optional[Time] = None) -> None:
        """``POST .../heartbeat`` (API v1.1)."""
        self._post("/heartbeat", b.heartbeat(timestamp))

    # ---- Operator actions ----

    def halt(self, *, operator: str, reason: str) -> Status:
        return Status.from_json(self._post("/halt", b.halt(operator, reason)), self.strategy)

    def request_reset(self, *, operator: str, reason: Optional[str] = None) -> ResetTicket:
        return ResetTicket.from_json(self._post("/reset", b.reset(operator, reason)))

    def confirm_reset(
        self, *, operator: str, confirmation_token: str, rebase_high_water_mark: bool = False
    ) -> Status:
        body = b.confirm(operator, confirmation_token, rebase_high_water_mark)
        return Status.from_json(self._post("/reset/confirm", body))

    # ---- Reading ----

    def status(self) -> Status:
        return Status.from_json(self._request("GET", self._base))

    def audit(self) -> list[AuditEntry]:
        return [AuditEntry.from_json(e) for e in self._request("GET", self._base + "/audit")]

    def events(self) -> ClientEventStream:
        """Control events from now on (subscribed when this returns), on a connection of
        their own."""
        return ClientEventStream(self)

    def on_event(self, callback: Callable[[Event], None]) -> _Subscription:
        """Calls ``callback(event)`` for each control event, from a thread of its own."""
        return _Subscription(self.events(), callback)

    # ---- Lifetime ----

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(url={self.url!r}, strategy={self.strategy!r})"
