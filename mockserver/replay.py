"""Serve recorded sessions: ``python -m mockserver --replay session.jsonl [--speed 1.0|0]``.

A recording (written by ``python -m pmsync record``; the format is plain JSON
lines, read here without importing pmsync) has a header line
``{"pmsync_recording": 1, "endpoint": "markets", "subscription_type": "...",
"market_slugs": [...], "t": <subscribe time>}`` and one line per frame
received, ``{"t": <receive time>, "text": "<frame>"}`` (or ``"binary":
"<base64>"``).

When a client subscribes to a type that a loaded recording holds (same
endpoint), the server plays that recording's frames of the subscribed markets
to it (a frame without a market slug, e.g. a balance update, goes to every
subscriber of the type; a subscription without slugs gets every frame):
heartbeats are left out (the server sends its own), every top-level request
id (``request_id`` or ``requestId``) is rewritten to the subscriber's, and the
original spacing is kept, measured from the recorded subscribe time (divided
by ``speed``; ``speed=0`` plays as fast as possible). The frames are sent
verbatim otherwise, in the recorded dialect. While replaying, the simulated
exchange publishes nothing: a subscription of a type that no recording holds
is refused with an ``error`` response naming the recordings.
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

__all__ = ["Recording", "ReplayFrame", "Replayer", "market_slug", "play", "rewrite_request_id"]

_ENDPOINT_PATHS = {"markets": "/v1/ws/markets", "private": "/v1/ws/private"}
_RID_KEYS = ("request_id", "requestId")


@dataclass(frozen=True)
class ReplayFrame:
    """One recorded frame: seconds after the recorded subscribe, its payload, its market (if one)."""

    offset: float
    payload: str | bytes
    slug: str | None = None


_SLUG_KEYS = ("market_slug", "marketSlug", "slug", "symbol")
_ENVELOPE = frozenset({"request_id", "requestId", "subscription_type", "subscriptionType"})


def market_slug(payload: str | bytes) -> str | None:
    """The market a recorded frame concerns, or ``None`` (not JSON, or no single market).

    Looks in the payload object (the frame's one key besides request id and
    subscription type) breadth-first, a few levels deep, for ``market_slug``
    (either spelling; ``slug``/``symbol`` of market metadata and RFQs); a
    frame that names several markets (an order snapshot page) has none.
    """
    if isinstance(payload, bytes):
        return None
    try:
        obj = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    level = [v for k, v in obj.items() if k not in _ENVELOPE]
    for _ in range(4):
        found = {str(node[k]) for node in level if isinstance(node, dict)
                 for k in _SLUG_KEYS if isinstance(node.get(k), str)}
        if found:
            return found.pop() if len(found) == 1 else None
        nxt: list[Any] = []
        for node in level:
            if isinstance(node, dict):
                nxt += node.values()
            elif isinstance(node, list):
                nxt += node
        level = nxt
    return None


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
            ReplayFrame(max(0.0, t - origin), payload, market_slug(payload)) for t, payload in frames)

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

    def frames_for(self, path: str, subscription_type: str,
                   market_slugs: Iterable[str] = ()) -> tuple[ReplayFrame, ...]:
        """The frames to play to a subscription of ``subscription_type`` on ``path`` (maybe none).

        With ``market_slugs``, only the frames of those markets and the frames of no market.
        """
        recording = self._by_key.get((path, subscription_type))
        if recording is None:
            return ()
        wanted = set(market_slugs)
        if not wanted:
            return recording.frames
        return tuple(f for f in recording.frames if f.slug is None or f.slug in wanted)

    def refusal(self, path: str, subscription_type: str) -> str | None:
        """Why a subscription of ``subscription_type`` on ``path`` is refused (no recording of it), or ``None``."""
        if (path, subscription_type) in self._by_key:
            return None
        held = "; ".join(f"{r.source or 'recording'}: {r.subscription_type} on {r.path}" for r in self.recordings)
        return (f"{subscription_type} is not in the replayed recording(s) ({held}); "
                "the server replays only recorded subscription types")


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

