"""One table describing each subscription type, and what is built from it.

Each row (:class:`SubscriptionSpec`) says everything pmsync knows about one
type: its wire name and number (its enum member), endpoint, request-id
prefix, the event kinds it delivers, which of them form its snapshot (per
market, or in pages ending with ``eof``), whether it takes market slugs, and
its ``subscribe_*`` method, docstring and command-line names. From the table
(:data:`SUBSCRIPTION_TYPES`) come the session's rules (:mod:`pmsync.session`),
the client-level callbacks (:data:`KIND_CALLBACKS`), the ``subscribe_*``
methods of the clients (:func:`install_subscribe_methods`) and the ``--type``
of the command line (:mod:`pmsync.cli`). Adding a type is an enum member (its
wire name and number), a row here, and its model and payload key in the codec.

The mock server keeps its own table (``mockserver.subscription_types``): a test
checks that the two agree.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from .enums import (
    Endpoint,
    MarketSubscriptionType,
    PrivateSubscriptionType,
    SubscriptionType,
    WireEnum,
)

if TYPE_CHECKING:
    from .subscription import Subscription

__all__ = [
    "CONNECTION_KINDS",
    "KIND_CALLBACKS",
    "SUBSCRIPTION_TYPES",
    "SlugRule",
    "SubscribeAllMarkets",
    "SubscribeMarkets",
    "SubscribeNoMarkets",
    "SubscriptionSpec",
    "SubscriptionTable",
    "callback_name",
    "install_subscribe_methods",
]

Callback = Callable[..., Any]

#: How a type takes market slugs: ``"required"`` (at least one), ``"optional"``
#: (none: all markets) or ``"none"`` (it takes none).
SlugRule = Literal["required", "optional", "none"]

#: Event kinds that belong to no subscription type, in the order of their callbacks.
CONNECTION_KINDS: tuple[str, ...] = ("heartbeat", "unknown")


def callback_name(kind: str) -> str:
    """The client-level callback of an event kind: ``"on_"`` + the kind."""
    return f"on_{kind}"


@attrs.frozen
class SubscriptionSpec:
    """One subscription type, as one row of :class:`SubscriptionTable`.

    ``member`` carries the wire name and number; ``kinds`` are the event
    kinds it delivers (the codec's names). ``snapshot_kinds`` form its
    snapshot (empty: it has none): one event per market slug when
    ``snapshot_per_market``, else pages until one with a true ``eof`` when
    ``snapshot_pages`` names the field whose items the pages split (the
    completed snapshot holds them all), else one event. ``slugs`` is its
    :data:`SlugRule`; ``debounce`` whether its method offers ``debounced``.
    ``method``/``doc`` name and document its ``subscribe_*`` method;
    ``cli_name``/``cli_aliases`` are its ``--type`` spellings.
    """

    member: SubscriptionType
    endpoint: Endpoint
    request_id_prefix: str
    kinds: tuple[str, ...]
    method: str
    doc: str
    cli_name: str
    cli_aliases: tuple[str, ...] = ()
    snapshot_kinds: frozenset[str] = frozenset()
    snapshot_per_market: bool = False
    snapshot_pages: str | None = None
    slugs: SlugRule = "optional"
    debounce: bool = False

    @property
    def wire_name(self) -> str:
        """The name on the wire, e.g. ``"SUBSCRIPTION_TYPE_MARKET_DATA"``."""
        return str(self.member.value)

    @property
    def number(self) -> int | None:
        """The wire number, or ``None`` where none is published (sent by name)."""
        return self.member.number

    @property
    def has_snapshot(self) -> bool:
        """Whether the server answers a subscribe with a snapshot."""
        return bool(self.snapshot_kinds)

    @property
    def callbacks(self) -> dict[str, str]:
        """Event kind → the client-level callback that receives it."""
        return {kind: callback_name(kind) for kind in self.kinds}


@attrs.frozen(repr=False)
class SubscriptionTable:
    """The rows of every subscription type, with the look-ups built from them.

    Immutable: :meth:`with_row` returns a new table (e.g. a copy with one more
    type, for a test).
    """

    rows: tuple[SubscriptionSpec, ...]
    _by_member: dict[WireEnum, SubscriptionSpec] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        by_member: dict[WireEnum, SubscriptionSpec] = {}
        for row in self.rows:
            if row.member in by_member:
                raise ValueError(f"{row.wire_name} has two rows")
            for kind in row.snapshot_kinds:
                if kind not in row.kinds:
                    raise ValueError(f"{row.wire_name}: snapshot kind {kind!r} is not one of its kinds")
            by_member[row.member] = row
        object.__setattr__(self, "_by_member", by_member)

    def __repr__(self) -> str:
        return f"SubscriptionTable({', '.join(row.cli_name for row in self.rows)})"

    def __iter__(self) -> Iterator[SubscriptionSpec]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def with_row(self, row: SubscriptionSpec) -> SubscriptionTable:
        """A new table: these rows and ``row``."""
        return SubscriptionTable(self.rows + (row,))

    def spec(self, member: WireEnum) -> SubscriptionSpec:
        """The row of a subscription type (``KeyError`` if it has none)."""
        return self._by_member[member]

    def endpoint(self, endpoint: str) -> tuple[SubscriptionSpec, ...]:
        """The rows of one endpoint, in table order."""
        return tuple(row for row in self.rows if row.endpoint == endpoint)

    def lookup(self, endpoint: str, value: WireEnum | str | int) -> SubscriptionSpec | None:
        """The row of ``endpoint`` whose member, wire name or number is ``value``."""
        for row in self.endpoint(endpoint):
            if value is row.member or (
                not isinstance(value, WireEnum)
                and (value == row.wire_name or (type(value) is int and value == row.number))
            ):
                return row
        return None

    def kind_callbacks(self) -> dict[str, str]:
        """Every event kind → its client-level callback: the rows' kinds in
        table order, then :data:`CONNECTION_KINDS`."""
        out: dict[str, str] = {}
        for row in self.rows:
            for kind, name in row.callbacks.items():
                out.setdefault(kind, name)
        for kind in CONNECTION_KINDS:
            out[kind] = callback_name(kind)
        return out

    def cli_names(self, endpoint: str) -> dict[str, SubscriptionSpec]:
        """Every ``--type`` spelling of ``endpoint`` (its name and aliases) → its row."""
        out: dict[str, SubscriptionSpec] = {}
        for row in self.endpoint(endpoint):
            for name in (row.cli_name, *row.cli_aliases):
                out[name] = row
        return out


_P = PrivateSubscriptionType
_M = MarketSubscriptionType

#: Every subscription type pmsync knows, markets first (the order of the callbacks).
SUBSCRIPTION_TYPES = SubscriptionTable((
    SubscriptionSpec(
        _M.MARKET_DATA, "markets", "md", ("market_data",),
        method="subscribe_market_data",
        doc="Full order books and stats (``market_data``), one book per market first.\n\n"
        "More than 100 markets are sent as several requests under one handle.",
        cli_name="market_data",
        snapshot_kinds=frozenset({"market_data"}), snapshot_per_market=True,
        slugs="required", debounce=True,
    ),
    SubscriptionSpec(
        _M.MARKET_DATA_LITE, "markets", "mdl", ("market_data_lite",),
        method="subscribe_market_data_lite",
        doc="Best bid/ask, last price and depth counts (``market_data_lite``).",
        cli_name="market_data_lite", cli_aliases=("lite",),
        snapshot_kinds=frozenset({"market_data_lite"}), snapshot_per_market=True,
        slugs="required", debounce=True,
    ),
    SubscriptionSpec(
        _M.TRADE, "markets", "trades", ("trade",),
        method="subscribe_trades",
        doc="Trade prints (``trade``); no snapshot.",
        cli_name="trade", cli_aliases=("trades",),
        slugs="required", debounce=True,
    ),
    SubscriptionSpec(
        _P.ORDER, "private", "orders", ("order_snapshot", "order_update"),
        method="subscribe_orders",
        doc="Orders: a snapshot of open orders (``order_snapshot``), then executions\n"
        "(``order_update``). No markets: all markets.",
        cli_name="order", cli_aliases=("orders",),
        snapshot_kinds=frozenset({"order_snapshot"}), snapshot_pages="orders",
    ),
    SubscriptionSpec(
        _P.ORDER_SNAPSHOT, "private", "order-snapshot", ("order_snapshot",),
        method="subscribe_order_snapshot",
        doc="A snapshot of open orders only.",
        cli_name="order_snapshot",
        snapshot_kinds=frozenset({"order_snapshot"}), snapshot_pages="orders",
    ),
    SubscriptionSpec(
        # The server sends no snapshot; a position_snapshot (an older spelling
        # some servers send) is delivered like any event.
        _P.POSITION, "private", "positions", ("position_update", "position_snapshot"),
        method="subscribe_positions",
        doc="Position changes (``position_update``); no snapshot.",
        cli_name="position", cli_aliases=("positions",),
    ),
    SubscriptionSpec(
        _P.ACCOUNT_BALANCE, "private", "balances", ("balance_snapshot", "balance_update"),
        method="subscribe_balances",
        doc="Balances: a snapshot (``balance_snapshot``), then changes (``balance_update``).",
        cli_name="account_balance", cli_aliases=("balance", "balances"),
        snapshot_kinds=frozenset({"balance_snapshot"}), slugs="none",
    ),
    SubscriptionSpec(
        _P.RFQ, "private", "rfq", ("rfq_event",),
        method="subscribe_rfq",
        doc="RFQ and quote lifecycle events and RFQ trade prints (``rfq_event``).",
        cli_name="rfq", slugs="none",
    ),
))

#: Event kind → the client-level callback that receives it.
KIND_CALLBACKS: dict[str, str] = SUBSCRIPTION_TYPES.kind_callbacks()


# ------------------------------------------------------------------ subscribe_* methods


class SubscribeMarkets(Protocol):
    """The ``subscribe_*`` method of a type that needs market slugs."""

    def __call__(
        self,
        market_slugs: Iterable[str],
        *,
        callback: Callback | None = None,
        debounced: bool = False,
        request_id: str | None = None,
    ) -> Subscription:
        """Subscribe; see the method's own docstring."""


class SubscribeAllMarkets(Protocol):
    """The ``subscribe_*`` method of a type whose market slugs are optional (none: all)."""

    def __call__(
        self,
        market_slugs: Iterable[str] | None = None,
        *,
        callback: Callback | None = None,
        request_id: str | None = None,
    ) -> Subscription:
        """Subscribe; see the method's own docstring."""


class SubscribeNoMarkets(Protocol):
    """The ``subscribe_*`` method of a type that takes no market slugs."""

    def __call__(
        self, *, callback: Callback | None = None, request_id: str | None = None
    ) -> Subscription:
        """Subscribe; see the method's own docstring."""


_KW = inspect.Parameter.KEYWORD_ONLY
_POS = inspect.Parameter.POSITIONAL_OR_KEYWORD


def _signature(spec: SubscriptionSpec) -> inspect.Signature:
    """The signature of ``spec``'s method; annotations as text, as the module's own."""
    params = [inspect.Parameter("self", _POS)]
    if spec.slugs == "required":
        params.append(inspect.Parameter("market_slugs", _POS, annotation="Iterable[str]"))
    elif spec.slugs == "optional":
        params.append(
            inspect.Parameter("market_slugs", _POS, default=None, annotation="Iterable[str] | None")
        )
    params.append(inspect.Parameter("callback", _KW, default=None, annotation="Callback | None"))
    if spec.debounce:
        params.append(inspect.Parameter("debounced", _KW, default=False, annotation="bool"))
    params.append(inspect.Parameter("request_id", _KW, default=None, annotation="str | None"))
    return inspect.Signature(params, return_annotation="Subscription")


def subscribe_method(spec: SubscriptionSpec) -> Callable[..., Subscription]:
    """A real function for ``spec``'s ``subscribe_*`` method: its name,
    docstring and signature (``inspect.signature``, ``help()``) from the row;
    a call with wrong arguments raises ``TypeError`` naming the method."""
    signature = _signature(spec)
    member = spec.member
    name = spec.method
    positional = 0 if spec.slugs == "none" else 1
    required = spec.slugs == "required"
    keywords = frozenset(p.name for p in signature.parameters.values() if p.kind is _KW)

    def method(self: Any, *args: Any, **kwargs: Any) -> Subscription:
        if len(args) > positional or not keywords.issuperset(kwargs) or (required and not args):
            # Slugs by keyword, or a mistake: the signature sorts it out or names it.
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"{name}(): {exc}") from None
            kwargs = dict(bound.arguments)
            del kwargs["self"]
            args = (kwargs.pop("market_slugs"),) if "market_slugs" in kwargs else ()
        subscription: Subscription = self.subscribe(member, *args, **kwargs)
        return subscription

    method.__name__ = name
    method.__qualname__ = name
    method.__doc__ = spec.doc
    method.__module__ = __name__
    method.__signature__ = signature  # type: ignore[attr-defined]
    method.__annotations__ = {
        p.name: p.annotation for p in signature.parameters.values() if p.annotation is not p.empty
    } | {"return": "Subscription"}
    return method


def install_subscribe_methods(cls: type, table: SubscriptionTable) -> None:
    """Give ``cls`` (a client of endpoint ``cls.ENDPOINT``) the ``subscribe_*``
    method of every row of ``table`` for its endpoint, unless it defines one."""
    for spec in table.endpoint(getattr(cls, "ENDPOINT")):
        if spec.method not in vars(cls):
            method = subscribe_method(spec)
            method.__qualname__ = f"{cls.__qualname__}.{spec.method}"
            setattr(cls, spec.method, method)
