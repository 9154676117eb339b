"""Client fuzzing (issue 5): a raw peer built on ``websockets.sync.server``
(it accepts any handshake) sends arbitrary frames to a pmsync client.

Frames: binary, invalid UTF-8 in text frames, arbitrary text, arbitrary JSON,
deeply nested JSON, every known payload envelope with wrong types in its
fields (every field of every payload model, nested ones included), numbers out
of range, unknown enum values, a 10 MB frame, frames at and just over
``pmsync.client.MAX_MESSAGE_SIZE``.

The reader never dies: after each batch a well-formed end marker is still
delivered, on the same connection. Every frame has exactly one outcome, in
order: one event (its ``raw`` is the frame) or one ``on_error`` call; frames
that cannot be decoded (binary, bad UTF-8, not JSON, too deep, too large) are
reported exactly once, as ``DecodeError``. At least 10,000 generated frames
in total (``FRAMES_TOTAL`` is checked at the end of the module).
"""

from __future__ import annotations

import json
import queue
import threading
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.sync.server import ServerConnection, serve

import pmsync
from pmsync import codec, structure
from pmsync import models as m
from pmsync.client import CALLBACKS, KIND_CALLBACKS, MAX_MESSAGE_SIZE
from pmsync.errors import DecodeError, PmsyncError

from .conftest import ThreadErrors

Frame = tuple[str, "str | bytes", bool]  # (how: "text"|"rawtext"|"binary", payload, must be an error)

END = '{"fuzz_end":%d}'
counted = {"frames": 0}


class Peer:
    """A WebSocket server that sends whatever batch it is given to its one client."""

    def __init__(self) -> None:
        self.outbox: queue.Queue[list[Frame] | None] = queue.Queue()
        self.connections = 0
        self.server = serve(self._handler, "127.0.0.1", 0, compression=None, ping_interval=None,
                            max_size=None, close_timeout=1)
        self.port = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="fuzz-peer-accept")
        self.thread.start()

    def _handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        while True:
            batch = self.outbox.get()
            if batch is None:
                return
            for how, payload, _ in batch:
                if how == "binary":
                    ws.send(payload if isinstance(payload, bytes) else payload.encode())
                elif isinstance(payload, bytes):
                    ws.send(payload, text=True)  # no UTF-8 check on the way out
                else:
                    ws.send(payload)

    def close(self) -> None:
        self.outbox.put(None)
        self.server.shutdown()
        self.thread.join(5)


class Outcomes:
    """Every event and every on_error call, in order (reader thread)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Any]] = []
        self.cond = threading.Condition()

    def event(self, event: Any) -> None:
        with self.cond:
            self.items.append(("event", event))
            self.cond.notify_all()

    def error(self, error: BaseException) -> None:
        with self.cond:
            self.items.append(("error", error))
            self.cond.notify_all()

    def take(self, count: int, timeout: float = 30.0) -> list[tuple[str, Any]]:
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.items) >= count, timeout)
            items, self.items = self.items, []
        assert ok, f"only {len(items)} of {count} outcomes arrived (reader dead?)"
        return items


@pytest.fixture
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.close()


@pytest.fixture
def fuzzed(peer: Peer, thread_errors: ThreadErrors) -> Iterator[tuple[Peer, Outcomes, Any]]:
    outcomes = Outcomes()
    callbacks: dict[str, Callable[..., Any]] = {name: outcomes.event for name in KIND_CALLBACKS.values()}
    callbacks["on_error"] = outcomes.error
    errors: list[Any] = []
    callbacks["on_callback_error"] = lambda exc, event: errors.append(exc)
    assert set(callbacks) <= set(CALLBACKS)
    credentials = pmsync.Credentials.from_base64("fuzz-key", "A" * 43 + "=")
    client = pmsync.MarketsClient(credentials, base_url=f"ws://127.0.0.1:{peer.port}",
                                  heartbeat_timeout=None, ping_interval=0, reconnect=False,
                                  queue_size=0, **callbacks)
    client.connect()
    yield peer, outcomes, client
    assert errors == []
    assert client.connected, "the reader died"
    client.close()


def exchange(peer: Peer, outcomes: Outcomes, batch: list[Frame]) -> None:
    """Send ``batch`` then an end marker; check one outcome per frame, in order."""
    marker = END % counted["frames"]
    peer.outbox.put(batch + [("text", marker, False)])
    items = outcomes.take(len(batch) + 1)
    assert len(items) == len(batch) + 1, "a frame had more than one outcome"
    last_kind, last = items[-1]
    assert last_kind == "event" and last.kind == "unknown" and last.raw == marker
    for (how, payload, must_fail), (kind, value) in zip(batch, items):
        text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
        if kind == "event":
            assert not must_fail, f"{how} frame {text[:120]!r} decoded as {value.kind}"
            assert how != "binary"
            assert value.raw == payload if isinstance(payload, str) else value.raw == text
        else:
            assert isinstance(value, PmsyncError), value
            if must_fail:
                assert isinstance(value, DecodeError), value
            if isinstance(value, DecodeError):
                assert value.raw[:100] == text[:100] or how != "text", (value.raw[:100], text[:100])
            else:  # an "error" payload: a server error response
                assert isinstance(value, pmsync.SubscriptionError), value
    counted["frames"] += len(batch)


# ------------------------------------------------------------------ strategies

ENUM_JUNK = st.sampled_from(["ORDER_SIDE_SIDEWAYS", "MARKET_STATE_ON_FIRE", "SUBSCRIPTION_TYPE_NOPE",
                             "", "ORDER_STATE_", "x" * 300, "\u0000", "ÉTAT"])
NUMBER_JUNK = st.sampled_from([10**40, -10**40, 2**63, -2**63 - 1, 2**64, 1e308, -1e308, 5e-324,
                               1.7976931348623157e308, 0.1 + 0.2, -0.0, 10**400])
JSON_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(max_size=20) | ENUM_JUNK | NUMBER_JUNK)
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)

PAYLOAD_KEYS = sorted(codec._PAYLOAD_KEYS)


def _model_fields(cls: Any) -> list[str]:
    names = []
    for f in attrs.fields(cls):
        names += [f.name, structure.to_camel(f.name)]
    return names


ALL_FIELDS = sorted({name for cls in vars(m).values()
                     if isinstance(cls, type) and attrs.has(cls) for name in _model_fields(cls)})


@st.composite
def envelopes(draw: st.DrawFn) -> str:
    """A known payload key with wrong-typed or out-of-range fields, in a valid envelope."""
    key = draw(st.sampled_from(PAYLOAD_KEYS))
    payload = draw(st.dictionaries(st.sampled_from(ALL_FIELDS), JSON_VALUES, max_size=5)
                   | JSON_VALUES)
    env: dict[str, Any] = {key: payload}
    if draw(st.booleans()):
        env[draw(st.sampled_from(["request_id", "requestId"]))] = draw(JSON_SCALARS)
    if draw(st.booleans()):
        env[draw(st.sampled_from(["subscription_type", "subscriptionType"]))] = draw(
            JSON_SCALARS | ENUM_JUNK)
    return json.dumps(env)


def _invalid_utf8(data: bytes) -> bytes:
    return data[: len(data) // 2] + b"\xff\xfe\xc3" + data[len(data) // 2:]


FRAMES: st.SearchStrategy[Frame] = st.one_of(
    envelopes().map(lambda t: ("text", t, False)),
    st.binary(max_size=40).map(lambda b: ("binary", b, True)),
    st.binary(max_size=40).map(lambda b: ("rawtext", _invalid_utf8(b), True)),
    st.text(max_size=40).map(lambda t: ("text", t, False)),
    JSON_VALUES.map(lambda v: ("text", json.dumps(v), False)),
    st.tuples(st.integers(2_000, 50_000), st.sampled_from(["[", '{"a":', '{"market_data":'])).map(
        lambda d: ("text", d[1] * d[0], True)),
)


def test_generated_frames(fuzzed: tuple[Peer, Outcomes, Any]) -> None:
    peer, outcomes, client = fuzzed
    before = counted["frames"]

    @settings(max_examples=220, database=None)
    @given(st.lists(FRAMES, min_size=40, max_size=60))
    def run(batch: list[Frame]) -> None:
        exchange(peer, outcomes, batch)

    run()
    assert counted["frames"] - before >= 8_000
    assert peer.connections == 1 and client.stats()["reconnects"] == 0


def _wrong_values() -> list[Any]:
    return ["not-a-number", 1.5, -1, 10**40, 1e308, True, [], {}, [{}], {"value": []},
            "ORDER_SIDE_SIDEWAYS", 999, "2026-13-45T99:99:99Z"]


def _model_of(tp: Any) -> Any:
    """The attrs class inside a field type (Optional, tuple, list), or None."""
    if isinstance(tp, type) and attrs.has(tp):
        return tp
    for arg in typing.get_args(tp):
        found = _model_of(arg)
        if found is not None:
            return found
    if isinstance(tp, types.UnionType):
        return None
    return None


def _sweep() -> list[Frame]:
    """Every field (two levels deep) of every payload model, with every wrong value."""
    frames: list[Frame] = []
    for key in codec._PAYLOADS:
        hook = codec._PAYLOADS[key][1]
        models = [cls for cls in vars(m).values() if isinstance(cls, type) and attrs.has(cls)]
        roots = [cls for cls in models if codec._model(cls) is hook] if hasattr(codec, "_model") else []
        if not roots:
            roots = [m.RfqEvent] if key == "rfq_event" and hasattr(m, "RfqEvent") else []
        for root in roots:
            attrs.resolve_types(root)
            for f in attrs.fields(root):
                for value in _wrong_values():
                    frames.append(("text", json.dumps({key: {f.name: value}}), False))
                inner = _model_of(f.type)
                if inner is not None:
                    attrs.resolve_types(inner)
                    for g in attrs.fields(inner):
                        for value in _wrong_values():
                            nested = {g.name: value}
                            outer: Any = [nested] if "tuple" in str(f.type) else nested
                            frames.append(("text", json.dumps({key: {f.name: outer}}), False))
    return frames


def test_every_field_of_every_payload(fuzzed: tuple[Peer, Outcomes, Any]) -> None:
    peer, outcomes, _ = fuzzed
    frames = _sweep()
    assert len(frames) >= 500, len(frames)
    for i in range(0, len(frames), 500):
        exchange(peer, outcomes, frames[i:i + 500])


def test_size_limit_and_big_frames(fuzzed: tuple[Peer, Outcomes, Any]) -> None:
    peer, outcomes, _ = fuzzed
    head, tail = '{"fuzz_padding":"', '"}'

    def padded(size: int) -> str:
        return head + "x" * (size - len(head) - len(tail)) + tail

    at_limit, over = padded(MAX_MESSAGE_SIZE), padded(MAX_MESSAGE_SIZE + 1)
    ten_mb = padded(10 * 1024 * 1024)
    batch: list[Frame] = [("text", at_limit, False), ("text", over, True), ("text", ten_mb, True),
                          ("binary", b"\x00" * (10 * 1024 * 1024), True)]
    exchange(peer, outcomes, batch)


def test_total_generated_frames() -> None:
    """Runs last in this module (file order; the suite runs with -p no:randomly)."""
    if counted["frames"] == 0:
        pytest.skip("run with the rest of the module")
    print(f"frames fuzzed: {counted['frames']}")
    assert counted["frames"] >= 10_000, counted
