"""The API's JSON shapes, generated from the Rust crate `rustybt-api` by
`cargo run -p rustybt-api --example python_types`. Do not edit: a Rust test fails when
this file differs from what the generator writes."""

from __future__ import annotations

from typing import Any, Literal, Optional, TypedDict

#: A decimal as the API writes it: a JSON string (``"1234.50"``).
DecimalText = str
#: An RFC 3339 time as the API writes it.
TimeText = str

#: The API's state names.
State = Literal["NORMAL", "TRIPPED", "MANUALLY_HALTED", "RESETTING"]

#: The breakers' names (`type` of a breaker).
BreakerType = Literal["drawdown", "daily_loss", "order_rate", "error_rate", "stale_feed", "pre_trade", "host_silent", "bus", "manual"]

#: A breaker's `status`.
BreakerStatus = Literal["ok", "tripped"]

#: The kinds of a reported error.
ErrorKindName = Literal["order_rejected", "broker_error", "data_error"]

#: The pre-trade checks' names.
PreTradeCheckName = Literal["max_order_quantity", "max_order_notional", "max_position", "max_gross_exposure", "price_collar", "stale_reference_price", "max_open_orders", "duplicate_order_id", "unreconciled"]


class ErrorBodyJson(TypedDict):
    """The JSON of `ErrorBody`."""

    error: str
    message: str


class StrategySummaryJson(TypedDict):
    """The JSON of `StrategySummary`."""

    name: str
    state: State
    since: TimeText
    reason: Optional[str]


class PendingResetJson(TypedDict):
    """The JSON of `PendingResetView`."""

    operator: str
    expires_at: TimeText


class _BreakerJsonRequired(TypedDict):
    type: BreakerType
    status: BreakerStatus
    enabled: bool
    ready: bool
    details: dict[str, str]


class BreakerJson(_BreakerJsonRequired, total=False):
    """The JSON of `BreakerView`."""

    value: DecimalText
    limit: DecimalText
    tripped_at: TimeText


class PositionJson(TypedDict):
    """The JSON of `PositionView`."""

    asset: str
    quantity: DecimalText
    market_price: DecimalText
    market_value: Optional[DecimalText]


class _PortfolioJsonRequired(TypedDict):
    value: Optional[DecimalText]
    cash: Optional[DecimalText]
    high_water_mark: Optional[DecimalText]
    drawdown: Optional[DecimalText]
    daily_pnl: Optional[DecimalText]
    positions: list[PositionJson]
    as_of: Optional[TimeText]
    gross_exposure: Optional[DecimalText]
    history: list[tuple[TimeText, DecimalText]]
    snapshots_accepted: int
    snapshots_refused: int


class PortfolioJson(_PortfolioJsonRequired, total=False):
    """The JSON of `PortfolioView`."""

    last_refusal: str


class _OpenOrderJsonRequired(TypedDict):
    order_id: str
    asset: str
    side: str
    quantity: DecimalText
    filled: DecimalText
    since: TimeText


class OpenOrderJson(_OpenOrderJsonRequired, total=False):
    """The JSON of `rustybt_actors::pretrade::OpenOrder`."""

    limit_price: DecimalText


class _LoggedErrorJsonRequired(TypedDict):
    received_at: TimeText
    kind: ErrorKindName
    message: str


class LoggedErrorJson(_LoggedErrorJsonRequired, total=False):
    """The JSON of `LoggedErrorView`."""

    order_id: str
    timestamp: TimeText


class AlertsJson(TypedDict):
    """The JSON of `AlertsView`."""

    recent: list[dict[str, Any]]
    counts: dict[str, dict[str, int]]
    dropped: int
    in_flight: int
    channels: list[str]


class _StatusJsonRequired(TypedDict):
    name: str
    state: State
    since: TimeText
    breakers: list[BreakerJson]
    actors: list[dict[str, Any]]
    portfolio: PortfolioJson
    recent_orders: list[dict[str, Any]]
    recent_fills: list[dict[str, Any]]
    recent_errors: list[LoggedErrorJson]
    error_totals: dict[str, int]
    orders_accepted: int
    orders_rejected: dict[str, int]
    open_orders: list[OpenOrderJson]
    pre_trade: Optional[dict[str, Any]]
    alerts: AlertsJson


class StatusJson(_StatusJsonRequired, total=False):
    """The JSON of `StrategyStatus`."""

    reason: str
    checkpoint_error: str
    pending_reset: PendingResetJson


__all__ = [
    "DecimalText",
    "TimeText",
    "State",
    "BreakerType",
    "BreakerStatus",
    "ErrorKindName",
    "PreTradeCheckName",
    "ErrorBodyJson",
    "StrategySummaryJson",
    "PendingResetJson",
    "BreakerJson",
    "PositionJson",
    "PortfolioJson",
    "OpenOrderJson",
    "LoggedErrorJson",
    "AlertsJson",
    "StatusJson",
]
