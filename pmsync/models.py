"""Typed, immutable models of every payload of the API (docs/protocol.md, Responses).

Frozen, slotted attrs classes. Field names are the snake_case wire names. Every
field is optional on the wire, so every field defaults to ``None`` (lists to
``()``). Money and quantities are :class:`~decimal.Decimal`; timestamps are
timezone-aware :class:`~datetime.datetime`; an enum field holds the enum member,
or the raw ``int``/``str`` when the value is unknown to this version. Every
model's ``extra`` (an :class:`~pmsync.extra.Extra`) keeps the fields the server
sent that this version does not model, by snake_case name.

The models are built by :mod:`pmsync.codec`; users only read them. The RFQ
models are in :mod:`pmsync.rfq` and the market metadata in
:mod:`pmsync.metadata`; both are importable from here too.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from .enums import (
    ComboLegState,
    ExecutionType,
    LedgerEntryType,
    MarketState,
    MarketSubscriptionType,
    OrderIntent,
    OrderSide,
    OrderState,
    OrderType,
    OutcomeSide,
    PrivateSubscriptionType,
    TimeInForce,
)
from .extra import Extra, extra_field
from .metadata import MarketMetadata as MarketMetadata
from .metadata import ResolvedColor as ResolvedColor
from .metadata import Subject as Subject
from .metadata import Team as Team
from .metadata import TeamProvider as TeamProvider
from .rfq import Quote as Quote
from .rfq import Rfq as Rfq
from .rfq import RfqComboLeg as RfqComboLeg
from .rfq import RfqEvent as RfqEvent
from .rfq import RfqTrade as RfqTrade

__all__ = [
    "Amount",
    "Balance",
    "BalanceChange",
    "BalanceSnapshot",
    "BalanceUpdate",
    "BookLevel",
    "ComboLegDetail",
    "ComboSettlement",
    "ErrorResponse",
    "Execution",
    "Heartbeat",
    "MarketData",
    "MarketDataLite",
    "MarketStats",
    "Order",
    "OrderSnapshot",
    "OrderUpdate",
    "PendingWithdrawal",
    "Position",
    "PositionSnapshot",
    "PositionUpdate",
    "Trade",
    "TradeSide",
]

@attrs.frozen(slots=True, kw_only=True)
class Amount:
    """A money amount: exact ``value`` and its ``currency`` (``"USD"``)."""

    value: Decimal
    currency: str | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class BookLevel:
    """One price level of an order book."""

    px: Amount | None = None
    qty: Decimal | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class MarketStats:
    """Daily statistics of a market."""

    last_trade_px: Amount | None = None
    shares_traded: Decimal | None = None
    open_interest: Decimal | None = None
    high_px: Amount | None = None
    low_px: Amount | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class MarketData:
    """Full order book of one market (``market_data``); bids and offers best first."""

    market_slug: str | None = None
    bids: tuple[BookLevel, ...] = ()
    offers: tuple[BookLevel, ...] = ()
    state: MarketState | int | str | None = None
    stats: MarketStats | None = None
    transact_time: datetime | None = None
    extra: Extra = extra_field()

    @property
    def best_bid(self) -> Decimal | None:
        """Price of the best bid, or ``None``."""
        return _level_px(self.bids)

    @property
    def best_ask(self) -> Decimal | None:
        """Price of the best offer, or ``None``."""
        return _level_px(self.offers)


def _level_px(levels: tuple[BookLevel, ...]) -> Decimal | None:
    if levels and levels[0].px is not None:
        return levels[0].px.value
    return None


@attrs.frozen(slots=True, kw_only=True)
class MarketDataLite:
    """Light price data of one market (``market_data_lite``)."""

    market_slug: str | None = None
    current_px: Amount | None = None
    last_trade_px: Amount | None = None
    best_bid: Amount | None = None
    best_ask: Amount | None = None
    bid_depth: int | None = None
    ask_depth: int | None = None
    shares_traded: Decimal | None = None
    open_interest: Decimal | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class TradeSide:
    """One side (maker or taker) of a trade print."""

    side: OrderSide | int | str | None = None
    intent: OrderIntent | int | str | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class Trade:
    """A trade print (``trade``)."""

    market_slug: str | None = None
    price: Amount | None = None
    quantity: Amount | None = None
    trade_time: datetime | None = None
    maker: TradeSide | None = None
    taker: TradeSide | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class ComboSettlement:
    """How one leg of a combo settled."""

    settlement_price: Amount | None = None
    settlement_set_time: datetime | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class ComboLegDetail:
    """Display data of one leg of a combo position."""

    slug: str | None = None
    icon: str | None = None
    title: str | None = None
    outcome: str | None = None
    event_slug: str | None = None
    team_id: int | None = None
    team: Team | None = None
    subject: Subject | None = None
    event_id: str | None = None
    outcome_side: OutcomeSide | int | str | None = None
    event_group_title: str | None = None
    event_start_time: datetime | None = None
    live: bool | None = None
    indicative_price: Amount | None = None
    settlement: ComboSettlement | None = None
    state: ComboLegState | int | str | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class Order:
    """An order of the account (possibly partial inside an execution)."""

    id: str | None = None
    market_slug: str | None = None
    side: OrderSide | int | str | None = None
    type: OrderType | int | str | None = None
    price: Amount | None = None
    quantity: Decimal | None = None
    cum_quantity: Decimal | None = None
    leaves_quantity: Decimal | None = None
    tif: TimeInForce | int | str | None = None
    good_till_time: datetime | None = None
    intent: OrderIntent | int | str | None = None
    market_metadata: MarketMetadata | None = None
    state: OrderState | int | str | None = None
    avg_px: Amount | None = None
    cash_order_qty: Amount | None = None
    insert_time: datetime | None = None
    create_time: datetime | None = None
    commission_notional_total_collected: Amount | None = None
    commissions_basis_points: Decimal | None = None
    maker_commissions_basis_points: Decimal | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class Execution:
    """An execution report on an order."""

    id: str | None = None
    order: Order | None = None
    last_shares: Decimal | None = None
    last_px: Amount | None = None
    type: ExecutionType | int | str | None = None
    text: str | None = None
    order_reject_reason: str | None = None
    transact_time: datetime | None = None
    trade_id: str | None = None
    aggressor: bool | None = None
    commission_notional_collected: Amount | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class OrderSnapshot:
    """A page of the open-orders snapshot; ``eof`` is true on the last page."""

    orders: tuple[Order, ...] = ()
    eof: bool | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class OrderUpdate:
    """An order update: one execution."""

    execution: Execution | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class Position:
    """A position in one market. Prefer the ``*_decimal`` counts when present."""

    net_position: Decimal | None = None
    qty_bought: Decimal | None = None
    qty_sold: Decimal | None = None
    cost: Amount | None = None
    realized: Amount | None = None
    bod_position: Decimal | None = None
    expired: bool | None = None
    update_time: datetime | None = None
    market_metadata: MarketMetadata | None = None
    cash_value: Amount | None = None
    qty_available: Decimal | None = None
    avg_px: Amount | None = None
    fees: Amount | None = None
    base_cost: Amount | None = None
    cost_per_share: Amount | None = None
    net_position_decimal: Decimal | None = None
    qty_bought_decimal: Decimal | None = None
    qty_sold_decimal: Decimal | None = None
    bod_position_decimal: Decimal | None = None
    qty_available_decimal: Decimal | None = None
    combo_leg_details: tuple[ComboLegDetail, ...] = ()
    position_id: str | None = None
    extra: Extra = extra_field()

    @property
    def net(self) -> Decimal | None:
        """The net position, exact: ``net_position_decimal`` if present, else ``net_position``."""
        return self.net_position_decimal if self.net_position_decimal is not None else self.net_position


@attrs.frozen(slots=True, kw_only=True)
class PositionUpdate:
    """A position change (``position_subscription``).

    The legacy shape (``position_subscription_update``) carries ``market_slug``
    and ``position`` only; ``after_position`` is then that position too.
    """

    before_position: Position | None = None
    after_position: Position | None = None
    update_time: datetime | None = None
    entry_type: LedgerEntryType | int | str | None = None
    trade_id: str | None = None
    reference_id: str | None = None
    description: str | None = None
    allocation_group_id: str | None = None
    transfer_reference_trade_ids: tuple[str, ...] = ()
    short_transfer: bool | None = None
    update_trade_date: datetime | None = None
    market_slug: str | None = None
    position: Position | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class PositionSnapshot:
    """Legacy position snapshot: positions by market slug; ``eof`` on the last page."""

    positions: dict[str, Position] = attrs.field(factory=dict)
    eof: bool | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class PendingWithdrawal:
    """A withdrawal not yet settled."""

    id: str | None = None
    name: str | None = None
    balance: Decimal | None = None
    description: str | None = None
    acknowledged: bool | None = None
    bank_id: str | None = None
    creation_time: datetime | None = None
    destination_account_name: str | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class Balance:
    """An account balance in one currency."""

    current_balance: Decimal | None = None
    currency: str | None = None
    last_updated: datetime | None = None
    buying_power: Decimal | None = None
    asset_notional: Decimal | None = None
    asset_available: Decimal | None = None
    pending_credit: Decimal | None = None
    open_orders: Decimal | None = None
    unsettled_funds: Decimal | None = None
    pending_withdrawals: tuple[PendingWithdrawal, ...] = ()
    margin_requirement: Decimal | None = None
    balance_reservation: Decimal | None = None
    deposit_reservation: Decimal | None = None
    bonus_reservation: Decimal | None = None
    displayed_bonus: Decimal | None = None
    displayed_available_soon: Decimal | None = None
    displayed_cash: Decimal | None = None
    available_to_withdraw: Decimal | None = None
    bonus_hold: Decimal | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class BalanceSnapshot:
    """The account's balances (``account_balances_snapshot``).

    The legacy shape (``account_balance_subscription_snapshot``) carries
    ``balance`` and ``buying_power`` only; ``balances`` then holds one
    :class:`Balance` made of them.
    """

    balances: tuple[Balance, ...] = ()
    balance: Decimal | None = None
    buying_power: Decimal | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class BalanceChange:
    """One balance change: before, after, and why."""

    before_balance: Balance | None = None
    after_balance: Balance | None = None
    description: str | None = None
    update_time: datetime | None = None
    entry_type: LedgerEntryType | int | str | None = None
    modified_security_id: str | None = None
    account_name: str | None = None
    id: str | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class BalanceUpdate:
    """A balance update (``account_balances_update``).

    The legacy shapes (``account_balance_subscription_update``,
    ``account_balance_update``) carry ``balance`` and ``buying_power`` only;
    ``balance_change.after_balance`` is then a :class:`Balance` made of them.
    """

    balance_change: BalanceChange | None = None
    balance: Decimal | None = None
    buying_power: Decimal | None = None
    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class Heartbeat:
    """A server heartbeat; it has no content."""

    extra: Extra = extra_field()


@attrs.frozen(slots=True, kw_only=True)
class ErrorResponse:
    """An error from the server, usually about one subscription."""

    error: str
    request_id: str | None = None
    subscription_type: PrivateSubscriptionType | MarketSubscriptionType | int | str | None = None
    extra: Extra = extra_field()
