"""The subscription state machine (issue 2 acceptance): 250 slugs give 3
subscribe frames of <= 100 slugs routed back to one handle; after unsubscribes,
resubscribe_frames() equals exactly the live set; validation before sending;
snapshot and error tracking. No socket, no thread (see tests/core/conftest.py).
"""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import pytest

from pmsync import SubscriptionError
from pmsync.codec import decode
from pmsync.enums import MarketSubscriptionType as M
from pmsync.enums import PrivateSubscriptionType as P
from pmsync.session import MAX_SLUGS_PER_SUBSCRIPTION, Handle, Routed, Session

from .conftest import NetworkUsed

SLUGS_250 = [f"market-slug-{i}" for i in range(250)]


def parse(frames: list[str]) -> list[dict[str, Any]]:
    return [json.loads(f) for f in frames]


def bodies(frames: list[str]) -> list[dict[str, Any]]:
    out = []
    for frame in parse(frames):
        assert list(frame) == ["subscribe"]
        out.append(frame["subscribe"])
    return out


def md_event(rid: str, slug: str, kind: str = "market_data", endpoint: str = "markets") -> Any:
    text = json.dumps({"request_id": rid, "subscription_type": 1, kind: {"market_slug": slug}})
    return decode(text, endpoint)


def route(session: Session, payload: dict[str, Any]) -> Routed | None:
    return session.route(decode(json.dumps(payload), session.endpoint))


# ---------------------------------------------------------------- chunking


@pytest.mark.parametrize("dialect", ["snake", "camel"])
def test_250_slugs_give_3_frames_routed_to_one_handle(dialect: str) -> None:
    session = Session("markets", dialect=dialect)
    handle, frames = session.subscribe(M.MARKET_DATA, SLUGS_250)
    assert len(frames) == 3
    rid_key, type_key, slugs_key = (
        ("request_id", "subscription_type", "market_slugs")
        if dialect == "snake"
        else ("requestId", "subscriptionType", "marketSlugs")
    )
    subs = bodies(frames)
    assert [len(b[slugs_key]) for b in subs] == [100, 100, 50]
    assert all(len(b[slugs_key]) <= MAX_SLUGS_PER_SUBSCRIPTION for b in subs)
    assert [s for b in subs for s in b[slugs_key]] == SLUGS_250
    expected_type = 1 if dialect == "snake" else "SUBSCRIPTION_TYPE_MARKET_DATA"
    assert {b[type_key] for b in subs} == {expected_type}
    rids = [b[rid_key] for b in subs]
    assert len(set(rids)) == 3
    assert handle.request_ids == tuple(rids)
    assert handle.market_slugs == tuple(SLUGS_250)
    assert handle.active and handle.status == "live"
    assert session.live == [handle]
    # Every slug's update, under its frame's request id, comes back to the one handle.
    for body in subs:
        for slug in body[slugs_key]:
            routed = session.route(md_event(body[rid_key], slug))
            assert routed is not None
            assert routed.handle is handle
            assert routed.deliver
        assert session.handle_for(body[rid_key]) is handle


def test_exactly_100_and_101_slugs() -> None:
    session = Session("markets")
    h100, frames100 = session.subscribe(M.TRADE, SLUGS_250[:100])
    assert len(frames100) == 1 and len(h100.request_ids) == 1
    h101, frames101 = session.subscribe(M.TRADE, SLUGS_250[:101])
    assert [len(b["market_slugs"]) for b in bodies(frames101)] == [100, 1]


def test_duplicate_slugs_are_sent_once() -> None:
    session = Session("markets")
    handle, frames = session.subscribe(M.MARKET_DATA_LITE, SLUGS_250 + SLUGS_250[:60])
    assert len(frames) == 3
    assert handle.market_slugs == tuple(SLUGS_250)


def test_debounced_is_sent_on_every_frame() -> None:
    session = Session("markets")
    _, frames = session.subscribe(M.MARKET_DATA, SLUGS_250, debounced=True)
    assert all(b["responses_debounced"] is True for b in bodies(frames))
    _, frames = session.subscribe(M.MARKET_DATA, ["a"])
    assert "responses_debounced" not in bodies(frames)[0]


def test_private_subscription_frames() -> None:
    session = Session("private")
    _, frames = session.subscribe(P.ORDER)
    (body,) = bodies(frames)
    assert set(body) == {"request_id", "subscription_type"} and body["subscription_type"] == 1
    _, frames = session.subscribe(P.POSITION, ["market-slug-1"])
    assert bodies(frames)[0]["market_slugs"] == ["market-slug-1"]
    _, frames = session.subscribe(P.RFQ)
    assert bodies(frames)[0]["subscription_type"] == "SUBSCRIPTION_TYPE_RFQ"


# ---------------------------------------------------------------- unsubscribe / resubscribe


def build_live_set() -> tuple[Session, dict[str, Handle], dict[str, list[str]]]:
    session = Session("markets")
    handles: dict[str, Handle] = {}
    frames: dict[str, list[str]] = {}
    cases: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
        ("a", (M.MARKET_DATA, SLUGS_250), {}),
        ("b", (M.TRADE, SLUGS_250[:5]), {}),
        ("c", (M.MARKET_DATA_LITE, ["x"]), {"request_id": "mine"}),
        ("d", (M.MARKET_DATA, SLUGS_250[:150]), {"debounced": True}),
        ("e", (M.TRADE, SLUGS_250[200:]), {"request_id": "trades-mine"}),
    ]
    for name, args, kwargs in cases:
        handles[name], frames[name] = session.subscribe(*args, **kwargs)
    return session, handles, frames


def test_resubscribe_frames_equal_exactly_the_live_set() -> None:
    session, handles, frames = build_live_set()
    assert parse(session.resubscribe_frames()) == parse(
        [f for name in "abcde" for f in frames[name]]
    )

    unsub_b = session.unsubscribe(handles["b"])
    unsub_d = session.unsubscribe(handles["d"])
    for frames_sent, name in ((unsub_b, "b"), (unsub_d, "d")):
        assert parse(frames_sent) == [
            {"unsubscribe": {"request_id": rid}} for rid in handles[name].request_ids
        ]
    assert len(unsub_d) == 2
    assert handles["b"].status == "unsubscribed" and not handles["b"].active
    assert session.unsubscribe(handles["b"]) == []  # already ended: nothing to send

    replay = session.resubscribe_frames()
    expected = [f for name in "ace" for f in frames[name]]
    assert parse(replay) == parse(expected)
    live_ids = [b["request_id"] for b in bodies(replay)]
    assert live_ids == [*handles["a"].request_ids, "mine", "trades-mine"]
    assert [s for b in bodies(replay) for s in b.get("market_slugs", [])] == (
        SLUGS_250 + ["x"] + SLUGS_250[200:]
    )
    assert session.live == [handles["a"], handles["c"], handles["e"]]

    session.unsubscribe(handles["a"])
    session.unsubscribe(handles["c"])
    session.unsubscribe(handles["e"])
    assert session.resubscribe_frames() == []
    assert session.live == []


def test_resubscribe_in_camel_dialect() -> None:
    session = Session("private", dialect="camel")
    h, frames = session.subscribe(P.ORDER, request_id="order-sub-1")
    assert parse(frames) == [
        {"subscribe": {"requestId": "order-sub-1", "subscriptionType": "SUBSCRIPTION_TYPE_ORDER"}}
    ]
    assert session.resubscribe_frames() == frames
    assert parse(session.unsubscribe(h)) == [{"unsubscribe": {"requestId": "order-sub-1"}}]


def test_events_of_unsubscribed_ids_are_not_delivered() -> None:
    session, handles, _ = build_live_set()
    session.unsubscribe(handles["a"])
    for rid in handles["a"].request_ids:
        routed = session.route(md_event(rid, "market-slug-0"))
        assert routed is not None
        assert routed.handle is handles["a"]
        assert routed.deliver is False
        assert routed.snapshot is False
    live = session.route(md_event("mine", "x", kind="market_data_lite"))
    assert live is not None and live.handle is handles["c"] and live.deliver is True
    # Even an error for an ended subscription changes nothing.
    routed = route(session, {"request_id": handles["a"].request_ids[0], "error": "late"})
    assert routed is not None and routed.deliver is False
    assert handles["a"].status == "unsubscribed" and handles["a"].error is None


def test_events_for_no_subscription_route_to_none() -> None:
    session, _, _ = build_live_set()
    assert session.route(decode('{"heartbeat":{}}', "markets")) is None
    assert route(session, {"request_id": "nobody", "trade": {}}) is None
    assert route(session, {"error": "general failure"}) is None
    assert route(session, {"requestId": "nobody", "error": "x"}) is None
    assert session.handle_for("nobody") is None


# ---------------------------------------------------------------- errors


def test_error_response_marks_the_handle_failed() -> None:
    session = Session("markets")
    bad, _ = session.subscribe(M.TRADE, ["no-such-market"], request_id="t-1")
    good, good_frames = session.subscribe(M.TRADE, ["market-slug-1"])
    routed = route(
        session,
        {
            "requestId": "t-1",
            "subscriptionType": "SUBSCRIPTION_TYPE_TRADE",
            "error": "market not found",
        },
    )
    assert routed is not None
    assert routed.handle is bad
    assert routed.deliver is True  # the error itself reaches the caller
    assert bad.error == "market not found"
    assert bad.active is False
    assert bad.status == "failed"
    assert good.active and good.status == "live" and good.error is None
    # Nothing more is delivered for a failed handle; it is forgotten (its id is
    # free again) and not resubscribed.
    later = route(session, {"request_id": "t-1", "trade": {"market_slug": "no-such-market"}})
    assert later is not None and later.deliver is False
    assert session.unsubscribe(bad) == []
    assert session.resubscribe_frames() == good_frames
    assert session.live == [good] and len(session) == 1


def test_error_on_one_part_of_a_chunked_subscription() -> None:
    session = Session("markets")
    handle, frames = session.subscribe(M.MARKET_DATA, SLUGS_250)
    first, second, third = handle.request_ids
    route(session, {"request_id": second, "error": "too many markets"})
    assert handle.error == "too many markets"
    assert handle.active is False
    assert handle.status == "live"  # two parts still run
    replay = session.resubscribe_frames()
    assert [b["request_id"] for b in bodies(replay)] == [first, third]
    assert parse(replay) == parse([frames[0], frames[2]])
    dead = session.route(md_event(second, SLUGS_250[150]))
    assert dead is not None and dead.deliver is False
    alive = session.route(md_event(third, SLUGS_250[220]))
    assert alive is not None and alive.deliver is True
    assert parse(session.unsubscribe(handle)) == [
        {"unsubscribe": {"request_id": first}}, {"unsubscribe": {"request_id": third}}
    ]
    # Once every part failed, the handle is failed.
    session2 = Session("markets")
    h2, _ = session2.subscribe(M.MARKET_DATA, SLUGS_250[:150])
    for rid in h2.request_ids:
        route(session2, {"request_id": rid, "error": "nope"})
    assert h2.status == "failed"
    assert session2.resubscribe_frames() == []


def test_non_string_error_text() -> None:
    session = Session("private")
    handle, _ = session.subscribe(P.ORDER, request_id="o-1")
    route(session, {"request_id": "o-1", "error": ""})
    assert handle.error  # an empty text still marks the failure
    assert handle.status == "failed"


# ---------------------------------------------------------------- snapshots


def test_market_data_snapshot_completes_after_every_slug() -> None:
    session = Session("markets")
    handle, _ = session.subscribe(M.MARKET_DATA, ["a", "b", "c"], request_id="md-1")
    assert handle.snapshot_complete is False
    r = session.route(md_event("md-1", "a"))
    assert r is not None and r.snapshot and not r.snapshot_complete and not r.resync
    r = session.route(md_event("md-1", "a"))  # an update, not snapshot
    assert r is not None and not r.snapshot and not r.snapshot_complete
    r = session.route(md_event("md-1", "zzz"))  # a market we did not ask for
    assert r is not None and not r.snapshot
    r = session.route(md_event("md-1", "b"))
    assert r is not None and r.snapshot and not r.snapshot_complete
    assert handle.snapshot_complete is False
    r = session.route(md_event("md-1", "c"))
    assert r is not None and r.snapshot and r.snapshot_complete
    assert handle.snapshot_complete is True
    r = session.route(md_event("md-1", "c"))
    assert r is not None and not r.snapshot and not r.snapshot_complete


def test_chunked_market_data_snapshot_needs_every_slug_of_every_part() -> None:
    session = Session("markets")
    handle, frames = session.subscribe(M.MARKET_DATA_LITE, SLUGS_250)
    completions = []
    for body in bodies(frames):
        for slug in body["market_slugs"]:
            r = session.route(md_event(body["request_id"], slug, kind="market_data_lite"))
            assert r is not None and r.snapshot
            completions.append(r.snapshot_complete)
    assert completions == [False] * 249 + [True]
    assert handle.snapshot_complete


def test_order_snapshot_completes_on_eof_across_pages() -> None:
    session = Session("private")
    handle, _ = session.subscribe(P.ORDER, request_id="order-sub-1")
    pages = [
        {"orders": [{"id": "o-1"}], "eof": False},
        {"orders": [{"id": "o-2"}]},
        {"orders": [{"id": "o-3"}], "eof": True},
    ]
    results = []
    for page in pages:
        r = route(session, {"requestId": "order-sub-1", "orderSubscriptionSnapshot": page})
        assert r is not None and r.snapshot and r.deliver
        results.append(r.snapshot_complete)
    assert results == [False, False, True]
    assert handle.snapshot_complete
    update = route(session, {"requestId": "order-sub-1",
                             "orderSubscriptionUpdate": {"execution": {"id": "e"}}})
    assert update is not None and not update.snapshot


def test_balance_snapshot_and_types_without_snapshot() -> None:
    session = Session("private")
    bal, _ = session.subscribe(P.ACCOUNT_BALANCE, request_id="b-1")
    pos, _ = session.subscribe(P.POSITION, request_id="p-1")
    rfq, _ = session.subscribe(P.RFQ, request_id="r-1")
    assert not bal.snapshot_complete
    assert pos.snapshot_complete and rfq.snapshot_complete
    r = route(session, {"request_id": "b-1", "account_balances_snapshot": {"balances": []}})
    assert r is not None and r.snapshot and r.snapshot_complete
    r = route(session, {"request_id": "p-1", "position_subscription": {}})
    assert r is not None and not r.snapshot
    trades = Session("markets")
    t, _ = trades.subscribe(M.TRADE, ["a"], request_id="t-1")
    assert t.snapshot_complete
    r = route(trades, {"request_id": "t-1", "trade": {"market_slug": "a"}})
    assert r is not None and not r.snapshot


def test_resync_is_false_before_and_true_after_a_reconnect() -> None:
    session = Session("private")
    orders, _ = session.subscribe(P.ORDER, request_id="o-1")
    r = route(session, {"request_id": "o-1", "order_subscription_snapshot": {"eof": True}})
    assert r is not None and r.snapshot_complete and r.resync is False
    # Reconnect: the live set is replayed and fresh snapshots are awaited.
    session.resubscribe_frames()
    assert orders.snapshot_complete is False
    r = route(session, {"request_id": "o-1", "order_subscription_snapshot": {"eof": False}})
    assert r is not None and r.snapshot and r.resync is True and not r.snapshot_complete
    r = route(session, {"request_id": "o-1", "order_subscription_snapshot": {"eof": True}})
    assert r is not None and r.snapshot_complete and r.resync is True
    update = route(session, {"request_id": "o-1", "order_subscription_update": {}})
    assert update is not None and update.resync is False and not update.snapshot
    # Without resync (e.g. a first connect replay) nothing is marked.
    session.resubscribe_frames(resync=False)
    r = route(session, {"request_id": "o-1", "order_subscription_snapshot": {"eof": True}})
    assert r is not None and r.snapshot_complete and r.resync is False


def test_market_resync_after_reconnect() -> None:
    session = Session("markets")
    handle, _ = session.subscribe(M.MARKET_DATA, ["a", "b"], request_id="md-1")
    assert session.route(md_event("md-1", "a")).resync is False  # type: ignore[union-attr]
    session.resubscribe_frames()
    ra = session.route(md_event("md-1", "a"))
    rb = session.route(md_event("md-1", "b"))
    assert ra is not None and rb is not None
    assert ra.resync and rb.resync
    assert (ra.snapshot_complete, rb.snapshot_complete) == (False, True)


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "endpoint, sub_type, other",
    [("private", M.MARKET_DATA, "markets"), ("private", M.TRADE, "markets"),
     ("markets", P.ORDER, "private"), ("markets", P.RFQ, "private")],
)
def test_type_of_the_other_endpoint(endpoint: str, sub_type: Any, other: str) -> None:
    session = Session(endpoint)
    with pytest.raises(SubscriptionError) as info:
        session.subscribe(sub_type, ["market-slug-1"])
    message = str(info.value)
    assert other in message and endpoint in message
    assert sub_type.value in message
    assert session.live == []


@pytest.mark.parametrize(
    "value", ["SUBSCRIPTION_TYPE_NOPE", 99, "SUBSCRIPTION_TYPE_ORDER", True, None, 1.0]
)
def test_unknown_subscription_type_for_the_endpoint(value: Any) -> None:
    session = Session("markets")
    with pytest.raises(SubscriptionError, match="unknown subscription type"):
        session.subscribe(value, ["a"])


def test_type_by_name_or_number() -> None:
    session = Session("markets")
    h1, _ = session.subscribe("SUBSCRIPTION_TYPE_TRADE", ["a"])
    h2, _ = session.subscribe(2, ["a"])
    assert h1.subscription_type is M.TRADE
    assert h2.subscription_type is M.MARKET_DATA_LITE


@pytest.mark.parametrize("slugs", [None, [], ()])
def test_markets_subscription_needs_slugs(slugs: Any) -> None:
    session = Session("markets")
    with pytest.raises(SubscriptionError, match="market slug"):
        session.subscribe(M.MARKET_DATA, slugs)
    assert session.live == []


@pytest.mark.parametrize("slug", ["", "   ", "\t"])
def test_empty_slug(slug: str) -> None:
    for endpoint, sub_type in (("markets", M.TRADE), ("private", P.ORDER)):
        with pytest.raises(ValueError, match="empty"):
            Session(endpoint).subscribe(sub_type, ["good", slug])


@pytest.mark.parametrize("slug", [5, None, b"bytes", ["nested"], 1.5])
def test_non_string_slug(slug: Any) -> None:
    with pytest.raises(TypeError, match="string"):
        Session("markets").subscribe(M.TRADE, ["good", slug])


@pytest.mark.parametrize("slugs", ["market-slug-1", b"market-slug-1"])
def test_a_bare_string_as_market_slugs(slugs: Any) -> None:
    session = Session("markets")
    with pytest.raises(TypeError, match="single string"):
        session.subscribe(M.MARKET_DATA, slugs)
    assert session.live == []


def test_duplicate_request_id_from_the_caller() -> None:
    session = Session("markets")
    first, _ = session.subscribe(M.TRADE, ["a"], request_id="trade-sub-1")
    with pytest.raises(SubscriptionError, match="already in use") as info:
        session.subscribe(M.MARKET_DATA, ["b"], request_id="trade-sub-1")
    assert info.value.request_id == "trade-sub-1"
    assert session.live == [first]
    assert session.handle_for("trade-sub-1") is first
    # Also when the clash is with one part of a chunked subscription.
    chunked, _ = session.subscribe(M.MARKET_DATA, SLUGS_250, request_id="big")
    with pytest.raises(SubscriptionError):
        session.subscribe(M.TRADE, ["c"], request_id=chunked.request_ids[1])
    # An ended subscription's id is free again; its late events are dropped until then.
    session.unsubscribe(first)
    trade = {"request_id": "trade-sub-1", "trade": {"market_slug": "a"}}
    assert route(session, trade) == Routed(first, deliver=False)
    again, _ = session.subscribe(M.TRADE, ["a"], request_id="trade-sub-1")
    assert route(session, trade) == Routed(again)


@pytest.mark.parametrize("rid", ["", "  ", 5])
def test_bad_request_id(rid: Any) -> None:
    with pytest.raises(ValueError, match="request_id"):
        Session("private").subscribe(P.ORDER, request_id=rid)


@pytest.mark.parametrize("sub_type", [P.ACCOUNT_BALANCE, P.RFQ])
def test_balance_and_rfq_take_no_slugs(sub_type: P) -> None:
    session = Session("private")
    with pytest.raises(SubscriptionError, match="no market slugs"):
        session.subscribe(sub_type, ["market-slug-1"])
    assert session.live == []
    handle, _ = session.subscribe(sub_type)
    assert handle.market_slugs == ()


def test_bad_session_arguments() -> None:
    with pytest.raises(ValueError, match="endpoint"):
        Session("public")
    with pytest.raises(ValueError, match="dialect"):
        Session("markets", dialect="kebab")


# ---------------------------------------------------------------- request ids


def test_generated_request_ids_are_unique() -> None:
    session = Session("private")
    seen: list[str] = []
    for i in range(60):
        sub_type = [P.ORDER, P.ORDER_SNAPSHOT, P.POSITION, P.ACCOUNT_BALANCE, P.RFQ][i % 5]
        slugs = [f"s-{j}" for j in range(i * 7)] if sub_type in (P.ORDER, P.POSITION) else None
        handle, frames = session.subscribe(sub_type, slugs)
        ids = [b["request_id"] for b in bodies(frames)]
        assert list(handle.request_ids) == ids
        seen.extend(ids)
    assert len(seen) == len(set(seen))
    assert all(isinstance(r, str) and r for r in seen)


def test_generated_id_never_collides_with_a_caller_id() -> None:
    session = Session("markets")
    first, _ = session.subscribe(M.TRADE, ["a"])
    base = first.request_ids[0].rsplit("-", 1)[0]
    # The caller takes ids the generator would produce a little later...
    for n in range(10, 21):
        session.subscribe(M.TRADE, ["a"], request_id=f"{base}-{n}")
    # ...and generated ids still never raise and never clash.
    for _ in range(5):
        handle, frames = session.subscribe(M.TRADE, ["a"])
        (body,) = bodies(frames)
        assert body["request_id"] == handle.request_ids[0]
        assert session.handle_for(body["request_id"]) is handle
    for _ in range(10):
        session.subscribe(M.TRADE, ["a"])
    all_ids = [rid for h in session.live for rid in h.request_ids]
    assert len(all_ids) == len(set(all_ids)) == 27


def test_id_prefix() -> None:
    a = Session("markets", id_prefix="conn1-")
    b = Session("markets", id_prefix="conn2-")
    ha, _ = a.subscribe(M.TRADE, ["x"])
    hb, _ = b.subscribe(M.TRADE, ["x"])
    assert ha.request_ids[0].startswith("conn1-")
    assert hb.request_ids[0].startswith("conn2-")
    assert ha.request_ids != hb.request_ids


# ---------------------------------------------------------------- sans-I/O


def test_the_no_io_guard_is_active() -> None:
    """The autouse fixture of tests/core/conftest.py refuses every connection."""
    with pytest.raises(NetworkUsed):
        socket.create_connection(("127.0.0.1", 9))
    with socket.socket() as sock:
        with pytest.raises(NetworkUsed):
            sock.connect(("127.0.0.1", 9))


def test_a_whole_session_lifecycle_opens_nothing() -> None:
    before = threading.active_count()
    session, handles, _ = build_live_set()
    for h in handles.values():
        for rid in h.request_ids:
            session.route(md_event(rid, "market-slug-1"))
    session.unsubscribe(handles["a"])
    session.resubscribe_frames()
    assert threading.active_count() == before
