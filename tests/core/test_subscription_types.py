"""The table of subscription types (pmsync.subscription_types) and what is built from it.

What the session, the clients and the CLI do per type comes from the table;
a fake type added to a copy of the table gets a working ``subscribe_*``
method, callback and ``--type`` choice, and nothing global changes.
"""

from __future__ import annotations

import collections
import gc
import inspect
import json
from typing import Any

import attrs
import pytest

from mockserver import demo_credentials
from pmsync import Credentials, MarketsClient, PrivateClient, SubscriptionError, cli, client
from pmsync.codec import KINDS, Event
from pmsync.enums import WireEnum, _index, subscription_type_enum
from pmsync.session import Session
from pmsync.subscription_types import (
    CONNECTION_KINDS,
    KIND_CALLBACKS,
    SUBSCRIPTION_TYPES,
    SubscribeAllMarkets,
    SubscribeMarkets,
    SubscribeNoMarkets,
    SubscriptionSpec,
    SubscriptionTable,
)

CREDENTIALS = Credentials.from_base64(*demo_credentials(0))
CLIENTS: dict[str, type[client._Client]] = {"private": PrivateClient, "markets": MarketsClient}
SHAPES = {"required": SubscribeMarkets, "optional": SubscribeAllMarkets, "none": SubscribeNoMarkets}


# ------------------------------------------------------------------ the table itself


def test_every_type_of_each_endpoint_has_one_row_and_nothing_else() -> None:
    for endpoint in ("private", "markets"):
        members = [row.member for row in SUBSCRIPTION_TYPES.endpoint(endpoint)]
        assert members == list(subscription_type_enum(endpoint))


def test_every_kind_is_one_the_codec_decodes_and_every_decoded_kind_has_a_callback() -> None:
    kinds = {kind for row in SUBSCRIPTION_TYPES for kind in row.kinds}
    assert kinds | set(CONNECTION_KINDS) == KINDS - {"error"}  # errors go to on_error
    assert set(KIND_CALLBACKS) == KINDS - {"error"}
    assert all(name == f"on_{kind}" for kind, name in KIND_CALLBACKS.items())
    assert tuple(KIND_CALLBACKS.values()) == client.CALLBACKS[: len(KIND_CALLBACKS)]


def test_a_table_refuses_two_rows_of_one_type_and_a_snapshot_kind_it_does_not_deliver() -> None:
    row = SUBSCRIPTION_TYPES.rows[0]
    with pytest.raises(ValueError, match="two rows"):
        SUBSCRIPTION_TYPES.with_row(row)
    with pytest.raises(ValueError, match="not one of its kinds"):
        SubscriptionTable((attrs.evolve(row, snapshot_kinds=frozenset({"trade"})),))


@pytest.mark.parametrize("row", SUBSCRIPTION_TYPES.rows, ids=lambda r: r.cli_name)
def test_the_session_follows_the_row(row: SubscriptionSpec) -> None:
    session = Session(row.endpoint)
    slugs = ["s-1", "s-2"] if row.slugs != "none" else None
    handle, frames = session.subscribe(row.wire_name, slugs)
    assert handle.subscription_type is row.member and handle.spec is row
    assert handle.request_ids == (f"{row.request_id_prefix}-1",)
    assert json.loads(frames[0])["subscribe"]["subscription_type"] == (row.number or row.wire_name)
    assert handle.snapshot_complete is not row.has_snapshot
    if row.slugs == "required":
        with pytest.raises(SubscriptionError, match="needs at least one market slug"):
            session.subscribe(row.member, [])
    if row.slugs == "none":
        with pytest.raises(SubscriptionError, match="takes no market slugs"):
            session.subscribe(row.member, ["s-1"])


# ------------------------------------------------------------------ the subscribe_* methods


@pytest.mark.parametrize("row", SUBSCRIPTION_TYPES.rows, ids=lambda r: r.cli_name)
def test_each_row_gives_its_client_a_documented_typed_method(row: SubscriptionSpec) -> None:
    cls = CLIENTS[row.endpoint]
    method = vars(cls)[row.method]
    assert inspect.isfunction(method) and method.__doc__ == row.doc
    assert method.__name__ == row.method and method.__qualname__ == f"{cls.__name__}.{row.method}"
    # What mypy sees (the class annotation) is what the method takes.
    declared = SHAPES[row.slugs]
    assert vars(cls)["__annotations__"][row.method] == declared.__name__
    expected = list(inspect.signature(declared.__call__).parameters.values())[1:]
    actual = list(inspect.signature(method).parameters.values())[1:]
    assert [(p.name, p.kind, p.default) for p in actual] == [
        (p.name, p.kind, p.default) for p in expected
    ]
    assert row.debounce == ("debounced" in inspect.signature(method).parameters)
    other = CLIENTS["markets" if row.endpoint == "private" else "private"]
    assert not hasattr(other, row.method)


def test_a_method_called_wrongly_names_itself() -> None:
    markets = MarketsClient(CREDENTIALS)
    with pytest.raises(TypeError, match=r"subscribe_trades\(\): missing a required argument"):
        markets.subscribe_trades()  # type: ignore[call-arg]
    private = PrivateClient(CREDENTIALS)
    with pytest.raises(TypeError, match=r"subscribe_balances\(\): too many positional"):
        private.subscribe_balances(["s"])  # type: ignore[call-arg]
    subscription = markets.subscribe_trades(["s"], debounced=True, request_id="t")
    assert subscription.request_ids == ("t",) and subscription._handle.debounced
    subscription = markets.subscribe_trades(market_slugs=["s"])
    assert subscription.market_slugs == ("s",) and not subscription._handle.debounced
    with pytest.raises(TypeError, match=r"subscribe_orders\(\): got an unexpected keyword argument 'debounced'"):
        private.subscribe_orders(["s"], debounced=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"subscribe_trades\(\): multiple values for argument 'market_slugs'"):
        markets.subscribe_trades(["s"], market_slugs=["t"])  # type: ignore[misc]
    assert private.subscribe_orders().market_slugs == ()
    markets.close()
    private.close()


# ------------------------------------------------------------------ a fake type


@attrs.frozen
class FakeData:
    market_slug: str
    items: tuple[str, ...] = ()
    eof: bool = True


def fake_row() -> SubscriptionSpec:
    """A row for a type the real table does not have; its enum is made here, not at
    import, so that no other test sees it among WireEnum's subclasses."""

    @_index
    class FakeType(WireEnum):
        FAKE = ("SUBSCRIPTION_TYPE_FAKE", 9)

    return SubscriptionSpec(
        FakeType.FAKE,  # type: ignore[arg-type]  # a real type is a member of the endpoint's enum
        "private",
        "fake",
        ("fake_event", "fake_page"),
        method="subscribe_fakes",
        doc="Fake events (``fake_event``) after a paged snapshot (``fake_page``).",
        cli_name="fake",
        cli_aliases=("fakes",),
        snapshot_kinds=frozenset({"fake_page"}),
        snapshot_pages="items",
        slugs="required",
    )


def test_a_fake_row_in_a_copy_of_the_table_gives_a_working_type() -> None:
    check_a_fake_type()
    gc.collect()  # the fake enum and client class were local: nothing global keeps them
    assert not [c for c in WireEnum.__subclasses__() if c.__name__ == "FakeType"]
    assert not [c for c in PrivateClient.__subclasses__() if c.__name__ == "FakeClient"]


def check_a_fake_type() -> None:
    row = fake_row()
    table = SUBSCRIPTION_TYPES.with_row(row)

    def event(kind: str, data: Any) -> Event:
        return Event(kind, "fake-1", row.member, data, raw="")

    class FakeClient(PrivateClient):
        SUBSCRIPTION_TYPES = table

    # the method: real, documented, with the signature its row gives
    method = FakeClient.subscribe_fakes  # type: ignore[attr-defined]
    assert method.__doc__ == row.doc
    assert str(inspect.signature(method)) == (
        "(self, market_slugs: 'Iterable[str]', *, callback: 'Callback | None' = None, "
        "request_id: 'str | None' = None) -> 'Subscription'"
    )
    # the callbacks
    seen: list[Event] = []
    fake = FakeClient(CREDENTIALS, on_fake_event=seen.append, on_fake_page=seen.append)
    with pytest.raises(TypeError, match="unknown keyword 'on_fake_event'"):
        PrivateClient(CREDENTIALS, on_fake_event=seen.append)
    per_subscription: list[Event] = []
    subscription = fake.subscribe_fakes(["a"], callback=per_subscription.append)  # type: ignore[attr-defined]
    assert subscription.request_ids == ("fake-1",)
    assert fake._outbox == collections.deque()  # queued until connected
    _, sent = Session("private", table=table).subscribe("SUBSCRIPTION_TYPE_FAKE", ["a"])
    assert json.loads(sent[0]) == {
        "subscribe": {"request_id": "fake-1", "subscription_type": 9, "market_slugs": ["a"]}
    }
    # the snapshot: two pages, then live events, each to both callbacks
    fake._dispatch(event("fake_page", FakeData("a", ("x",), eof=False)))
    assert not subscription._handle.snapshot_complete
    fake._dispatch(event("fake_page", FakeData("a", ("y",), eof=True)))
    snapshot = subscription.wait_snapshot(0)
    assert snapshot is not None and snapshot.data.items == ("x", "y")
    fake._dispatch(event("fake_event", FakeData("a")))
    assert [e.kind for e in seen] == ["fake_page", "fake_page", "fake_event"]
    assert [e.kind for e in per_subscription] == [e.kind for e in seen]
    fake.close()

    # the command line
    assert cli._subscription_type("private", "fakes", table) is row
    assert cli._subscription_type("private", "SUBSCRIPTION_TYPE_FAKE", table) is row
    stream = cli.build_parser(table)._subparsers._group_actions[0].choices["stream"]  # type: ignore[union-attr]
    assert "account_balance, rfq, fake" in " ".join(stream.format_help().split())
    with pytest.raises(SystemExit, match="unknown --type 'fake'"):
        cli._subscription_type("private", "fake")

    # nothing global changed
    assert row not in SUBSCRIPTION_TYPES.rows
    assert not hasattr(PrivateClient, "subscribe_fakes")
    assert "on_fake_event" not in client.CALLBACKS and "fake_event" not in KIND_CALLBACKS
    with pytest.raises(SubscriptionError, match="unknown subscription type"):
        Session("private").subscribe("SUBSCRIPTION_TYPE_FAKE")
