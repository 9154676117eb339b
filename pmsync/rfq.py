"""Typed models of the RFQ events of the private stream (``rfq_event``).

Field names are the snake_case wire names; every field is optional on the wire.
Prices and quantities are :class:`~decimal.Decimal` (decimal strings on the
wire, not Amount objects); times are aware :class:`~datetime.datetime`; enum
fields hold the member, or the raw value when it is unknown. ``extra`` keeps
the fields this version does not model (see :mod:`pmsync.extra`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from .enums import QuoteStatus, RfqSide, RfqStatus
from .extra import Extra, extra_field

__all__ = ["Quote", "Rfq", "RfqComboLeg", "RfqEvent", "RfqTrade"]


@attrs.frozen(slots=True, kw_only=True)
class RfqComboLeg:
    """One leg of the combo market an RFQ is for."""

    symbol: str | None = None
    side: RfqSide | int | str | None = None
    settlement_price: Decimal | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class Rfq:
    """A request for quote."""

    id: str | None = None
    symbol: str | None = None
    rfq_creator_user_id: str | None = None
    created_time: datetime | None = None
    rest_remainder: bool | None = None
    status: RfqStatus | int | str | None = None
    updated_time: datetime | None = None
    combo_legs: tuple[RfqComboLeg, ...] = ()
    qty_decimal: Decimal | None = None
    cash_order_qty: Decimal | None = None
    tick_size: Decimal | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class Quote:
    """A quote answering an RFQ, with its lifecycle times."""

    id: str | None = None
    rfq_id: str | None = None
    creator_rfq_user_id: str | None = None
    symbol: str | None = None
    status: QuoteStatus | int | str | None = None
    created_time: datetime | None = None
    buy_price: Decimal | None = None
    sell_price: Decimal | None = None
    rest_remainder: bool | None = None
    post_only: bool | None = None
    rfq_creator_user_id: str | None = None
    buy_qty_decimal: Decimal | None = None
    sell_qty_decimal: Decimal | None = None
    updated_time: datetime | None = None
    accepted_side: RfqSide | int | str | None = None
    accepted_time: datetime | None = None
    confirmed_time: datetime | None = None
    confirmation_deadline: datetime | None = None
    execution_deadline: datetime | None = None
    executed_time: datetime | None = None
    rfq_cash_order_qty: Decimal | None = None
    rfq_creator_order_id: str | None = None
    creator_order_id: str | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class RfqTrade:
    """An anonymous RFQ trade print; ``price`` and ``qty_decimal`` are plain decimals."""

    trade_id: str | None = None
    symbol: str | None = None
    price: Decimal | None = None
    qty_decimal: Decimal | None = None
    aggressor_side: RfqSide | int | str | None = None
    executed_time: datetime | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class RfqEvent:
    """An RFQ lifecycle event. ``variant`` is the wire name (``"rfq_created"`` …).

    ``rfq``, ``quote`` or ``trade`` holds the variant's object, with the
    variant's other fields beside it; ``extra`` keeps every field of the
    variant this version does not model (snake_case keys). A variant unknown to
    this version keeps its whole content in ``extra``.
    """

    variant: str
    rfq: Rfq | None = None
    quote: Quote | None = None
    trade: RfqTrade | None = None
    confirmation_deadline: datetime | None = None
    execution_deadline: datetime | None = None
    order_id: str | None = None
    client_order_id: str | None = None
    executed_time: datetime | None = None
    extra: Extra = extra_field()
