"""The API's request bodies, built from keyword arguments: one builder per endpoint, used by
the in-process engine and the sidecar client alike, so both send the engine the same thing.

Money goes as a decimal string (``Decimal`` written out without exponent, ``int`` and ``str``
as they are); anything else (a ``float``) goes as it is, and the API's parser refuses it with
its own message. Time goes as RFC 3339; a ``datetime`` without a time zone is refused here,
since the API cannot tell what it means."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping, Optional, Union

from ._errors import InputError

#: What money may be given as. ``float`` is refused by the engine, as by the API.
Money = Union[Decimal, str, int]
#: What a time may be given as: an aware ``datetime`` or RFC 3339 text.
Time = Union[datetime, str]


def money(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def time(value: Any, field: str = "timestamp") -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError(
                f"{field}: {value.isoformat()} has no time zone: pass an aware datetime, "
                "e.g. datetime.now(timezone.utc)",
                "invalid_body",
                422,
            )
        return value.isoformat()
    return value


def now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _put(body: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        body[key] = value


def order(
    order_id: Any,
    asset: Any,
    side: Any,
    quantity: Any,
    limit_price: Any,
    timestamp: Any,
    time_in_force: Any = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"order_id": order_id, "asset": asset, "side": side}
    _put(body, "quantity", money(quantity))
    _put(body, "limit_price", money(limit_price))
    _put(body, "timestamp", time(timestamp))
    _put(body, "time_in_force", time_in_force)
    return body


def _position(p: Any) -> Any:
    if isinstance(p, Mapping):
        out = dict(p)
    elif all(hasattr(p, k) for k in ("asset", "quantity", "market_price")):
        out = {"asset": p.asset, "quantity": p.quantity, "market_price": p.market_price}
    else:
        return p
    for k in ("quantity", "market_price"):
        if k in out:
            out[k] = money(out[k])
    return out


def snapshot(
    portfolio_value: Any, cash: Any, positions: Optional[Iterable[Any]], timestamp: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"timestamp": time(timestamp) if timestamp is not None else now()}
    _put(body, "portfolio_value", money(portfolio_value))
    _put(body, "cash", money(cash))
    if positions is not None:
        body["positions"] = [_position(p) for p in positions]
    return body


def fill(
    order_id: Any, asset: Any, side: Any, quantity: Any, price: Any, timestamp: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"order_id": order_id, "asset": asset, "side": side}
    _put(body, "quantity", money(quantity))
    _put(body, "price", money(price))
    body["timestamp"] = time(timestamp) if timestamp is not None else now()
    return body


def error(kind: Any, message: Any, order_id: Any, timestamp: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "message": message}
    _put(body, "order_id", order_id)
    _put(body, "timestamp", time(timestamp))
    return body


def done(status: Any, timestamp: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status}
    _put(body, "timestamp", time(timestamp))
    return body


def prices(prices: Any, timestamp: Any) -> dict[str, Any]:
    if isinstance(prices, Mapping):
        items = [{"asset": a, "price": money(p)} for a, p in prices.items()]
    else:
        items = []
        for p in prices:
            if isinstance(p, Mapping):
                q = dict(p)
                if "price" in q:
                    q["price"] = money(q["price"])
                items.append(q)
            else:
                items.append(p)
    return {"timestamp": time(timestamp) if timestamp is not None else now(), "prices": items}


def heartbeat(timestamp: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    _put(body, "timestamp", time(timestamp))
    return body


def halt(operator: Any, reason: Any) -> dict[str, Any]:
    return {"operator": operator, "reason": reason}


def reset(operator: Any, reason: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"operator": operator}
    _put(body, "reason", reason)
    return body


def confirm(operator: Any, confirmation_token: Any, rebase_high_water_mark: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"operator": operator, "confirmation_token": confirmation_token}
    if rebase_high_water_mark:
        body["rebase_high_water_mark"] = True
    return body
