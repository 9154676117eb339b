"""BufferedSocket (issue 6): websocket-client reads frames through it; frames split
across reads, many frames in one read, and the socket timeout (the heartbeat
watchdog) behave as on a bare socket."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import websocket

from pmsync.connection import READ_SIZE, BufferedSocket


def frame(payload: bytes, opcode: int = 1, fin: bool = True) -> bytes:
    """A server (unmasked) frame, encoded by websocket-client."""
    return bytes(websocket.ABNF(int(fin), 0, 0, 0, opcode, 0, payload).format())


@pytest.fixture
def pair() -> Iterator[tuple[websocket.WebSocket, BufferedSocket, socket.socket]]:
    a, b = socket.socketpair()
    ws = websocket.WebSocket(skip_utf8_validation=True)
    buffered = BufferedSocket(a)
    ws.sock = buffered  # type: ignore[assignment]
    ws.connected = True
    try:
        yield ws, buffered, b
    finally:
        a.close()
        b.close()


def read(ws: websocket.WebSocket, buffered: BufferedSocket) -> tuple[int, bytes]:
    """What Connection._read does: websocket-client reading through the buffer."""
    opcode, f = ws.recv_data_frame(True)
    return opcode, f.data


def test_many_small_frames_in_one_read(pair: tuple) -> None:
    ws, buffered, peer = pair
    payloads = [f'{{"n":{i}}}'.encode() for i in range(500)]
    peer.sendall(b"".join(frame(p) for p in payloads))
    got = [read(ws, buffered) for _ in payloads]
    assert got == [(1, p) for p in payloads]
    assert buffered.pending() == 0


def test_message_split_across_reads(pair: tuple) -> None:
    """Frames straddling the 64 KiB read boundaries, and one larger than a read."""
    ws, buffered, peer = pair
    payloads = [(b'{"i":%d,"pad":"' % i) + b"p" * (997 + i % 13) + b'"}' for i in range(100)]
    big = b'{"x":"' + b"a" * (READ_SIZE + 5000) + b'"}'
    peer.sendall(b"".join(frame(p) for p in payloads[:50]) + frame(big))
    got = [read(ws, buffered) for _ in range(51)]
    peer.sendall(b"".join(frame(p) for p in payloads[50:]))
    got += [read(ws, buffered) for _ in range(50)]
    assert got == [(1, p) for p in payloads[:50]] + [(1, big)] + [(1, p) for p in payloads[50:]]


def test_header_split_from_payload(pair: tuple) -> None:
    ws, buffered, peer = pair
    data = frame(b"x" * 300)
    peer.sendall(data[:3])
    assert buffered.recv(1) == data[:1]  # the buffer now holds a partial header
    buffered._data, buffered._pos = data[:3], 0  # put it back, as if never read
    peer.sendall(data[3:])
    assert read(ws, buffered) == (1, b"x" * 300)


def test_control_and_fragmented_frames_go_through_websocket_client(pair: tuple) -> None:
    ws, buffered, peer = pair
    peer.sendall(frame(b"ping", opcode=9) + frame(b"ab", fin=False) + frame(b"cd", opcode=0)
                 + frame(b"bin", opcode=2))
    assert ws.recv_data_frame(True)[0] == websocket.ABNF.OPCODE_PING
    assert read(ws, buffered) == (1, b"abcd")
    assert read(ws, buffered) == (2, b"bin")
    pong = peer.recv(100)  # websocket-client answered the ping through the wrapper
    assert pong[0] & 0x0F == websocket.ABNF.OPCODE_PONG


def test_timeout_still_raised_when_silent(pair: tuple) -> None:
    ws, buffered, peer = pair
    ws.settimeout(0.05)
    assert buffered.gettimeout() == 0.05
    peer.sendall(frame(b"one"))
    assert read(ws, buffered) == (1, b"one")
    with pytest.raises(websocket.WebSocketTimeoutException):
        read(ws, buffered)


def test_close_and_eof(pair: tuple) -> None:
    ws, buffered, peer = pair
    peer.sendall(frame(b"last"))
    peer.close()
    assert read(ws, buffered) == (1, b"last")
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        read(ws, buffered)


def test_delegates_socket_methods(pair: tuple) -> None:
    ws, buffered, peer = pair
    assert buffered.fileno() == buffered.sock.fileno()
    buffered.sendall(b"hi")
    assert peer.recv(2) == b"hi"
    ws.send("text")  # websocket-client's send path through the wrapper
    assert peer.recv(100)[0] == 0x81
    assert buffered._closed is False  # read by websocket-client's shutdown()
    buffered.shutdown(socket.SHUT_RDWR)
    buffered.close()
