"""Issue 11: one test (at least) per numbered item, each failing on the client
before the lifecycle state machine; plus the "read in the code" list.

Long horizons run fast: a fake sleep for 100,000 failed reconnects, a fake
clock for the QueueOverflow rate, and frames fed straight to the reader's
entry point (no socket) for 5,000 subscribe/unsubscribe rounds.
"""

from __future__ import annotations

import gc
import logging
import math
import threading
import tracemalloc
import weakref
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

import pmsync
from pmsync.connection import Connection, ConnectionOptions
from pmsync.errors import ConnectionClosed

from .conftest import Recorder, pmsync_threads, wait_until

KEY = pmsync.Credentials.from_base64("00000000-0000-4000-8000-000000000000", "A" * 43 + "=")

BOOK = (
    '{"request_id":"%s","subscription_type":1,"market_data":{"market_slug":"%s",'
    '"bids":[{"px":{"value":"%s","currency":"USD"},"qty":"10"}],"offers":[],'
    '"state":1,"transact_time":"2024-01-15T10:30:00Z"}}'
)
LITE = (
    '{"request_id":"%s","subscription_type":2,"market_data_lite":{"market_slug":"%s",'
    '"best_bid":{"value":"%s","currency":"USD"},"best_ask":{"value":"0.70","currency":"USD"}}}'
)
TRADE = (
    '{"request_id":"%s","subscription_type":3,"trade":{"market_slug":"m-1",'
    '"price":{"value":"0.55","currency":"USD"},"quantity":{"value":"1","currency":"USD"},'
    '"trade_time":"2024-01-15T10:30:00Z"}}'
)


def feed(client: Any, text: str, times: int = 1) -> None:
    data = text.encode()
    for _ in range(times):
        client.frame_received(1, data)


class FakeConn:
    """Stands in for the Connection of an offline client, with a given reader thread."""

    def __init__(self, reader: threading.Thread | None = None) -> None:
        self.reader = reader
        self.last_frame = 0.0
        self.reconnects = 0

    def send(self, frames: list[str]) -> bool:
        return True

    def mark_healthy(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def offline() -> Iterator[Any]:
    """``offline(**options)``: a MarketsClient with a connection 'made' and no socket."""
    made: list[Any] = []

    def factory(send: Any = None, **options: Any) -> Any:
        options.setdefault("reconnect", False)
        options.setdefault("ping_interval", 0)
        client = pmsync.MarketsClient(KEY, **options)
        client.connection_made(send or (lambda frames: True), False)
        made.append(client)
        return client

    yield factory
    for client in made:
        client._conn = None
        client.close()


def run_in_thread(target: Any, name: str) -> tuple[threading.Thread, list[Any]]:
    """Run ``target()`` in a thread; its outcome (("ok", value) or ("raised", exc)) is appended."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(("ok", target()))
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(("raised", exc))

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread, outcome


# ---------------------------------------------------------------------------- item 1


def test_item01_backoff_no_overflow_at_any_attempt() -> None:
    options = ConnectionOptions(backoff_initial=0.5, backoff_max=30.0)
    listener: Any = None
    conn = Connection("ws://127.0.0.1:9", "/x", KEY, options, listener, name="t")
    for attempt in (1_024, 1_025, 1_026, 100_000):
        delay = conn._backoff(attempt, ConnectionClosed("down"))
        assert 15.0 <= delay <= 30.0


def test_item01_100000_failed_reconnects_then_back(
    pm_mockserver: Any, make_client: Any
) -> None:
    """Unlimited reconnects go on past 100,000 failures (zero wait: a fake sleep)."""
    reconnects = Recorder()
    errors = Recorder()
    client = make_client(on_reconnect=reconnects, on_error=errors)
    client.connect()
    conn = client._conn
    delays: list[float] = []
    failures = 100_000
    real_attempt = conn._attempt
    failed = [0]

    def attempt() -> Any:
        if failed[0] < failures:
            failed[0] += 1
            raise ConnectionClosed("refused (fake)")
        return real_attempt()

    def sleep(delay: float) -> bool:
        delays.append(delay)
        return bool(conn._stop.is_set())

    conn._attempt = attempt
    conn._sleep = sleep
    quiet = logging.getLogger("pmsync.connection")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # 100,000 "reconnecting in" lines are not the point
    try:
        pm_mockserver.drop_connections()
        reconnects.wait_count(1, timeout=120)
    finally:
        quiet.setLevel(level)
    assert len(delays) == failures + 1  # one wait per failure, plus the one before the first try
    assert max(delays) <= 0.5 and min(delays) > 0  # backoff_max of make_client
    assert client.connected and client.state == "open" and not errors.items


# ---------------------------------------------------------------------------- item 2


def test_item02_fatal_error_closes_the_client_for_good(
    pm_mockserver: Any, make_client: Any
) -> None:
    lost = threading.Event()
    go_on = threading.Event()
    errors = Recorder()

    def on_disconnect(error: Any) -> None:
        lost.set()
        go_on.wait(10)

    client = make_client(on_error=errors, on_disconnect=on_disconnect, ping_interval=0.05)
    client.connect()
    pm_mockserver.wait_for_connection(path=client.PATH)  # the server has registered it
    pm_mockserver.reject_handshakes(1, status=401)
    pm_mockserver.drop_connections()
    assert lost.wait(10)
    assert client.state == "reconnecting"
    sub = client.subscribe_market_data(pm_mockserver.markets[:1])  # queued; never sent
    waiter, outcome = run_in_thread(lambda: sub.wait_snapshot(None), "test-waiter")
    go_on.set()
    waiter.join(10)
    assert not waiter.is_alive(), "wait_snapshot(None) never woke"
    assert outcome[0][0] == "raised" and isinstance(outcome[0][1], ConnectionClosed)
    assert "AuthenticationError" in str(outcome[0][1])
    assert client.closed and client.state == "closed" and not client.connected
    assert isinstance(errors.wait_count(1)[0], pmsync.AuthenticationError)
    with pytest.raises(ConnectionClosed, match="fatal error.*AuthenticationError"):
        client.subscribe_market_data(pm_mockserver.markets[:1])
    with pytest.raises(ConnectionClosed, match="cannot connect.*401"):
        client.connect()
    wait_until(lambda: not pmsync_threads(), 5, "reader and pinger to end without close()")
    with pytest.raises(pmsync.AuthenticationError):
        client.run_forever()
    assert sub.status == "unsubscribed" and client.subscriptions == []


# ---------------------------------------------------------------------------- item 3


@pytest.mark.parametrize("kind", [SystemExit, KeyboardInterrupt, GeneratorExit])
@pytest.mark.parametrize("waiter", ["run_forever", "messages"])
def test_item03_base_exception_in_a_callback_closes_and_is_reraised(
    pm_mockserver: Any, make_client: Any, kind: type[BaseException], waiter: str
) -> None:
    def on_market_data(event: Any) -> None:
        raise kind("from a callback")

    client = make_client(on_market_data=on_market_data)
    client.connect()
    client.subscribe_market_data(pm_mockserver.markets[:1])
    if waiter == "run_forever":
        thread, outcome = run_in_thread(client.run_forever, "test-run-forever")
    else:
        thread, outcome = run_in_thread(lambda: list(client.messages(timeout=30)), "test-messages")
    thread.join(20)
    assert not thread.is_alive(), f"{waiter}() still blocked"
    assert outcome[0][0] == "raised" and isinstance(outcome[0][1], kind)
    assert client.closed and not client.connected
    assert f"a callback raised a BaseException: {kind.__name__}" in (client.close_cause or "")
    wait_until(lambda: not pmsync_threads(), 5, "the reader to end")


def test_item03_base_exception_fed_offline_is_raised_to_the_feeding_thread(offline: Any) -> None:
    client = offline(on_trade=lambda event: (_ for _ in ()).throw(SystemExit(2)))
    client.subscribe_trades(["m-1"], request_id="tr")
    with pytest.raises(SystemExit):
        feed(client, TRADE % "tr")
    assert client.closed and client.state == "closed"


# ---------------------------------------------------------------------------- item 4


def test_item04_request_id_is_reusable_and_registries_shrink(offline: Any) -> None:
    client = offline()
    for _ in range(3):
        sub = client.subscribe_market_data(["m-1"], request_id="same")
        feed(client, BOOK % ("same", "m-1", "0.50"))
        assert sub.wait_snapshot(0) is not None
        sub.unsubscribe()
        assert sub.status == "unsubscribed"
    assert client._subscriptions == {} and len(client._session) == 0


def test_item04_5000_subscribe_unsubscribe_rounds_keep_the_heap_flat(offline: Any) -> None:
    # Handled events are not queued, so the (bounded) messages() queue holds none.
    client = offline()

    def seen(event: Any) -> None:
        pass

    def rounds(n: int) -> None:
        for i in range(n):
            rid = f"r{i}"
            sub = client.subscribe_market_data(["m-1", f"m-{i}"], request_id=rid, callback=seen)
            feed(client, BOOK % (rid, "m-1", "0.50"))
            feed(client, BOOK % (rid, f"m-{i}", "0.50"))
            sub.wait_snapshot(0)
            sub.unsubscribe()

    rounds(500)  # warm-up: caches, the bounded retired-id memory, interned strings
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        rounds(5_000)
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert growth < 1024 * 1024, f"heap grew {growth / 1024:.0f} KiB over 5,000 rounds"
    assert client._subscriptions == {} and len(client._session) == 0
    assert client._books.slugs() == []


# ---------------------------------------------------------------------------- item 5


def test_item05_book_follows_lite_once_market_data_is_gone_and_forgets(offline: Any) -> None:
    client = offline()
    md = client.subscribe_market_data(["m-1"], request_id="md")
    lite = client.subscribe_market_data_lite(["m-1"], request_id="mdl")
    feed(client, BOOK % ("md", "m-1", "0.54"))
    feed(client, LITE % ("mdl", "m-1", "0.54"))
    book = client.book("m-1")
    assert book is not None and book.full and str(book.best_bid) == "0.54"
    md.unsubscribe()
    feed(client, LITE % ("mdl", "m-1", "0.61"))
    book = client.book("m-1")
    assert book is not None and not book.full and str(book.best_bid) == "0.61"
    lite.unsubscribe()
    assert client.book("m-1") is None  # no subscription covers it any more


# ---------------------------------------------------------------------------- item 6


def test_item06_queue_overflow_at_most_once_per_second_with_the_count(offline: Any) -> None:
    errors = Recorder()
    client = offline(queue_size=1, on_error=errors)
    now = [1000.0]
    client._overflow.clock = lambda: now[0]
    client.subscribe_trades(["m-1"], request_id="tr")
    assert list(client.messages(timeout=0)) == []  # in use from here on
    for _ in range(100):  # a consumer slower than the stream: one drop per event
        feed(client, TRADE % "tr", 2)
        assert next(client.messages(timeout=0)).kind == "trade"
    overflows = [e for e in errors.items if isinstance(e, pmsync.QueueOverflow)]
    assert [e.dropped for e in overflows] == [1]
    now[0] += 1.0
    feed(client, TRADE % "tr")  # the next event a second later reports the 99 held back
    overflows = [e for e in errors.items if isinstance(e, pmsync.QueueOverflow)]
    assert [e.dropped for e in overflows] == [1, 99]
    assert client.stats()["dropped"] == 100  # the total


# ---------------------------------------------------------------------------- item 7


def test_item07_close_waits_for_the_first_on_connect_and_connect_raises(
    make_client: Any,
) -> None:
    entered = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def on_connect() -> None:
        entered.set()
        release.wait(10)
        order.append("on_connect returned")

    client = make_client(on_connect=on_connect)
    connector, outcome = run_in_thread(client.connect, "test-connect")
    assert entered.wait(10)

    def close() -> None:
        client.close()
        order.append("close returned")

    closer, _ = run_in_thread(close, "test-close")
    closer.join(0.3)  # close() must still be waiting for on_connect
    release.set()
    closer.join(10)
    connector.join(10)
    assert order == ["on_connect returned", "close returned"]
    assert outcome[0][0] == "raised" and isinstance(outcome[0][1], ConnectionClosed)
    assert "closed by close()" in str(outcome[0][1])


# ---------------------------------------------------------------------------- item 8


def test_item08_gap_began_is_when_the_drop_was_seen(pm_mockserver: Any, make_client: Any) -> None:
    entered: list[datetime] = []
    pause = threading.Event()

    def on_disconnect(error: Any) -> None:
        entered.append(datetime.now(timezone.utc))
        pause.wait(0.3)  # a slow on_disconnect

    reconnects = Recorder()
    client = make_client(on_disconnect=on_disconnect, on_reconnect=reconnects)
    client.connect()
    pm_mockserver.drop_connections()
    gap_began, gap_ended = reconnects.wait_count(1)[0]
    assert gap_began <= entered[0] < gap_ended


# ---------------------------------------------------------------------------- item 9


class _PausingClient(pmsync.MarketsClient):
    """Pauses the reader between routing an event and its callbacks (``_on_data``)."""

    routed = threading.Event()
    resume = threading.Event()

    def _on_data(self, event: Any) -> None:
        if not self.routed.is_set():
            self.routed.set()
            self.resume.wait(10)
        super()._on_data(event)


def test_item09_no_subscription_callback_after_unsubscribe_returns() -> None:
    _PausingClient.routed = threading.Event()
    _PausingClient.resume = threading.Event()
    client: Any = _PausingClient(KEY, reconnect=False, ping_interval=0)
    order: list[str] = []
    lock = threading.Lock()

    def callback(event: Any) -> None:
        with lock:
            order.append("callback")

    try:
        client.connection_made(lambda frames: True, False)
        sub = client.subscribe_trades(["m-1"], request_id="tr", callback=callback)
        reader, _ = run_in_thread(lambda: feed(client, TRADE % "tr"), "test-reader")
        client._conn = FakeConn(reader)
        assert _PausingClient.routed.wait(10)  # the event is routed to a live subscription

        def unsubscribe() -> None:
            sub.unsubscribe()
            with lock:
                order.append("unsubscribe returned")

        unsubscriber, _ = run_in_thread(unsubscribe, "test-unsubscribe")
        unsubscriber.join(0.3)  # let it return, if it does not wait for the reader
        _PausingClient.resume.set()
        reader.join(10)
        unsubscriber.join(10)
        feed(client, TRADE % "tr", 5)  # late events of it: dropped
        assert order in (["callback", "unsubscribe returned"], ["unsubscribe returned"])
    finally:
        client._conn = None
        client.close()


# ---------------------------------------------------------------------------- item 10


def test_item10_ctrl_c_in_the_first_on_connect_leaves_a_closed_client(
    pm_mockserver: Any, make_client: Any
) -> None:
    def on_connect() -> None:
        raise KeyboardInterrupt

    client = make_client(on_connect=on_connect)
    with pytest.raises(KeyboardInterrupt):
        client.connect()
    assert not client.connected and not client.stats()["connected"]
    assert "connected" not in repr(client) and "closed" in repr(client)
    assert client.state == "closed"
    pm_mockserver.wait_for_no_connections(5)


# ---------------------------------------------------------------------------- item 11


def test_item11_a_second_concurrent_connect_shares_the_first_ones_failure(
    pm_mockserver: Any, make_client: Any
) -> None:
    pm_mockserver.reject_handshakes(1, status=503, retry_after=0.5)
    pm_mockserver.reject_handshakes(1, status=401)
    client = make_client()
    first, first_outcome = run_in_thread(client.connect, "test-connect-1")
    wait_until(lambda: len(pm_mockserver.handshakes) >= 1, 5, "the first attempt")
    second, second_outcome = run_in_thread(client.connect, "test-connect-2")
    first.join(10)
    second.join(10)
    assert first_outcome[0][0] == "raised"
    assert isinstance(first_outcome[0][1], pmsync.AuthenticationError)
    assert second_outcome[0][0] == "raised", "the second connect() reported success"
    assert isinstance(second_outcome[0][1], ConnectionClosed)
    assert "401" in str(second_outcome[0][1])
    assert not client.connected and client.state == "new"


def test_item11_a_second_concurrent_connect_returns_once_connected(
    pm_mockserver: Any, make_client: Any
) -> None:
    pm_mockserver.reject_handshakes(1, status=503, retry_after=0.3)
    client = make_client()
    first, _ = run_in_thread(client.connect, "test-connect-1")
    wait_until(lambda: len(pm_mockserver.handshakes) >= 1, 5, "the first attempt")
    client.connect()  # waits for the first one's outcome
    assert client.connected
    first.join(10)


# ---------------------------------------------------------------------------- item 12


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("ping_interval", math.nan),
        ("ping_interval", -1.0),
        ("queue_size", -5),
        ("queue_size", 1.5),
        ("max_reconnect_attempts", -1),
        ("max_reconnect_attempts", 0),
        ("backoff_initial", math.inf),
        ("backoff_initial", math.nan),
        ("backoff_max", math.inf),
        ("backoff_max", 0),
        ("heartbeat_timeout", math.nan),
        ("heartbeat_timeout", -3),
        ("heartbeat_timeout", 1e12),
        ("connect_timeout", math.inf),
        ("connect_timeout", math.nan),
        ("connect_timeout", True),
    ],
)
def test_item12_options_that_cannot_work_are_refused(option: str, value: Any) -> None:
    with pytest.raises(pmsync.ConfigurationError, match=option) as info:
        pmsync.MarketsClient(KEY, **{option: value})
    assert repr(value) in str(info.value) or str(value) in str(info.value)


def test_item12_inf_means_never_where_the_readme_says_so() -> None:
    client = pmsync.MarketsClient(KEY, heartbeat_timeout=math.inf, ping_interval=math.inf)
    assert client._options.heartbeat_timeout == math.inf and client._options.ping_interval == 0
    client.close()


# ---------------------------------------------------------------------------- item 13


def test_item13_wait_snapshot_on_a_closed_client_says_closed(offline: Any) -> None:
    client = offline()
    sub = client.subscribe_market_data(["m-1"], request_id="md")
    client.close()
    with pytest.raises(ConnectionClosed, match="cannot wait for a snapshot.*closed by close"):
        sub.wait_snapshot(None)


# ---------------------------------------------------------------------------- read in the code


def test_read_queue_drops_never_race_a_consumer_pop() -> None:
    """A full queue drops under the lock the consumer pops under: a consumer
    that saw an item gets one, and never ends early while events flow."""
    queue = pmsync.client._EventQueue(1)
    total = 50_000
    got: list[int] = []

    def consume() -> None:
        while True:
            event = queue.get(5.0)
            if event is None:
                return
            got.append(event.data)

    consumer = threading.Thread(target=consume, name="test-consumer")
    consumer.start()
    for i in range(total):
        queue.put(pmsync.Event("trade", None, None, i, ""))
    queue.close()
    consumer.join(10)
    assert not consumer.is_alive() and got == sorted(got) and got[-1] == total - 1


def test_read_close_racing_connection_lost_fires_exactly_one_on_disconnect(offline: Any) -> None:
    calls = Recorder()
    client = offline(on_disconnect=calls)
    handle = client._lifecycle.handle
    closers: list[threading.Thread] = []

    def handle_then_close(what: Any, error: Any = None) -> Any:
        before = handle(what, error)
        if what.value == "lost":  # close() between the transition and the callback
            closer, _ = run_in_thread(client.close, "test-close")
            closers.append(closer)
        return before

    client._lifecycle.handle = handle_then_close
    client.connection_lost(ConnectionClosed("lost"))
    closers[0].join(10)
    assert len(calls.items) == 1 and isinstance(calls.items[0], ConnectionClosed)


def test_read_wait_snapshot_in_on_connect_raises_instead_of_wedging(
    pm_mockserver: Any, make_client: Any
) -> None:
    errors = Recorder()
    subs: list[Any] = []
    client = make_client(on_connect=lambda: subs[0].wait_snapshot(5), on_callback_error=errors)
    subs.append(client.subscribe_market_data(pm_mockserver.markets[:1]))
    client.connect()
    pm_mockserver.drop_connections()  # the reconnect's on_connect runs on the reader
    seen = errors.wait_count(2, timeout=10)
    assert all(isinstance(exc, RuntimeError) and "wait_snapshot()" in str(exc) for exc, _ in seen)
    assert subs[0].wait_snapshot(5) is not None  # from this thread it works


def test_read_no_socket_write_under_the_client_lock(offline: Any) -> None:
    held: list[bool] = []
    clients: list[Any] = []

    def send(frames: list[str]) -> bool:
        held.append(clients[0]._lock._is_owned())
        return True

    client = pmsync.MarketsClient(KEY, reconnect=False, ping_interval=0)
    clients.append(client)
    try:
        client.subscribe_trades(["m-1"])
        client.connection_made(send, False)  # resubscribe
        sub = client.subscribe_trades(["m-2"])  # subscribe
        sub.unsubscribe()  # unsubscribe
        assert held == [False, False, False]
    finally:
        client.close()


def test_read_a_client_dropped_without_close_keeps_running_until_closed(
    make_client: Any,
) -> None:
    """Documented (README, Reconnect): the reader thread holds its client, so a
    client dropped without close() is not collected and keeps its connection."""
    ref = weakref.ref(make_client())
    client = ref()
    assert client is not None
    client.connect()
    del client
    gc.collect()
    client = ref()
    assert client is not None and client.connected
    client.close()
