"""Serve recorded sessions: ``python -m mockserver --replay session.jsonl [--speed 1.0|0]``.

A recording (written by ``python -m pmsync record``; the format is plain JSON
lines, read here without importing pmsync) has a header line
``{"pmsync_recording": 1, "endpoint": "markets", "subscription_type": "...",
"market_slugs": [...], "t": <subscribe time>}`` and one line per frame
received, ``{"t": <receive time>, "text": "<frame>"}`` (or ``"binary":
"<base64>"``).

When a client subscribes to a type that a loaded recording holds (same
endpoint), the server plays that recording's frames to it: heartbeats are
left out (the server sends its own), every top-level request id
(``request_id`` or ``requestId``) is rewritten to the subscriber's, and the
original spacing is kept, measured from the recorded subscribe time (divided
by ``speed``; ``speed=0`` plays as fast as possible). The frames are sent
verbatim otherwise, in the recorded dialect. While replaying, the simulated
exchange publishes nothing.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .protocol import ProtocolError, subscription_type_name

__all__ = ["Recording", "ReplayFrame", "Replayer", "play", "rewrite_request_id"]

_ENDPOINT_PATHS = {"markets": "/v1/ws/markets", "private": "/v1/ws/private"}
_RID_KEYS = ("request_id", "requestId")


@dataclass(frozen=True)
class ReplayFrame:
    """One recorded frame: seconds after the recorded subscribe, and its payload."""

    offset: float
    payload: str | bytes


def _is_heartbeat(text: str) -> bool:
    if "heartbeat" not in text or len(text) > 64:
        return False
    try:
        obj = json.loads(text)
    except ValueError:
        return False
    return isinstance(obj, dict) and list(obj) == ["heartbeat"]


def rewrite_request_id(text: str, request_id: str) -> str:
    """``text`` with its top-level request id (either spelling) replaced by ``request_id``.

    Only that value changes; the rest of the frame stays byte for byte. Frames
    without a request id (or that are not JSON objects) come back unchanged.
    """
    try:
        obj = json.loads(text, parse_float=Decimal)
    except ValueError:
        return text
    if not isinstance(obj, dict):
        return text
    for key in _RID_KEYS:
        old = obj.get(key)
        if isinstance(old, str):
            pattern = re.compile(r'("%s"\s*:\s*)%s' % (re.escape(key), re.escape(json.dumps(old))))
            new_text, n = pattern.subn(lambda m: m.group(1) + json.dumps(request_id), text, count=1)
            if n:
                return new_text
            obj[key] = request_id  # unusual escaping in the original: re-serialise
            return json.dumps(obj, separators=(",", ":"), default=str)
    return text


class Recording:
    """A loaded recording: which subscription it holds and its frames."""

    def __init__(self, header: dict[str, Any], lines: Sequence[dict[str, Any]], source: str = "") -> None:
        endpoint = str(header.get("endpoint", ""))
        if endpoint not in _ENDPOINT_PATHS:
            raise ValueError(f"{source or 'recording'}: header endpoint must be 'markets' or 'private', "
                             f"got {endpoint!r}")
        self.source = source
        self.header = dict(header)
        #: Endpoint path, ``/v1/ws/markets`` or ``/v1/ws/private``.
        self.path = _ENDPOINT_PATHS[endpoint]
        try:
            self.subscription_type = subscription_type_name(self.path, header.get("subscription_type"))
        except ProtocolError as exc:
            raise ValueError(f"{source or 'recording'}: {exc.message}") from None
        self.market_slugs: tuple[str, ...] = tuple(str(s) for s in header.get("market_slugs") or ())
        start = header.get("t")
        frames: list[tuple[float, str | bytes]] = []
        for number, line in enumerate(lines, start=2):
            t = float(line.get("t", 0.0))
            if "text" in line:
                text = str(line["text"])
                if _is_heartbeat(text):
                    continue
                frames.append((t, text))
            elif "binary" in line:
                frames.append((t, base64.b64decode(line["binary"])))
            else:
                raise ValueError(f"{source or 'recording'}: line {number} has neither 'text' nor 'binary'")
        origin = float(start) if start is not None else (frames[0][0] if frames else 0.0)
        self.frames: tuple[ReplayFrame, ...] = tuple(
            ReplayFrame(max(0.0, t - origin), payload) for t, payload in frames)

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        """Read a recording file (JSON lines: header, then frames)."""
        lines = []
        for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
            if raw.strip():
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    raise ValueError(f"{path}: line {number} is not JSON") from None
        if not lines or not isinstance(lines[0], dict) or "pmsync_recording" not in lines[0]:
            raise ValueError(f"{path}: not a recording (the first line must be its header)")
        return cls(lines[0], lines[1:], str(path))

    def __repr__(self) -> str:
        return (f"Recording({self.source!r}, {self.path}, {self.subscription_type}, "
                f"{len(self.frames)} frames)")


class Replayer:
    """The recordings a server replays, looked up by endpoint path and subscription type."""

    def __init__(self, recordings: Iterable[Recording | str | Path], speed: float = 1.0) -> None:
        if not speed >= 0:
            raise ValueError(f"replay speed must be >= 0, got {speed!r}")
        self.speed = float(speed)
        self.recordings = [r if isinstance(r, Recording) else Recording.load(r) for r in recordings]
        self._by_key: dict[tuple[str, str], Recording] = {}
        for recording in self.recordings:
            key = (recording.path, recording.subscription_type)
            if key in self._by_key:
                raise ValueError(f"two recordings of {recording.subscription_type} on {recording.path}")
            self._by_key[key] = recording

    @property
    def market_slugs(self) -> frozenset[str]:
        """Every market slug the recordings subscribed to (accepted by the server)."""
        return frozenset(s for r in self.recordings for s in r.market_slugs)

    def frames_for(self, path: str, subscription_type: str) -> tuple[ReplayFrame, ...]:
        """The frames to play to a subscription of ``subscription_type`` on ``path`` (maybe none)."""
        recording = self._by_key.get((path, subscription_type))
        return recording.frames if recording is not None else ()


def play(
    frames: Sequence[ReplayFrame],
    request_id: str,
    speed: float,
    send: Callable[[str | bytes], bool],
    wait: Callable[[float], bool],
    clock: Callable[[], float],
) -> int:
    """Send ``frames`` with their spacing (divided by ``speed``; 0: no waiting).

    ``send(payload)`` returns False to stop (subscription gone); ``wait(seconds)``
    returns True to stop (server stopping). Returns how many frames were sent.
    """
    start = clock()
    sent = 0
    for frame in frames:
        if speed > 0:
            due = start + frame.offset / speed
            while (remaining := due - clock()) > 0:
                if wait(min(remaining, 0.05)):
                    return sent
        payload = frame.payload
        if isinstance(payload, str):
            payload = rewrite_request_id(payload, request_id)
        if not send(payload):
            return sent
        sent += 1
    return sent

