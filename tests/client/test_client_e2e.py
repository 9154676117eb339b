"""PrivateClient and MarketsClient end to end against mockserver."""

from __future__ import annotations

import base64
import json
import threading
import time
from decimal import Decimal
from typing import Any

import pytest

import pmsync
from pmsync import models as m
from pmsync.enums import MarketSubscriptionType, PrivateSubscriptionType

from .conftest import Recorder, pmsync_threads, wait_until

PRIVATE = "/v1/ws/private"
MARKETS = "/v1/ws/markets"


def _inbound_requests(server: Any, path: str) -> list[tuple[int, dict[str, Any]]]:
    """(connection id, parsed request) for every frame the client sent on ``path``."""
    return [
        (e.conn_id, e.data)
        for e in server.journal.entries(direction="in", path=path)
        if isinstance(e.data, dict)
    ]


def _request_ids(requests: list[tuple[int, dict[str, Any]]], conn_id: int, verb: str) -> list[str]:
    out = []
    for cid, data in requests:
        body = data.get(verb)
        if cid == conn_id and isinstance(body, dict):
            out.append(body.get("request_id") or body.get("requestId"))
    return out


# --------------------------------------------------------------------------- delivery


@pytest.mark.parametrize("dialect", ["snake", "camel"])
def test_private_types_deliver_snapshot_then_updates_to_both_callbacks(
    dialect: str, pm_mockserver: Any, make_client: Any
) -> None:
    server = pm_mockserver
    level: dict[str, Recorder] = {k: Recorder() for k in (
        "on_order_snapshot", "on_order_update", "on_position_update",
        "on_balance_snapshot", "on_balance_update", "on_rfq_event")}
    client = make_client(
        pmsync.PrivateClient, base_url=f"{server.url}?dialect={dialect}", dialect=dialect, **level
    )
    client.connect()
    handles = {name: Recorder() for name in ("orders", "snapshot", "positions", "balances", "rfq")}
    orders = client.subscribe_orders(callback=handles["orders"])
    snapshot_only = client.subscribe_order_snapshot(callback=handles["snapshot"])
    positions = client.subscribe_positions(callback=handles["positions"])
    balances = client.subscribe_balances(callback=handles["balances"])
    rfq = client.subscribe_rfq(callback=handles["rfq"])

    snap = orders.wait_snapshot(5)
    assert snap is not None and snap.kind == "order_snapshot"
    assert isinstance(snap.data, m.OrderSnapshot) and snap.data.eof
    assert len(snap.data.orders) == len(server.open_order_ids)  # every page merged
    assert all(isinstance(o.price, m.Amount) and isinstance(o.quantity, Decimal)
               for o in snap.data.orders)
    assert snapshot_only.wait_snapshot(5) is not None
    bal = balances.wait_snapshot(5)
    assert bal is not None and isinstance(bal.data.balances[0].current_balance, Decimal)
    assert positions.wait_snapshot(5) is None and rfq.wait_snapshot(5) is None

    server.wait_for_subscription("SUBSCRIPTION_TYPE_RFQ")
    server.wait_for_subscription("SUBSCRIPTION_TYPE_POSITION")
    server.inject_fill()
    server.inject_rfq()
    server.inject_balance_change("25.00", "Deposit")

    handles["orders"].wait_for(lambda ev: "order_update" in [e.kind for e in ev])
    handles["positions"].wait_for(lambda ev: any(e.kind == "position_update" for e in ev))
    handles["balances"].wait_for(lambda ev: sum(e.kind == "balance_update" for e in ev) >= 2)
    handles["rfq"].wait_for(lambda ev: any(e.kind == "rfq_event" for e in ev))

    kinds = handles["orders"].kinds()
    assert kinds.index("order_update") > max(i for i, k in enumerate(kinds) if k == "order_snapshot")
    assert handles["balances"].kinds()[0] == "balance_snapshot"
    update = next(e for e in handles["orders"].items if e.kind == "order_update")
    assert isinstance(update.data.execution, m.Execution)
    assert update.subscription_type is PrivateSubscriptionType.ORDER
    pos = next(e for e in handles["positions"].items if e.kind == "position_update")
    assert isinstance(pos.data, m.PositionUpdate) and isinstance(pos.data.after_position, m.Position)
    rfq_event = next(e for e in handles["rfq"].items if e.kind == "rfq_event")
    assert isinstance(rfq_event.data, m.RfqEvent)
    # The client-level callbacks saw the same events (the handle's first).
    for name, kind in (("on_order_update", "order_update"), ("on_balance_update", "balance_update"),
                       ("on_position_update", "position_update"), ("on_rfq_event", "rfq_event")):
        level[name].wait_for(lambda ev, k=kind: any(e.kind == k for e in ev))
    assert level["on_order_snapshot"].items[0].kind == "order_snapshot"
    assert level["on_balance_snapshot"].items[0] == bal


@pytest.mark.parametrize("dialect", ["snake", "camel"])
def test_market_types_deliver_snapshot_then_updates_to_both_callbacks(
    dialect: str, pm_mockserver: Any, make_client: Any
) -> None:
    server = pm_mockserver
    slugs = server.markets[:2]
    level = {k: Recorder() for k in ("on_market_data", "on_market_data_lite", "on_trade")}
    client = make_client(base_url=f"{server.url}?dialect={dialect}", dialect=dialect, **level)
    handle_md, handle_lite, handle_trades = Recorder(), Recorder(), Recorder()
    md = client.subscribe_market_data(slugs, callback=handle_md)
    lite = client.subscribe_market_data_lite(slugs, callback=handle_lite)
    trades = client.subscribe_trades(slugs, callback=handle_trades)
    client.connect()  # subscriptions made before connect() are sent on connect

    assert md.wait_snapshot(5).kind == "market_data"
    assert lite.wait_snapshot(5).kind == "market_data_lite"
    assert trades.wait_snapshot(5) is None
    first = handle_md.wait_count(2)[:2]
    assert {e.data.market_slug for e in first} == set(slugs)
    assert all(e.subscription_type is MarketSubscriptionType.MARKET_DATA for e in first)
    server.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE")
    server.inject_trade(slugs[0])
    trade = handle_trades.wait_count(1)[0]
    assert isinstance(trade.data, m.Trade) and isinstance(trade.data.price.value, Decimal)
    handle_md.wait_count(4)  # updates from the ticker after the snapshots
    handle_lite.wait_count(3)
    level["on_trade"].wait_count(1)
    level["on_market_data"].wait_count(4)
    assert level["on_market_data"].items[:2] == handle_md.items[:2]
    book = client.book(slugs[0])
    assert book is not None and book.full and book.best_bid is not None
    assert book.best_bid < book.best_ask and book.spread == book.best_ask - book.best_bid


def test_messages_iterator_and_stats(pm_mockserver: Any, make_client: Any) -> None:
    client = make_client()
    client.connect()
    client.subscribe_market_data(pm_mockserver.markets[:1])
    seen = []
    for event in client.messages(timeout=5):
        seen.append(event)
        if len(seen) == 3:
            break
    assert [e.kind for e in seen] == ["market_data"] * 3
    stats = client.stats()
    assert stats["events"]["market_data"] >= 3 and stats["connected"]
    assert stats["reconnects"] == 0 and stats["decode_errors"] == 0
    assert stats["last_frame_age"] is not None and stats["last_frame_age"] < 5


def test_queue_drops_oldest_and_reports_once_per_burst(pm_mockserver: Any, make_client: Any) -> None:
    errors = Recorder()
    client = make_client(queue_size=3, on_error=errors)
    client.connect()
    sub = client.subscribe_market_data(pm_mockserver.markets[:3])
    iterator = client.messages(timeout=5)
    next(iterator)  # messages() is now in use
    sub.wait_snapshot(5)
    wait_until(lambda: client.stats()["dropped"] >= 5, 10, "drops")
    overflows = [e for e in errors.items if isinstance(e, pmsync.QueueOverflow)]
    assert len(overflows) == 1  # one burst, one report
    drained = [next(iterator) for _ in range(3)]
    assert all(e.kind in ("market_data",) for e in drained)


def test_server_error_fails_the_subscription_with_its_text(pm_mockserver: Any, make_client: Any) -> None:
    errors = Recorder()
    client = make_client(on_error=errors)
    client.connect()
    sub = client.subscribe_market_data(["no-such-market"])
    with pytest.raises(pmsync.SubscriptionError, match="no-such-market"):
        sub.wait_snapshot(5)
    assert not sub.active and sub.error and sub.status == "failed"
    err = errors.wait_count(1)[0]
    assert isinstance(err, pmsync.SubscriptionError) and err.request_id == sub.request_ids[0]


def test_bad_frames_go_to_on_error_and_the_reader_goes_on(pm_mockserver: Any, make_client: Any) -> None:
    errors, unknown, data = Recorder(), Recorder(), Recorder()
    client = make_client(on_error=errors, on_unknown=unknown, on_market_data=data)
    client.connect()
    client.subscribe_market_data(pm_mockserver.markets[:1]).wait_snapshot(5)
    pm_mockserver.send_malformed(MARKETS)
    pm_mockserver.send_binary(MARKETS)
    pm_mockserver.send_unknown_payload(MARKETS)
    errors.wait_count(2)
    unknown.wait_count(1)
    assert all(isinstance(e, pmsync.DecodeError) for e in errors.items[:2])
    n = len(data)
    data.wait_count(n + 2)  # still reading
    assert client.stats()["decode_errors"] == 2 and client.stats()["reconnects"] == 0


def test_250_slug_subscription_is_one_handle_and_receives_all_markets(
    pm_mockserver_factory: Any, make_client: Any
) -> None:
    slugs = [f"market-{i:03d}" for i in range(250)]
    server = pm_mockserver_factory(markets=slugs, heartbeat_interval=0.5, tick_interval=0.2)
    server.pause_ticker()
    books = Recorder()
    client = make_client(server=server, on_market_data=books)
    client.connect()
    sub = client.subscribe_market_data(slugs)
    assert len(sub.request_ids) == 3 and len(client.subscriptions) == 1
    sub.wait_snapshot(10)
    received = {e.data.market_slug for e in books.wait_count(250)}
    assert received == set(slugs)
    requests = [d for _, d in _inbound_requests(server, MARKETS) if "subscribe" in d]
    assert sorted(len(d["subscribe"]["market_slugs"]) for d in requests) == [50, 100, 100]
    assert {e.request_id for e in books.items} == set(sub.request_ids)


# --------------------------------------------------------------------------- handshake


def test_503_twice_then_connected_after_two_backoffs_with_fresh_signatures(
    pm_mockserver: Any, make_client: Any
) -> None:
    pm_mockserver.reject_handshakes(2, status=503)
    client = make_client(backoff_initial=0.05)
    started = time.monotonic()
    client.connect()
    assert client.connected
    assert time.monotonic() - started >= 0.05 * 0.5 + 0.1 * 0.5  # two backoffs, jitter ≥ 50 %
    records = [h for h in pm_mockserver.handshakes if h.path == MARKETS]
    assert [h.status for h in records] == [503, 503, 101]
    pairs = {(h.headers["X-PM-Timestamp"], h.headers["X-PM-Signature"]) for h in records}
    assert len(pairs) == 3 and len({sig for _, sig in pairs}) == 3


def test_retry_after_is_honoured(pm_mockserver: Any, make_client: Any) -> None:
    pm_mockserver.reject_handshakes(1, status=429, retry_after=0.4)
    client = make_client(backoff_initial=0.01)
    started = time.monotonic()
    client.connect()
    assert time.monotonic() - started >= 0.4


def test_401_on_reconnect_is_fatal_and_run_forever_raises(pm_mockserver: Any, make_client: Any) -> None:
    errors = Recorder()
    client = make_client(on_error=errors)
    client.connect()
    pm_mockserver.wait_for_connection(path=MARKETS)  # the server has registered it
    pm_mockserver.reject_handshakes(5, status=401, body="invalid signature")
    pm_mockserver.drop_connections()
    with pytest.raises(pmsync.AuthenticationError) as info:
        client.run_forever()
    assert info.value.status == 401 and "invalid signature" in str(info.value)
    assert any(isinstance(e, pmsync.AuthenticationError) for e in errors.items)
    assert [h.status for h in pm_mockserver.handshakes].count(401) == 1  # no retry
    client.close()
    assert not pmsync_threads()


# --------------------------------------------------------------------------- reconnect


def test_drop_reconnects_resubscribes_live_set_and_marks_resync(
    pm_mockserver: Any, make_client: Any
) -> None:
    server = pm_mockserver
    slugs = server.markets[:2]
    events, reconnects, connects = Recorder(), Recorder(), Recorder()
    client = make_client(
        on_market_data=events, on_market_data_lite=events, on_reconnect=reconnects,
        on_connect=connects,
    )
    client.connect()
    md = client.subscribe_market_data(slugs)
    lite = client.subscribe_market_data_lite(slugs)
    trades = client.subscribe_trades(slugs)
    gone = client.subscribe_market_data(server.markets[2:3])
    md.wait_snapshot(5)
    lite.wait_snapshot(5)
    gone.wait_snapshot(5)
    gone.unsubscribe()
    assert not any(e.resync for e in events.items)
    first_conn = server.wait_for_connection(path=MARKETS).id
    before = len(events)

    server.drop_connections()
    began, ended = reconnects.wait_count(1)[0]
    assert began <= ended
    md.wait_snapshot(5)
    lite.wait_snapshot(5)
    after = events.wait_for(
        lambda ev: sum(e.resync for e in ev[before:]) >= 4
    )[before:]
    resynced = [e for e in after if e.resync]
    assert {(e.kind, e.data.market_slug) for e in resynced} == {
        (k, s) for k in ("market_data", "market_data_lite") for s in slugs
    }
    new_conn = server.wait_for_connection(path=MARKETS).id
    assert new_conn != first_conn
    live = sorted(md.request_ids + lite.request_ids + trades.request_ids)

    def resent_ids() -> list[str]:
        return sorted(_request_ids(_inbound_requests(server, MARKETS), new_conn, "subscribe"))

    # The server logs a request when it handles it, maybe after our snapshots.
    wait_until(lambda: len(resent_ids()) >= len(live), 5, "resubscriptions logged")
    resent = resent_ids()
    assert resent == live
    assert gone.request_ids[0] not in resent
    assert client.stats()["reconnects"] == 1 and len(connects) == 2
    # Only the snapshot after the reconnect is marked; later updates are not.
    events.wait_for(lambda ev: any(not e.resync for e in ev[before + len(after):]))


@pytest.mark.parametrize("code", [1001, 1011])
def test_close_frame_from_server_reconnects(code: int, pm_mockserver: Any, make_client: Any) -> None:
    disconnects, reconnects = Recorder(), Recorder()
    client = make_client(on_disconnect=disconnects, on_reconnect=reconnects)
    client.connect()
    sub = client.subscribe_market_data(pm_mockserver.markets[:1])
    sub.wait_snapshot(5)
    pm_mockserver.close_connections(code=code, reason="going away")
    error = disconnects.wait_count(1)[0]
    assert isinstance(error, pmsync.ConnectionClosed) and error.code == code
    reconnects.wait_count(1)
    assert sub.wait_snapshot(5).resync


def test_heartbeat_stall_replaces_connection_within_timeout_plus_backoff(
    pm_mockserver: Any, make_client: Any
) -> None:
    reconnects = Recorder()
    timeout, backoff = 0.6, 0.2
    client = make_client(
        heartbeat_timeout=timeout, backoff_initial=backoff, backoff_max=backoff,
        ping_interval=0.1,  # pongs must not count as life
        on_reconnect=reconnects,
    )
    client.connect()
    pm_mockserver.pause_ticker()
    pm_mockserver.stop_heartbeats()
    stalled = time.monotonic()
    reconnects.wait_count(1, timeout=5)
    elapsed = time.monotonic() - stalled
    # The silence began at the last heartbeat, up to one interval before the stall.
    assert elapsed < timeout + backoff + 1.0
    pm_mockserver.resume_heartbeats()


def test_slow_callback_causes_no_reconnect(pm_mockserver: Any, make_client: Any) -> None:
    pm_mockserver.pause_ticker()
    seen = Recorder()
    slow = threading.Event()

    def callback(event: Any) -> None:
        seen(event)
        if not slow.is_set():
            slow.set()
            threading.Event().wait(1.5)  # the behaviour under test: a callback slower than the timeout

    client = make_client(heartbeat_timeout=0.7, on_heartbeat=callback, on_market_data=callback)
    client.connect()
    seen.wait_count(6, timeout=10)  # heartbeats every 0.5 s keep coming after the slow one
    assert client.stats()["reconnects"] == 0
    assert len([h for h in pm_mockserver.handshakes if h.path == MARKETS]) == 1


def test_raising_callback_does_not_stop_dispatch(pm_mockserver: Any, make_client: Any) -> None:
    errors, level = Recorder(), Recorder()

    def boom(event: Any) -> None:
        raise RuntimeError("callback bug")

    client = make_client(on_market_data=level, on_callback_error=errors)
    client.connect()
    client.subscribe_market_data(pm_mockserver.markets[:2], callback=boom)
    level.wait_count(10)
    errors.wait_count(10)
    pairs = errors.items[:10]
    assert all(isinstance(exc, RuntimeError) and ev.kind == "market_data" for exc, ev in pairs)
    assert [ev for _, ev in pairs] == level.items[:10]
    assert client.stats()["callback_errors"] >= 10 and client.connected


# --------------------------------------------------------------------------- close


def test_close_from_inside_a_callback(pm_mockserver: Any, make_client: Any) -> None:
    client = make_client()
    after_close: list[Any] = []
    closed = threading.Event()

    def handle_cb(event: Any) -> None:
        if not closed.is_set():
            started = time.monotonic()
            client.close()
            assert time.monotonic() - started < 1.0
            closed.set()

    def level_cb(event: Any) -> None:
        if closed.is_set():
            after_close.append(event)

    client.on_market_data = level_cb
    client.connect()
    client.subscribe_market_data(pm_mockserver.markets[:2], callback=handle_cb)
    assert closed.wait(5)
    wait_until(lambda: not pmsync_threads(), 2, "reader to end")
    assert after_close == []


def test_close_from_another_thread_while_streaming(pm_mockserver: Any, make_client: Any) -> None:
    after: list[Any] = []
    returned = threading.Event()

    def cb(event: Any) -> None:
        if returned.is_set():
            after.append(event)

    client = make_client(on_market_data=cb, on_heartbeat=cb)
    client.connect()
    client.subscribe_market_data(pm_mockserver.markets).wait_snapshot(5)
    result: list[float] = []

    def closer() -> None:
        started = time.monotonic()
        client.close()
        result.append(time.monotonic() - started)
        returned.set()

    thread = threading.Thread(target=closer, name="test-closer")
    thread.start()
    thread.join(5)
    assert result and result[0] < 1.0
    assert not pmsync_threads()
    assert after == []


def test_close_during_backoff_returns_promptly(pm_mockserver: Any, make_client: Any) -> None:
    disconnects = Recorder()
    client = make_client(backoff_initial=5.0, backoff_max=5.0, on_disconnect=disconnects)
    client.connect()
    pm_mockserver.wait_for_connection(path=MARKETS)  # the server has registered it
    pm_mockserver.reject_handshakes(10, status=503)
    pm_mockserver.drop_connections()
    disconnects.wait_count(1)
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 1.0
    assert not pmsync_threads()


def test_close_twice_and_before_connect(pm_mockserver: Any, make_client: Any) -> None:
    never = make_client()
    never.close()
    never.close()
    client = make_client()
    client.connect()
    for _ in range(2):
        started = time.monotonic()
        client.close()
        assert time.monotonic() - started < 1.0
    assert not pmsync_threads()
    with pytest.raises(pmsync.ConnectionClosed):
        client.connect()


def test_context_manager_and_threads_back_to_baseline(
    pm_mockserver: Any, pm_credentials: pmsync.Credentials
) -> None:
    baseline = set(threading.enumerate())
    with pmsync.PrivateClient(pm_credentials, base_url=pm_mockserver.url) as client:
        client.subscribe_balances().wait_snapshot(5)
        assert len(pmsync_threads()) == 2  # reader and pinger
    wait_until(lambda: set(threading.enumerate()) - baseline == set(), 3, "baseline")


def test_subscribe_and_unsubscribe_from_inside_a_callback(pm_mockserver: Any, make_client: Any) -> None:
    trades = Recorder()
    client = make_client()
    made: list[Any] = []

    def on_first_book(event: Any) -> None:
        if not made:
            made.append(client.subscribe_trades(pm_mockserver.markets[:1], callback=trades))
            first.unsubscribe()

    client.connect()
    first = client.subscribe_market_data(pm_mockserver.markets[:1], callback=on_first_book)
    wait_until(lambda: bool(made), 5, "subscribe from callback")
    pm_mockserver.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE")
    pm_mockserver.inject_trade(pm_mockserver.markets[0])
    trades.wait_count(1)
    assert first.status == "unsubscribed" and made[0].active


def test_secret_and_signature_never_logged(
    pm_mockserver: Any, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    client = make_client()
    client.connect()
    client.subscribe_market_data(pm_mockserver.markets[:1]).wait_snapshot(5)
    pm_mockserver.drop_connections()
    wait_until(lambda: client.stats()["reconnects"] == 1, 5, "reconnect")
    client.close()
    secret = pm_mockserver.demo_secret_key
    raw = base64.b64decode(secret)
    signatures = [h.headers.get("X-PM-Signature", "") for h in pm_mockserver.handshakes]
    text = caplog.text + repr(client) + str(client) + json.dumps(client.stats())
    for needle in [secret, raw.hex(), raw[:32].hex(), *filter(None, signatures)]:
        assert needle not in text


def test_ctrl_c_during_run_forever_connect_closes_cleanly(
    pm_mockserver: Any, make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client()

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(client, "connect", interrupted)
    client.run_forever()  # returns instead of raising
    assert client.closed and not pmsync_threads()
