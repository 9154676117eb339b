"""Wire enums (docs/protocol.md, Two spellings; closed sets as in the official SDK).

Every member's value is its wire name (``"ORDER_SIDE_BUY"``); ``.number`` is its
proto number where the reference publishes one, else ``None``. Decoding never fails on
an unknown number or name: :meth:`WireEnum.from_wire` returns the raw value.
"""

from __future__ import annotations

import enum
from typing import Any, Literal, TypeVar

__all__ = [
    "ComboLegState",
    "DataProvider",
    "Endpoint",
    "ExecutionType",
    "ImageDisplayType",
    "LedgerEntryType",
    "MarketState",
    "MarketSubscriptionType",
    "OrderIntent",
    "OrderSide",
    "OrderState",
    "OrderType",
    "OutcomeSide",
    "PrivateSubscriptionType",
    "QuoteStatus",
    "RfqSide",
    "RfqStatus",
    "SubscriptionType",
    "TimeInForce",
    "WireEnum",
    "subscription_type_enum",
]

E = TypeVar("E", bound="WireEnum")

#: The two endpoints, by the short names the API uses in its paths.
Endpoint = Literal["private", "markets"]


class WireEnum(str, enum.Enum):
    """An enum whose value is its wire name and which may know its wire number."""

    number: int | None

    def __new__(cls, wire_name: str, number: int | None = None) -> WireEnum:
        member = str.__new__(cls, wire_name)
        member._value_ = wire_name
        member.number = number
        return member

    def __str__(self) -> str:
        return str(self.value)

    @classmethod
    def from_wire(cls: type[E], value: Any) -> E | int | str:
        """Map a wire name or number to a member; keep an unknown one raw.

        Raises ``TypeError`` for anything that is neither ``int`` nor ``str``.
        """
        # Check the type first: True and 1.0 hash like 1 and would otherwise
        # find the member numbered 1.
        kind = type(value)
        if kind is str or kind is int:  # the common case: exact types
            return cls.__dict__["_wire_table"].get(value, value)  # type: ignore[no-any-return]
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise TypeError(f"{cls.__name__}: expected a name or number, got {value!r}"[:120])
        table: dict[Any, Any] = cls.__dict__["_wire_table"]
        return table.get(value, value)  # type: ignore[no-any-return]

    def wire(self, dialect: str = "snake") -> int | str:
        """The member as sent: its number in the snake dialect when known, else its name."""
        if dialect == "snake" and self.number is not None:
            return self.number
        return str(self.value)


def _index(cls: type[E]) -> type[E]:
    table: dict[Any, Any] = {}
    for member in cls:
        table[member.value] = member
        if member.number is not None:
            table[member.number] = member
    type.__setattr__(cls, "_wire_table", table)
    return cls


@_index
class PrivateSubscriptionType(WireEnum):
    """Subscription types of ``/v1/ws/private``."""

    ORDER = ("SUBSCRIPTION_TYPE_ORDER", 1)
    ORDER_SNAPSHOT = ("SUBSCRIPTION_TYPE_ORDER_SNAPSHOT", 2)
    POSITION = ("SUBSCRIPTION_TYPE_POSITION", 3)
    ACCOUNT_BALANCE = ("SUBSCRIPTION_TYPE_ACCOUNT_BALANCE", 4)
    RFQ = ("SUBSCRIPTION_TYPE_RFQ", None)  # number unknown: always sent by name


@_index
class MarketSubscriptionType(WireEnum):
    """Subscription types of ``/v1/ws/markets`` (numbers overlap with the private ones)."""

    MARKET_DATA = ("SUBSCRIPTION_TYPE_MARKET_DATA", 1)
    MARKET_DATA_LITE = ("SUBSCRIPTION_TYPE_MARKET_DATA_LITE", 2)
    TRADE = ("SUBSCRIPTION_TYPE_TRADE", 3)


#: Either endpoint's subscription type.
SubscriptionType = PrivateSubscriptionType | MarketSubscriptionType


def subscription_type_enum(endpoint: str) -> type[PrivateSubscriptionType] | type[MarketSubscriptionType]:
    """The subscription-type enum of ``endpoint`` (``"private"`` or ``"markets"``)."""
    if endpoint == "private":
        return PrivateSubscriptionType
    if endpoint == "markets":
        return MarketSubscriptionType
    raise ValueError(f"endpoint must be 'private' or 'markets', got {endpoint!r}")


@_index
class OrderSide(WireEnum):
    """Side of an order or trade."""

    BUY = ("ORDER_SIDE_BUY",)
    SELL = ("ORDER_SIDE_SELL",)


@_index
class OrderType(WireEnum):
    """Order type."""

    LIMIT = ("ORDER_TYPE_LIMIT",)
    MARKET = ("ORDER_TYPE_MARKET",)


@_index
class OrderIntent(WireEnum):
    """What an order does to a position."""

    BUY_LONG = ("ORDER_INTENT_BUY_LONG",)
    SELL_LONG = ("ORDER_INTENT_SELL_LONG",)
    BUY_SHORT = ("ORDER_INTENT_BUY_SHORT",)
    SELL_SHORT = ("ORDER_INTENT_SELL_SHORT",)


@_index
class TimeInForce(WireEnum):
    """Order time in force."""

    GOOD_TILL_CANCEL = ("TIME_IN_FORCE_GOOD_TILL_CANCEL",)
    GOOD_TILL_DATE = ("TIME_IN_FORCE_GOOD_TILL_DATE",)
    IMMEDIATE_OR_CANCEL = ("TIME_IN_FORCE_IMMEDIATE_OR_CANCEL",)
    FILL_OR_KILL = ("TIME_IN_FORCE_FILL_OR_KILL",)


@_index
class OrderState(WireEnum):
    """Order lifecycle state."""

    NEW = ("ORDER_STATE_NEW",)
    PENDING_NEW = ("ORDER_STATE_PENDING_NEW",)
    PENDING_REPLACE = ("ORDER_STATE_PENDING_REPLACE",)
    PENDING_CANCEL = ("ORDER_STATE_PENDING_CANCEL",)
    PENDING_RISK = ("ORDER_STATE_PENDING_RISK",)
    PARTIALLY_FILLED = ("ORDER_STATE_PARTIALLY_FILLED",)
    FILLED = ("ORDER_STATE_FILLED",)
    CANCELED = ("ORDER_STATE_CANCELED",)
    REPLACED = ("ORDER_STATE_REPLACED",)
    REJECTED = ("ORDER_STATE_REJECTED",)
    EXPIRED = ("ORDER_STATE_EXPIRED",)


@_index
class ExecutionType(WireEnum):
    """Kind of execution report."""

    NEW = ("EXECUTION_TYPE_NEW",)
    PARTIAL_FILL = ("EXECUTION_TYPE_PARTIAL_FILL",)
    FILL = ("EXECUTION_TYPE_FILL",)
    CANCELED = ("EXECUTION_TYPE_CANCELED",)
    REPLACE = ("EXECUTION_TYPE_REPLACE",)
    REJECTED = ("EXECUTION_TYPE_REJECTED",)
    EXPIRED = ("EXECUTION_TYPE_EXPIRED",)
    DONE_FOR_DAY = ("EXECUTION_TYPE_DONE_FOR_DAY",)


@_index
class MarketState(WireEnum):
    """Trading state of a market."""

    OPEN = ("MARKET_STATE_OPEN", 1)
    CLOSED = ("MARKET_STATE_CLOSED",)
    PREOPEN = ("MARKET_STATE_PREOPEN",)
    SUSPENDED = ("MARKET_STATE_SUSPENDED",)
    HALTED = ("MARKET_STATE_HALTED",)
    EXPIRED = ("MARKET_STATE_EXPIRED",)
    TERMINATED = ("MARKET_STATE_TERMINATED",)
    MATCH_AND_CLOSE_AUCTION = ("MARKET_STATE_MATCH_AND_CLOSE_AUCTION",)


@_index
class LedgerEntryType(WireEnum):
    """Why a position or balance changed."""

    ORDER_EXECUTION = ("LEDGER_ENTRY_TYPE_ORDER_EXECUTION", 1)
    DEPOSIT = ("LEDGER_ENTRY_TYPE_DEPOSIT",)
    WITHDRAWAL = ("LEDGER_ENTRY_TYPE_WITHDRAWAL",)
    RESOLUTION = ("LEDGER_ENTRY_TYPE_RESOLUTION",)
    COMMISSION = ("LEDGER_ENTRY_TYPE_COMMISSION",)
    CORRECTION = ("LEDGER_ENTRY_TYPE_CORRECTION",)
    NETTING = ("LEDGER_ENTRY_TYPE_NETTING",)
    MANUAL_ADJUSTMENT = ("LEDGER_ENTRY_TYPE_MANUAL_ADJUSTMENT",)
    CONTRACT_EXPIRATION = ("LEDGER_ENTRY_TYPE_CONTRACT_EXPIRATION",)


@_index
class RfqStatus(WireEnum):
    """State of a request for quote."""

    UNSPECIFIED = ("RFQ_STATUS_UNSPECIFIED",)
    OPEN = ("RFQ_STATUS_OPEN",)
    CLOSED = ("RFQ_STATUS_CLOSED",)


@_index
class QuoteStatus(WireEnum):
    """State of a quote answering an RFQ."""

    UNDEFINED = ("QUOTE_STATUS_UNDEFINED",)
    ACTIVE = ("QUOTE_STATUS_ACTIVE",)
    CONFIRMED = ("QUOTE_STATUS_CONFIRMED",)
    DELETED = ("QUOTE_STATUS_DELETED",)
    ACCEPTED = ("QUOTE_STATUS_ACCEPTED",)
    EXECUTED = ("QUOTE_STATUS_EXECUTED",)


@_index
class RfqSide(WireEnum):
    """Side in the RFQ messages (``SIDE_*``, not ``ORDER_SIDE_*``)."""

    UNDEFINED = ("SIDE_UNDEFINED",)
    BUY = ("SIDE_BUY",)
    SELL = ("SIDE_SELL",)


@_index
class OutcomeSide(WireEnum):
    """Which outcome of a market a combo leg takes."""

    UNSPECIFIED = ("OUTCOME_SIDE_UNSPECIFIED",)
    YES = ("OUTCOME_SIDE_YES",)
    NO = ("OUTCOME_SIDE_NO",)


@_index
class ComboLegState(WireEnum):
    """Settlement state of one leg of a combo position."""

    UNSPECIFIED = ("COMBO_LEG_STATE_UNSPECIFIED",)
    PENDING = ("COMBO_LEG_STATE_PENDING",)
    WON = ("COMBO_LEG_STATE_WON",)
    LOST = ("COMBO_LEG_STATE_LOST",)
    INDETERMINATE = ("COMBO_LEG_STATE_INDETERMINATE",)


@_index
class ImageDisplayType(WireEnum):
    """How a team's image is meant to be shown."""

    UNSPECIFIED = ("IMAGE_DISPLAY_TYPE_UNSPECIFIED",)
    HEADSHOT = ("IMAGE_DISPLAY_TYPE_HEADSHOT",)
    LOGO = ("IMAGE_DISPLAY_TYPE_LOGO",)
    FLAG = ("IMAGE_DISPLAY_TYPE_FLAG",)
    ARTWORK = ("IMAGE_DISPLAY_TYPE_ARTWORK",)


@_index
class DataProvider(WireEnum):
    """The sports-data provider that identifies a team."""

    UNSPECIFIED = ("PROVIDER_UNSPECIFIED",)
    SPORTSDATAIO = ("PROVIDER_SPORTSDATAIO",)
    SPORTRADAR = ("PROVIDER_SPORTRADAR",)
    OPTICODDS = ("PROVIDER_OPTICODDS",)
    PANDASCORE = ("PROVIDER_PANDASCORE",)
    INFRONT = ("PROVIDER_INFRONT",)
    ENETPULSE = ("PROVIDER_ENETPULSE",)
    UFC = ("PROVIDER_UFC",)
    ODDSPAPI = ("PROVIDER_ODDSPAPI",)
    BETER = ("PROVIDER_BETER",)
    CHAMPION_DATA = ("PROVIDER_CHAMPION_DATA",)
    ALTSPORTSDATA = ("PROVIDER_ALTSPORTSDATA",)
    GRID = ("PROVIDER_GRID",)
