"""The subscription state machine, sans I/O.

A :class:`Session` keeps the registry of one connection's subscriptions: it
validates a subscription before anything is sent, generates unique request ids,
splits more than 100 markets into several subscribe frames under one
:class:`Handle`, routes each decoded event to its handle by request id, tracks
snapshots (which events are a snapshot, when a snapshot is complete, whether it
follows a reconnect), and gives the frames to replay the live set after a
reconnect. It keeps only live subscriptions: an ended one (unsubscribed,
refused by the server, or the session closed) is forgotten at once and its
request ids can be used again; the last :data:`RETIRED_REQUEST_IDS` ended ids
are remembered until the connection ends (or the id is used again), so that
their events still in flight are dropped. It sends nothing, starts nothing
and is not thread-safe: the client calls it under its own lock. What it knows
of each type (request-id prefix, snapshot, market slugs) comes from its table
(:mod:`pmsync.subscription_types`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import attrs

from .codec import Event, encode_subscribe, encode_unsubscribe
from .enums import SubscriptionType, WireEnum, subscription_type_enum
from .errors import SubscriptionError
from .subscription_types import SUBSCRIPTION_TYPES, SubscriptionSpec, SubscriptionTable

__all__ = ["Handle", "MAX_SLUGS_PER_SUBSCRIPTION", "RETIRED_REQUEST_IDS", "Routed", "Session"]

#: The server accepts at most this many markets in one subscribe request.
MAX_SLUGS_PER_SUBSCRIPTION = 100

#: How many ended request ids are remembered (their late events dropped)
#: until the connection ends; the oldest is forgotten first.
RETIRED_REQUEST_IDS = 256

def has_snapshot(
    subscription_type: SubscriptionType, table: SubscriptionTable = SUBSCRIPTION_TYPES
) -> bool:
    """Whether the server answers this type with a snapshot (trades, positions, RFQ: no)."""
    return table.spec(subscription_type).has_snapshot


@attrs.define(eq=False)
class Handle:
    """One logical subscription: its type, markets and request ids.

    ``status`` is ``"live"``, ``"failed"`` (the server refused every part) or
    ``"unsubscribed"``. ``error`` holds the server's error text, if any.
    """

    key: int
    subscription_type: SubscriptionType
    market_slugs: tuple[str, ...] = attrs.field(repr=lambda s: f"<{len(s)} slugs>")
    debounced: bool
    chunks: dict[str, tuple[str, ...]] = attrs.field(repr=lambda c: repr(tuple(c)))
    status: str = "live"
    error: str | None = None
    #: request ids whose snapshot is still awaited → slugs still awaited (per-market types)
    _awaiting: dict[str, set[str]] = attrs.field(factory=dict, alias="awaiting", repr=False)
    _resync: bool = attrs.field(default=False, alias="resync", repr=False)
    _dead: set[str] = attrs.field(factory=set, alias="dead", repr=False)
    #: the row of its type in the session's table (by default the global table's)
    spec: SubscriptionSpec = attrs.field(
        default=attrs.Factory(lambda h: SUBSCRIPTION_TYPES.spec(h.subscription_type), takes_self=True),
        kw_only=True,
        repr=False,
    )

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The request ids of this subscription, one per subscribe frame."""
        return tuple(self.chunks)

    @property
    def active(self) -> bool:
        """True while the subscription is live and the server has refused none of it."""
        return self.status == "live" and self.error is None

    @property
    def snapshot_complete(self) -> bool:
        """True once every part's snapshot (if the type has one) has arrived."""
        return not self._awaiting

    def _live_ids(self) -> list[str]:
        return [rid for rid in self.chunks if rid not in self._dead]

    def _expect_snapshot(self, resync: bool) -> None:
        self._resync = resync
        self._awaiting = {}
        if not self.spec.has_snapshot:
            return
        per_market = self.spec.snapshot_per_market
        for rid in self._live_ids():
            self._awaiting[rid] = set(self.chunks[rid]) if per_market else set()


@attrs.frozen
class Routed:
    """Where an event goes.

    ``deliver`` is false for events of a subscription that has ended (they must
    not reach callbacks). ``snapshot`` marks an event that is part of the
    handle's snapshot; ``snapshot_complete`` the one that completes it;
    ``resync`` a snapshot event that follows a reconnect.
    """

    handle: Handle
    deliver: bool = True
    snapshot: bool = False
    snapshot_complete: bool = False
    resync: bool = False


class Session:
    """The subscription registry of one endpoint; see the module docstring."""

    def __init__(
        self,
        endpoint: str,
        *,
        dialect: str = "snake",
        id_prefix: str = "",
        table: SubscriptionTable = SUBSCRIPTION_TYPES,
    ) -> None:
        subscription_type_enum(endpoint)  # ValueError for an unknown endpoint
        self.endpoint = endpoint
        self._table = table
        if dialect not in ("snake", "camel"):
            raise ValueError(f"dialect must be 'snake' or 'camel', got {dialect!r}")
        self.dialect = dialect
        self._id_prefix = id_prefix
        self._keys = itertools.count(1)
        self._handles: dict[int, Handle] = {}
        self._by_request_id: dict[str, Handle] = {}
        # request id → its unsubscribed handle, oldest first (bounded)
        self._retired: dict[str, Handle] = {}

    # ------------------------------------------------------------------ registry

    @property
    def live(self) -> list[Handle]:
        """The live handles, in subscription order."""
        return [h for h in self._handles.values() if h.status == "live"]

    def handle_for(self, request_id: str) -> Handle | None:
        """The live handle that owns ``request_id``, else a recently unsubscribed
        one (see :data:`RETIRED_REQUEST_IDS`), else ``None``."""
        return self._by_request_id.get(request_id) or self._retired.get(request_id)

    def __len__(self) -> int:
        """How many handles the session holds (all live)."""
        return len(self._handles)

    def subscribe(
        self,
        subscription_type: SubscriptionType | str | int,
        market_slugs: Iterable[str] | None = None,
        *,
        request_id: str | None = None,
        debounced: bool = False,
    ) -> tuple[Handle, list[str]]:
        """Register a subscription; return its handle and the frames to send.

        Raises :class:`SubscriptionError` or ``ValueError``/``TypeError`` naming
        the problem, before anything is registered.
        """
        spec = self._check_type(subscription_type)
        sub_type = spec.member
        slugs = self._check_slugs(spec, market_slugs)
        if request_id is not None:
            if not isinstance(request_id, str) or not request_id.strip():
                raise ValueError(f"request_id must be a non-empty string, got {request_id!r}")
            base = request_id
        else:
            base = None
        key = next(self._keys)
        groups = [
            slugs[i : i + MAX_SLUGS_PER_SUBSCRIPTION]
            for i in range(0, len(slugs), MAX_SLUGS_PER_SUBSCRIPTION)
        ] or [()]
        for attempt in itertools.count():
            if request_id is None:
                # A generated id must not collide with one the caller chose.
                base = f"{self._id_prefix}{spec.request_id_prefix}-{key}"
                if attempt:
                    base = f"{base}-{attempt}"
            assert base is not None
            if len(groups) == 1:
                chunks = {base: groups[0]}
            else:
                chunks = {f"{base}:{i}": group for i, group in enumerate(groups, 1)}
            clash = [rid for rid in chunks if rid in self._by_request_id]
            if not clash:
                break
            if request_id is not None:
                raise SubscriptionError(
                    f"request id {clash[0]!r} is already in use in this session", clash[0]
                )
        handle = Handle(
            key=key,
            subscription_type=sub_type,
            spec=spec,
            market_slugs=slugs,
            debounced=debounced,
            chunks=chunks,
        )
        handle._expect_snapshot(resync=False)
        self._handles[key] = handle
        for rid in chunks:
            self._by_request_id[rid] = handle
            self._retired.pop(rid, None)  # reused: its events are the new handle's
        return handle, self._subscribe_frames(handle)

    def unsubscribe(self, handle: Handle) -> list[str]:
        """End ``handle`` and forget it; return the unsubscribe frames (none if
        already ended). Its request ids are free again at once."""
        if handle.status != "live" or self._handles.get(handle.key) is not handle:
            return []
        live = handle._live_ids()
        frames = [encode_unsubscribe(rid, dialect=self.dialect) for rid in live]
        handle.status = "unsubscribed"
        handle._awaiting = {}
        self._forget(handle)
        return frames

    def close(self) -> None:
        """End every handle (status ``"unsubscribed"``) and forget them all."""
        for handle in self._handles.values():
            handle.status = "unsubscribed"
            handle._awaiting = {}
        self._handles.clear()
        self._by_request_id.clear()
        self._retired.clear()

    def _forget(self, handle: Handle) -> None:
        """Drop an ended handle; retire its ids (bounded) so late events are dropped."""
        del self._handles[handle.key]
        retired = self._retired
        for rid in handle.chunks:
            if self._by_request_id.get(rid) is handle:
                del self._by_request_id[rid]
            retired[rid] = handle
        while len(retired) > RETIRED_REQUEST_IDS:
            del retired[next(iter(retired))]

    def resubscribe_frames(self, *, resync: bool = True) -> list[str]:
        """The frames that replay every live subscription on a new connection.

        Each live handle then awaits a fresh snapshot; with ``resync`` its
        snapshot events are marked as following a reconnect. The new
        connection carries nothing of the old one: retired ids are forgotten.
        """
        self._retired.clear()
        frames: list[str] = []
        for handle in self.live:
            handle._expect_snapshot(resync=resync)
            frames.extend(self._subscribe_frames(handle))
        return frames

    # ------------------------------------------------------------------ routing

    def settled(self, request_id: str) -> Handle | None:
        """The handle of ``request_id`` if routing a data event to it needs no
        bookkeeping, else ``None`` (then call :meth:`route` under the lock).

        A handle is settled while it is live, has its whole snapshot and none
        of its parts has failed: :meth:`route` would only return
        ``Routed(handle)`` for a non-error event and change nothing. Unlike the
        rest of the session this may be called without the client's lock: it
        only reads (one dict look-up, atomic under the GIL), and whoever
        changes a handle replaces or empties what it reads here in single
        steps. An event racing ``unsubscribe`` may still be delivered, as it
        could be before (routing and callbacks never ran in one critical
        section).
        """
        handle = self._by_request_id.get(request_id)
        if handle is None or handle.status != "live" or handle._awaiting or handle._dead:
            return None
        return handle

    def route(self, event: Event) -> Routed | None:
        """Find the handle ``event`` belongs to, by request id; update its state.

        Returns ``None`` for events that belong to no subscription (heartbeats,
        errors and data without a known request id). An error marks its part
        of the handle failed; once every part failed, the handle is forgotten.
        Events of a recently unsubscribed handle are not delivered.
        """
        rid = event.request_id
        if rid is None:
            return None
        handle = self._by_request_id.get(rid)
        if handle is None:
            retired = self._retired.get(rid)
            return None if retired is None else Routed(retired, deliver=False)
        if handle.status != "live" or rid in handle._dead:
            return Routed(handle, deliver=False)
        if event.kind == "error":
            handle.error = getattr(event.data, "error", None) or "error"
            handle._dead.add(rid)
            handle._awaiting.pop(rid, None)
            if not handle._live_ids():
                handle.status = "failed"
                self._forget(handle)
            return Routed(handle)
        awaiting = handle._awaiting.get(rid)
        if awaiting is None:
            return Routed(handle)
        spec = handle.spec
        if event.kind not in spec.snapshot_kinds:
            return Routed(handle)
        if spec.snapshot_per_market:
            slug = getattr(event.data, "market_slug", None)
            if slug not in awaiting:
                return Routed(handle)
            awaiting.discard(slug)
            done = not awaiting
        else:
            done = spec.snapshot_pages is None or bool(getattr(event.data, "eof", False))
        if done:
            del handle._awaiting[rid]
        return Routed(
            handle,
            snapshot=True,
            snapshot_complete=not handle._awaiting,
            resync=handle._resync,
        )

    # ------------------------------------------------------------------ helpers

    def _subscribe_frames(self, handle: Handle) -> list[str]:
        return [
            encode_subscribe(
                rid,
                handle.subscription_type,
                handle.chunks[rid],
                dialect=self.dialect,
                debounced=handle.debounced,
            )
            for rid in handle._live_ids()
        ]

    def _check_type(self, value: Any) -> SubscriptionSpec:
        if isinstance(value, (WireEnum, str, int)) and not isinstance(value, bool):
            spec = self._table.lookup(self.endpoint, value)
            if spec is not None:
                return spec
        if isinstance(value, WireEnum):
            other = "markets" if self.endpoint == "private" else "private"
            raise SubscriptionError(
                f"{value.value} belongs to the {other} endpoint, not {self.endpoint}"
            )
        raise SubscriptionError(
            f"unknown subscription type {value!r} for the {self.endpoint} endpoint; "
            f"expected one of {', '.join(s.wire_name for s in self._table.endpoint(self.endpoint))}"
        )

    def _check_slugs(
        self, spec: SubscriptionSpec, market_slugs: Iterable[str] | None
    ) -> tuple[str, ...]:
        if isinstance(market_slugs, (str, bytes)):
            raise TypeError(
                f"market_slugs must be a list of slugs, not a single string {market_slugs!r}"
            )
        slugs: list[str] = []
        seen: set[str] = set()
        for slug in market_slugs or ():
            if not isinstance(slug, str):
                raise TypeError(f"market slug must be a string, got {slug!r}")
            if not slug.strip():
                raise ValueError("market slug must not be empty")
            if slug not in seen:
                seen.add(slug)
                slugs.append(slug)
        if spec.slugs == "required" and not slugs:
            raise SubscriptionError(
                f"{spec.wire_name} needs at least one market slug on the {self.endpoint} endpoint"
            )
        if spec.slugs == "none" and slugs:
            raise SubscriptionError(f"{spec.wire_name} takes no market slugs")
        return tuple(slugs)
