"""The clients measured against the blast server. Each returns (seconds, messages).

Every client is timed from just before it connects to the moment it sees the
server's close (the end sentinel); the handshake is in the figure for all alike.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
from typing import Any, Callable

import websocket

from .blast import REQUEST_IDS, BlastServer, frames
from .common import credentials

Result = tuple[float, int]


def sink(server: BlastServer, dialect: str, n: int, mix: str) -> Result:
    """Raw bytes as fast as the socket gives them (proves the server is not the limit)."""
    _, total, _ = frames(dialect, n, mix)
    ws = websocket.WebSocket(skip_utf8_validation=True)
    start = time.perf_counter()
    ws.connect(server.url(dialect, n, mix), suppress_origin=True)
    sock = ws.sock
    buf = bytearray(1 << 20)
    got = 0
    while got < total:
        k = sock.recv_into(buf)
        if not k:
            break
        got += k
    elapsed = time.perf_counter() - start
    ws.shutdown()
    return elapsed, n if got >= total else 0


def raw(server: BlastServer, dialect: str, n: int, mix: str,
        parse: Callable[[Any], Any] | None = None) -> Result:
    ws = websocket.WebSocket(skip_utf8_validation=True)
    start = time.perf_counter()
    ws.connect(server.url(dialect, n, mix), suppress_origin=True)
    count = 0
    recv = ws.recv
    if parse is None:
        while True:
            msg = recv()
            if not msg:
                break
            count += 1
    else:
        while True:
            msg = recv()
            if not msg:
                break
            parse(msg)
            count += 1
    elapsed = time.perf_counter() - start
    ws.shutdown()
    return elapsed, count


def protocol_floor(server: BlastServer, dialect: str, n: int, mix: str) -> Result:
    """The other floor: websocket-client's handshake, then websockets' sans-I/O
    ``Protocol`` cutting the frames of the same socket 64 KiB at a time (what
    pmsync's reader does, minus decode and dispatch)."""
    from websockets.frames import Opcode
    from websockets.protocol import Protocol, Side, State

    ws = websocket.WebSocket(skip_utf8_validation=True)
    start = time.perf_counter()
    ws.connect(server.url(dialect, n, mix), suppress_origin=True)
    recv = ws.sock.recv
    protocol = Protocol(Side.CLIENT, state=State.OPEN, max_size=None)
    text = Opcode.TEXT
    count = 0
    done = False
    while not done:
        data = recv(65536)
        if not data:
            break
        protocol.receive_data(data)
        for frame in protocol.events_received():
            if frame.opcode is text:
                count += 1
            else:
                done = done or frame.opcode is Opcode.CLOSE
    elapsed = time.perf_counter() - start
    ws.shutdown()
    return elapsed, count


def raw_json(server: BlastServer, dialect: str, n: int, mix: str) -> Result:
    return raw(server, dialect, n, mix, json.loads)


def raw_orjson(server: BlastServer, dialect: str, n: int, mix: str) -> Result:
    import orjson

    return raw(server, dialect, n, mix, orjson.loads)


def sdk(server: BlastServer, dialect: str, n: int, mix: str, every_level: bool = False) -> Result:
    """The official async SDK, ``on("market_data")`` reading best bid/ask from the
    dict (or, with ``every_level``, price and size of every level of both sides).

    The SDK expects the camel dialect, so it always asks the server for camel.
    """
    from polymarket_us.websocket.markets import MarketsWebSocket

    key_id, secret = credentials()
    count = 0
    sink_: list[Any] = []

    def on_market_data(msg: dict[str, Any]) -> None:
        nonlocal count
        book = msg["marketData"]
        if every_level:
            for level in book["bids"]:
                sink_.append((level["px"]["value"], level["qty"]))
            for level in book["offers"]:
                sink_.append((level["px"]["value"], level["qty"]))
        else:
            sink_.append((book["bids"][0]["px"]["value"], book["offers"][0]["px"]["value"]))
        sink_.clear()
        count += 1

    async def main() -> float:
        done = asyncio.Event()
        ws = MarketsWebSocket(key_id=key_id, secret_key=secret,
                              base_url=server.base("camel", n, mix))
        ws.on("market_data", on_market_data)
        ws.on("close", done.set)
        ws.on("error", lambda exc: done.set())
        start = time.perf_counter()
        await ws.connect()
        await done.wait()
        elapsed = time.perf_counter() - start
        await ws.close()
        return elapsed

    elapsed = asyncio.run(main())
    return elapsed, count


class _BestBidAsk:
    """An ``on_market_data`` callback reading best bid and ask from the typed event."""

    def __init__(self) -> None:
        self.count = 0
        self._sink: list[Any] = []

    def __call__(self, event: Any) -> None:
        data = event.data
        self._sink.append((data.best_bid, data.best_ask))
        self._sink.clear()
        self.count += 1


class _EveryLevel(_BestBidAsk):
    """An ``on_market_data`` callback reading price and size of every level of
    both sides of the typed event (what the SDK's users do on the dict)."""

    def __call__(self, event: Any) -> None:
        data = event.data
        sink = self._sink
        for level in data.bids:
            sink.append((level.px.value, level.qty))
        for level in data.offers:
            sink.append((level.px.value, level.qty))
        sink.clear()
        self.count += 1


def sdk_every_level(server: BlastServer, dialect: str, n: int, mix: str) -> Result:
    return sdk(server, dialect, n, mix, every_level=True)


def _expected_end(error: BaseException) -> None:
    """The benchmark clients' on_error: the server's close at the end is expected."""
    if not isinstance(error, ConnectionError):
        print(f"benchmark client: {type(error).__name__}: {error}", file=sys.stderr)


def _markets_client(dialect: str, on_market_data: Callable[[Any], None], **options: Any) -> Any:
    """A MarketsClient subscribed to the benchmark's three request ids (not connected)."""
    import pmsync

    key_id, secret = credentials()
    client = pmsync.MarketsClient(
        pmsync.Credentials.from_base64(key_id, secret), dialect=dialect, reconnect=False,
        ping_interval=0, on_market_data=on_market_data,
        on_error=_expected_end,  # the blast server closes after its frames: not news
        **options,
    )
    client.subscribe_market_data(["market-slug-1"], request_id=REQUEST_IDS["market_data"])
    client.subscribe_market_data_lite(["market-slug-1"], request_id=REQUEST_IDS["market_data_lite"])
    client.subscribe_trades(["market-slug-1"], request_id=REQUEST_IDS["trade"])
    return client


def pmsync_client(server: BlastServer, dialect: str, n: int, mix: str,
                  backend: str = "default", on_market_data: Callable[[Any], None] | None = None,
                  rate: float = 0) -> Result:
    """pmsync's MarketsClient; ``on_market_data`` (default: reads best bid/ask) counts if it can."""
    from pmsync import codec

    read_best = _BestBidAsk() if on_market_data is None else on_market_data
    done = threading.Event()
    previous = codec.BACKEND
    if backend != "default":
        codec.use_backend(backend)
    try:
        client = _markets_client(dialect, read_best,
                                 base_url=server.base(dialect, n, mix, rate),
                                 on_disconnect=lambda error: done.set())
        start = time.perf_counter()
        client.connect()
        done.wait()
        elapsed = time.perf_counter() - start
        client.close()
    finally:
        codec.use_backend(previous)
    return elapsed, getattr(read_best, "count", 0)


def pmsync_every_level(server: BlastServer, dialect: str, n: int, mix: str) -> Result:
    return pmsync_client(server, dialect, n, mix, on_market_data=_EveryLevel())


def pmsync_json(server: BlastServer, dialect: str, n: int, mix: str) -> Result:
    return pmsync_client(server, dialect, n, mix, backend="json")
