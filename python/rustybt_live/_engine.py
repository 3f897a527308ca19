"""The engine in this process: ``Engine.from_config(path, strategy=...)``."""

from __future__ import annotations

import json
import os
import threading
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Union

from . import _bodies as b
from . import _native
from ._bodies import Money, Time
from ._types import AuditEntry, Event, OrderDecision, ResetTicket, Status

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class EventStream:
    """Control events (state changes, trips, halts, resets, clears) from the moment it was
    made, in order, none dropped. Iterate it (blocks until the next event; ends when the
    engine or the stream is closed), or poll it with ``get(timeout)``."""

    def __init__(self, native: Any, poll: float = 0.2) -> None:
        self._n = native
        self._poll = poll

    def get(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next event, or ``None`` after ``timeout`` seconds (or once the stream ended)."""
        if timeout is None:
            for event in self:
                return event
            return None
        ended, data = self._n.next(timeout)
        return None if ended or data is None else Event.from_json(json.loads(data))

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        # Short waits, so that Ctrl-C reaches the Python thread between them.
        while True:
            ended, data = self._n.next(self._poll)
            if ended:
                raise StopIteration
            if data is not None:
                return Event.from_json(json.loads(data))

    def close(self) -> None:
        self._n.close()

    def __enter__(self) -> "EventStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Subscription:
    """A callback fed from a thread of its own; ``close()`` stops it."""

    def __init__(self, stream: Any, callback: Callable[[Any], None], name: str) -> None:
        self._stream = stream
        self._thread = threading.Thread(target=self._run, args=(callback,), name=name, daemon=True)
        self._thread.start()

    def _run(self, callback: Callable[[Any], None]) -> None:
        for event in self._stream:
            callback(event)

    def close(self, timeout: Optional[float] = 5.0) -> None:
        self._stream.close()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)


class Engine:
    """One strategy's circuit-breaker engine, running in this process on a thread of its own:
    the same engine, configuration, sled checkpoint and alert channels as ``rustybt live run``.

    Every method is named as the HTTP API's action and takes the API's JSON fields as keyword
    arguments. The GIL is released while the engine works, so other Python threads run.
    Close it (or use it as a context manager) to flush the checkpoint and free the folder.
    """

    def __init__(self, native: Any) -> None:
        self._n = native
        self._check = native.check_order

    @classmethod
    def from_config(cls, path: Union[str, "os.PathLike[str]"], strategy: Optional[str] = None) -> "Engine":
        """Loads the TOML configuration as ``live run`` does (``../shared/CONFIG.md``, secrets
        from the environment or ``.env``) and starts the engine of ``strategy`` (optional when
        the file has one). Raises ``ConfigError`` naming every problem."""
        return cls(_native.Engine.from_config(os.fspath(path), strategy))

    @property
    def strategy(self) -> str:
        """The strategy's name."""
        return str(self._n.name)

    @property
    def data_dir(self) -> str:
        """The checkpoint folder."""
        return str(self._n.data_dir)

    @property
    def closed(self) -> bool:
        return bool(self._n.closed)

    @property
    def state(self) -> str:
        """The state orders are judged against now, read without a message (in-process only)."""
        return str(self._n.state())

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
        """The order gate: decided in this thread, counted by the order-rate breaker.
        ``timestamp`` defaults to the engine's clock. ``time_in_force``: ``"day"`` (the
        default: closed as expired at its session's close) or ``"gtc"``."""
        decision = None
        if time_in_force is None:
            decision = self._check(order_id, asset, side, quantity, limit_price, timestamp)
        if decision is None:
            # A field the fast path does not read as is: the API's parser says what it is.
            decision = self._n.check_order_body(
                _dumps(
                    b.order(
                        order_id, asset, side, quantity, limit_price, timestamp, time_in_force
                    )
                )
            )
        return decision  # type: ignore[no-any-return]

    def submit_snapshot(
        self,
        *,
        portfolio_value: Money,
        positions: Optional[Iterable[Any]] = None,
        cash: Optional[Money] = None,
        timestamp: Optional[Time] = None,
    ) -> None:
        """A portfolio snapshot; returns once every portfolio breaker has judged it (a trip it
        caused refuses orders from then on). ``positions``: mappings (or objects) with
        ``asset``, ``quantity``, ``market_price``. ``timestamp`` defaults to now."""
        self._n.submit_snapshot(_dumps(b.snapshot(portfolio_value, cash, positions, timestamp)))

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
        """A fill of an order (``timestamp`` defaults to now)."""
        self._n.report_fill(_dumps(b.fill(order_id, asset, side, quantity, price, timestamp)))

    def report_error(
        self,
        *,
        kind: str,
        message: str,
        order_id: Optional[str] = None,
        timestamp: Optional[Time] = None,
    ) -> None:
        """An error: ``kind`` is ``order_rejected``, ``broker_error`` or ``data_error``. Returns
        once the error-rate breaker has judged it."""
        self._n.report_error(_dumps(b.error(kind, message, order_id, timestamp)))

    def order_done(self, *, order_id: str, status: str, timestamp: Optional[Time] = None) -> None:
        """Closes an accepted order: ``status`` is ``cancelled``, ``expired`` or ``rejected``
        (API v1.1). An id the gate never accepted raises ``NotFoundError``."""
        self._n.order_done(order_id, _dumps(b.done(status, timestamp)))

    def post_prices(
        self,
        *,
        prices: Union[Mapping[str, Money], Iterable[Mapping[str, Any]]],
        timestamp: Optional[Time] = None,
    ) -> None:
        """Reference prices: ``{"AAPL": Decimal("170.10")}`` or ``[{"asset", "price"}]``
        (API v1.1): the reference prices of the pre-trade checks."""
        self._n.post_prices(_dumps(b.prices(prices, timestamp)))

    def heartbeat(self, *, timestamp: Optional[Time] = None) -> None:
        """The host is alive: restarts the dead-man's switch's timer (API v1.1)."""
        self._n.heartbeat(_dumps(b.heartbeat(timestamp)))

    # ---- Operator actions ----

    def halt(self, *, operator: str, reason: str) -> Status:
        """Emergency stop: every order refused, durable when it returns. The status after it
        (``already_halted`` when it was halted before)."""
        return Status.from_json(json.loads(self._n.halt(_dumps(b.halt(operator, reason)))), self.strategy)

    def request_reset(self, *, operator: str, reason: Optional[str] = None) -> ResetTicket:
        """First step of a reset: the state goes RESETTING; ``ConflictError`` from NORMAL."""
        return ResetTicket.from_json(json.loads(self._n.request_reset(_dumps(b.reset(operator, reason)))))

    def confirm_reset(
        self, *, operator: str, confirmation_token: str, rebase_high_water_mark: bool = False
    ) -> Status:
        """Second step: ``ConflictError`` on a wrong or expired token (nothing changes)."""
        body = b.confirm(operator, confirmation_token, rebase_high_water_mark)
        return Status.from_json(json.loads(self._n.confirm_reset(_dumps(body))))

    # ---- Reading ----

    def status(self) -> Status:
        return Status.from_json(json.loads(self._n.status()))

    def audit(self) -> list[AuditEntry]:
        """The audit trail, oldest first."""
        return [AuditEntry.from_json(e) for e in json.loads(self._n.audit())]

    def events(self) -> EventStream:
        """Control events from now on (subscribed when this returns)."""
        return EventStream(self._n.subscribe())

    def on_event(self, callback: Callable[[Event], None]) -> Subscription:
        """Calls ``callback(event)`` for each control event, from a thread of its own."""
        return Subscription(self.events(), callback, f"rustybt-events-{self.strategy}")

    # ---- Lifetime ----

    def close(self) -> None:
        """Flushes the checkpoint and stops the engine; the sled folder is free afterwards."""
        self._n.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else self.state
        return f"Engine(strategy={self.strategy!r}, state={state!r}, data_dir={self.data_dir!r})"
