"""rustybt live: circuit breakers between a Python trading strategy and its broker.

Two ways to run the engine, one API:

- ``Engine.from_config(path, strategy=...)``: the engine in this process (Rust, on a thread
  of its own; the GIL is released while it works).
- ``Client(url, token=..., strategy=...)``: a ``rustybt live run`` sidecar over HTTP.

Both have the same methods (named as the HTTP API's actions, keyword arguments named as its
JSON fields), return the same types and raise the same exceptions, so a strategy written
against one runs against the other. See ``docs/python.md``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Protocol, Union

from ._bodies import Money, Time
from ._engine import Engine, EventStream, Subscription
from ._errors import (
    AuthError,
    ClosedError,
    ConfigError,
    ConflictError,
    InputError,
    NotFoundError,
    RustybtError,
    UnavailableError,
)
from ._types import (
    ACCEPTED,
    AuditEntry,
    Breaker,
    Event,
    OpenOrder,
    OrderDecision,
    Portfolio,
    Position,
    ResetTicket,
    State,
    Status,
)
from .client import Client, ClientEventStream

__version__ = "0.1.0"


class Guard(Protocol):
    """What ``Engine`` and ``Client`` both are: type a strategy's engine parameter with it to
    run the strategy against either."""

    def check_order(
        self,
        *,
        order_id: str,
        asset: str,
        side: str,
        quantity: Money,
        limit_price: Optional[Money] = ...,
        timestamp: Optional[Time] = ...,
        time_in_force: Optional[str] = ...,
    ) -> OrderDecision: ...

    def submit_snapshot(
        self,
        *,
        portfolio_value: Money,
        positions: Optional[Iterable[Any]] = ...,
        cash: Optional[Money] = ...,
        timestamp: Optional[Time] = ...,
    ) -> None: ...

    def report_fill(
        self,
        *,
        order_id: str,
        asset: str,
        side: str,
        quantity: Money,
        price: Money,
        timestamp: Optional[Time] = ...,
    ) -> None: ...

    def report_error(
        self,
        *,
        kind: str,
        message: str,
        order_id: Optional[str] = ...,
        timestamp: Optional[Time] = ...,
    ) -> None: ...

    def order_done(self, *, order_id: str, status: str, timestamp: Optional[Time] = ...) -> None: ...

    def post_prices(
        self,
        *,
        prices: Union[Mapping[str, Money], Iterable[Mapping[str, Any]]],
        timestamp: Optional[Time] = ...,
    ) -> None: ...

    def heartbeat(self, *, timestamp: Optional[Time] = ...) -> None: ...

    def halt(self, *, operator: str, reason: str) -> Status: ...

    def request_reset(self, *, operator: str, reason: Optional[str] = ...) -> ResetTicket: ...

    def confirm_reset(
        self, *, operator: str, confirmation_token: str, rebase_high_water_mark: bool = ...
    ) -> Status: ...

    def status(self) -> Status: ...

    def audit(self) -> list[AuditEntry]: ...

    def close(self) -> None: ...


__all__ = [
    "Engine",
    "Client",
    "Guard",
    "EventStream",
    "ClientEventStream",
    "Subscription",
    "OrderDecision",
    "ACCEPTED",
    "Status",
    "Breaker",
    "Portfolio",
    "Position",
    "OpenOrder",
    "ResetTicket",
    "AuditEntry",
    "Event",
    "State",
    "Money",
    "Time",
    "RustybtError",
    "InputError",
    "ConfigError",
    "ConflictError",
    "NotFoundError",
    "AuthError",
    "UnavailableError",
    "ClosedError",
]
