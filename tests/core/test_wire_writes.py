"""The wire's writes (pmsync.framing.Wire), without a socket: a write that
fails or times out half-way breaks the wire for good, and the reader's own
failed write (a pong, the close echo) does not lose the frames it read."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from pmsync.framing import CLOSE, TEXT, Wire


class FakeSocket:
    """Records what is written; ``fail`` says how the next ``sendall`` fails."""

    def __init__(self, fail: list[BaseException | None] | None = None) -> None:
        self.written = b""
        self.fail = list(fail or [])
        self.shut = False

    def sendall(self, data: bytes) -> None:
        error = self.fail.pop(0) if self.fail else None
        if error is not None:
            self.written += data[:3]  # part of the frame left before the failure
            raise error
        self.written += data

    def settimeout(self, timeout: float | None) -> None:
        pass

    def shutdown(self, how: int) -> None:
        assert how == socket.SHUT_RDWR
        self.shut = True


def wire_on(sock: FakeSocket) -> Wire:
    return Wire(SimpleNamespace(sock=sock))


def test_a_write_that_times_out_half_way_breaks_the_wire() -> None:
    sock = FakeSocket([TimeoutError("timed out")])
    wire = wire_on(sock)
    with pytest.raises(TimeoutError):
        wire.ping()
    assert sock.shut and isinstance(wire.broken, TimeoutError)
    written = sock.written
    with pytest.raises(TimeoutError):  # nothing more goes after the torn frame
        wire.send_text(['{"subscribe": {}}'])
    assert sock.written == written


def test_a_failed_pong_does_not_lose_the_frames_read() -> None:
    sock = FakeSocket([BrokenPipeError(32, "Broken pipe")])
    wire = wire_on(sock)
    text = b'{"heartbeat":{}}'
    ping = bytes([0x89, 0x00])  # the protocol answers it: that write fails
    close = bytes([0x88, 0x05, 0x03, 0xF0]) + b"bye"  # 1008, "bye"
    frames = wire.feed(ping + bytes([0x81, len(text)]) + text + close)
    assert [f.opcode for f in frames][1:] == [TEXT, CLOSE]
    assert bytes(frames[1].data) == text
    assert wire.close_received() == (1008, "bye")
    assert sock.shut and isinstance(wire.broken, BrokenPipeError)


def test_writes_leave_whole_and_in_order() -> None:
    sock = FakeSocket()
    wire = wire_on(sock)
    wire.send_text(["a", "bb"])
    wire.ping()
    wire.send_close()
    # client frames are masked: opcode bytes at the frame starts, in order
    opcodes, pos = [], 0
    data = sock.written
    while pos < len(data):
        opcodes.append(data[pos] & 0x0F)
        pos += 2 + 4 + (data[pos + 1] & 0x7F)
    assert opcodes == [1, 1, 9, 8]
    wire.send_close()  # once only
    assert len(sock.written) == len(data)
