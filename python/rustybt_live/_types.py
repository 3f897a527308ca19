"""The results of the API, as typed values: built from the API's JSON, the same way for the
in-process engine and the sidecar client. Money is ``decimal.Decimal``, time an aware
``datetime``, states and breakers the API's names (``"TRIPPED"``, ``"order_rate"``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, Optional

# The JSON shapes and the names of states, breakers and checks come from the Rust types
# (`rustybt-api`), generated; only the typed values below are written by hand.
from ._types_generated import (
    BreakerJson,
    OpenOrderJson,
    PositionJson,
    State,
)

_FRACTION = re.compile(r"(\.\d{6})\d+")


def _time(text: Any) -> Optional[datetime]:
    """An RFC 3339 time from the API (nanoseconds cut to microseconds)."""
    if text is None:
        return None
    s = str(text)
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    return datetime.fromisoformat(_FRACTION.sub(r"\1", s))


def _dec(text: Any) -> Optional[Decimal]:
    return None if text is None else Decimal(str(text))


@dataclass(frozen=True, slots=True)
class OrderDecision:
    """The order gate's answer. A rejection is not an error: the call succeeded, the order
    did not. ``state`` is the state the gate judged a rejection against (``None`` when
    accepted, as in the API's answer); ``breaker`` the breaker that enforced it, if one did;
    ``check`` the pre-trade check that denied it (with ``limit`` and ``value``), if one did."""

    accepted: bool
    reason: Optional[str] = None
    state: Optional[str] = None
    breaker: Optional[str] = None
    check: Optional[str] = None
    limit: Optional[Decimal] = None
    value: Optional[Decimal] = None

    @classmethod
    def _from_wire(
        cls,
        accepted: bool,
        reason: Optional[str],
        state: Optional[str],
        breaker: Optional[str],
        check: Optional[str],
        limit: Optional[str],
        value: Optional[str],
    ) -> "OrderDecision":
        return cls(accepted, reason, state, breaker, check, _dec(limit), _dec(value))

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "OrderDecision":
        """From the body of ``POST .../orders``'s answer."""
        if d.get("decision") == "accepted":
            return ACCEPTED
        return cls._from_wire(
            False,
            d.get("reason"),
            d.get("state"),
            d.get("breaker"),
            d.get("check"),
            d.get("limit"),
            d.get("value"),
        )


#: The one accepted decision (the API's ``{"decision": "accepted"}`` carries nothing else).
ACCEPTED = OrderDecision(True)


@dataclass(frozen=True, slots=True)
class Breaker:
    """One breaker in the status."""

    type: str
    status: str
    enabled: bool = True
    ready: bool = True
    value: Optional[Decimal] = None
    limit: Optional[Decimal] = None
    tripped_at: Optional[datetime] = None
    details: dict[str, str] = field(default_factory=dict)

    @property
    def tripped(self) -> bool:
        return self.status == "tripped"

    @classmethod
    def from_json(cls, d: BreakerJson) -> "Breaker":
        return cls(
            type=d["type"],
            status=d["status"],
            enabled=d.get("enabled", True),
            ready=d.get("ready", True),
            value=_dec(d.get("value")),
            limit=_dec(d.get("limit")),
            tripped_at=_time(d.get("tripped_at")),
            details=dict(d.get("details") or {}),
        )


@dataclass(frozen=True, slots=True)
class Position:
    """A holding of the last snapshot."""

    asset: str
    quantity: Decimal
    market_price: Decimal
    market_value: Optional[Decimal] = None

    @classmethod
    def from_json(cls, d: PositionJson) -> "Position":
        return cls(
            asset=d["asset"],
            quantity=Decimal(d["quantity"]),
            market_price=Decimal(d["market_price"]),
            market_value=_dec(d.get("market_value")),
        )


@dataclass(frozen=True, slots=True)
class Portfolio:
    """The last snapshot and the figures the breakers derive from it."""

    value: Optional[Decimal] = None
    cash: Optional[Decimal] = None
    high_water_mark: Optional[Decimal] = None
    drawdown: Optional[Decimal] = None
    daily_pnl: Optional[Decimal] = None
    gross_exposure: Optional[Decimal] = None
    positions: tuple[Position, ...] = ()
    as_of: Optional[datetime] = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Portfolio":
        return cls(
            value=_dec(d.get("value")),
            cash=_dec(d.get("cash")),
            high_water_mark=_dec(d.get("high_water_mark")),
            drawdown=_dec(d.get("drawdown")),
            daily_pnl=_dec(d.get("daily_pnl")),
            gross_exposure=_dec(d.get("gross_exposure")),
            positions=tuple(Position.from_json(p) for p in d.get("positions") or ()),
            as_of=_time(d.get("as_of")),
        )


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An accepted order neither fully filled nor done (API v1.1)."""

    order_id: str
    asset: str
    side: str
    quantity: Decimal
    filled: Decimal
    limit_price: Optional[Decimal] = None
    since: Optional[datetime] = None

    @classmethod
    def from_json(cls, d: OpenOrderJson) -> "OpenOrder":
        return cls(
            order_id=d["order_id"],
            asset=d["asset"],
            side=d["side"],
            quantity=Decimal(d["quantity"]),
            filled=Decimal(d.get("filled") or "0"),
            limit_price=_dec(d.get("limit_price")),
            since=_time(d.get("since")),
        )


@dataclass(frozen=True, slots=True)
class Status:
    """One strategy's status (``GET /api/v1/strategies/{name}``). ``raw`` is the API's JSON,
    every field of it, for what has no attribute here."""

    name: str
    state: str
    since: Optional[datetime]
    reason: Optional[str] = None
    breakers: tuple[Breaker, ...] = ()
    portfolio: Portfolio = field(default_factory=Portfolio)
    open_orders: tuple[OpenOrder, ...] = ()
    orders_accepted: int = 0
    orders_rejected: dict[str, int] = field(default_factory=dict)
    pending_reset_expires_at: Optional[datetime] = None
    already_halted: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def breaker(self, kind: str) -> Optional[Breaker]:
        """The breaker of that type (``"drawdown"``, ``"order_rate"``...), if listed."""
        for b in self.breakers:
            if b.type == kind:
                return b
        return None

    @classmethod
    def from_json(cls, d: Mapping[str, Any], name: str = "") -> "Status":
        """From a status, a halt's answer or a reset confirmation's answer."""
        pending = d.get("pending_reset") or {}
        return cls(
            name=d.get("name", name),
            state=d["state"],
            since=_time(d.get("since")),
            reason=d.get("reason"),
            breakers=tuple(Breaker.from_json(b) for b in d.get("breakers") or ()),
            portfolio=Portfolio.from_json(d.get("portfolio") or {}),
            open_orders=tuple(OpenOrder.from_json(o) for o in d.get("open_orders") or ()),
            orders_accepted=int(d.get("orders_accepted") or 0),
            orders_rejected=dict(d.get("orders_rejected") or {}),
            pending_reset_expires_at=_time(pending.get("expires_at")),
            already_halted=bool(d.get("already_halted", False)),
            raw=dict(d),
        )


@dataclass(frozen=True, slots=True)
class ResetTicket:
    """The answer to a reset request: hand ``confirmation_token`` to ``confirm_reset``."""

    state: str
    confirmation_token: str = field(repr=False)
    expires_at: Optional[datetime]

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "ResetTicket":
        return cls(
            state=d["state"],
            confirmation_token=d["confirmation_token"],
            expires_at=_time(d.get("expires_at")),
        )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit trail: a transition, why and who."""

    seq: int
    at: Optional[datetime]
    from_state: str
    to_state: str
    cause: str
    operator: Optional[str] = None
    details: Any = None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "AuditEntry":
        return cls(
            seq=int(d.get("seq") or 0),
            at=_time(d.get("at")),
            from_state=d["from"],
            to_state=d["to"],
            cause=d["cause"],
            operator=d.get("operator"),
            details=d.get("details"),
        )


@dataclass(frozen=True, slots=True)
class Event:
    """A control event: ``kind`` is the API's event name (``state_changed``,
    ``circuit_breaker_tripped``, ``manual_halt``, ``reset_requested``, ``reset_confirmed``,
    ``breaker_cleared``, ``cancel_all_orders`` with the open orders to cancel in
    ``data["open_orders"]``, ``order_expired`` with the expired day order's ``data["order_id"]``). ``state`` is the new state of a ``state_changed``; ``breaker`` the
    breaker of a trip or clear; ``data`` the event's JSON, every field of it."""

    kind: str
    strategy: str
    at: Optional[datetime] = None
    state: Optional[str] = None
    from_state: Optional[str] = None
    breaker: Optional[str] = None
    cause: Optional[str] = None
    operator: Optional[str] = None
    reason: Optional[str] = None
    data: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Event":
        kind = d.get("event", "")
        transition = d.get("transition") or {}
        trip = d.get("trip") or {}
        at = transition.get("at") or trip.get("at") or d.get("at")
        return cls(
            kind=kind,
            strategy=d.get("strategy", ""),
            at=_time(at),
            state=transition.get("to"),
            from_state=transition.get("from"),
            breaker=trip.get("breaker") or d.get("breaker"),
            cause=transition.get("cause"),
            operator=transition.get("operator") or d.get("operator"),
            reason=trip.get("summary") or d.get("reason"),
            data=dict(d),
        )


__all__ = [
    "State",
    "OrderDecision",
    "ACCEPTED",
    "Breaker",
    "Position",
    "Portfolio",
    "OpenOrder",
    "Status",
    "ResetTicket",
    "AuditEntry",
    "Event",
]
