"""Record a session's raw frames to JSON lines (``python -m pmsync record``).

A recording is one JSON object per line. The first line is a header::

    {"pmsync_recording": 1, "endpoint": "markets", "subscription_type": "SUBSCRIPTION_TYPE_TRADE",
     "market_slugs": ["..."], "url": "wss://...", "t": 1767225600.0}

then one line per frame received, in order, with its receive time (Unix
seconds, ``time.time()``)::

    {"t": 1767225600.125, "text": "{\\"request_id\\":\\"trade-1\\", ...}"}
    {"t": 1767225600.250, "binary": "<base64>"}

``python -m mockserver --replay FILE`` serves it back (see the README).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

__all__ = ["FORMAT_VERSION", "FrameRecorder", "read_recording"]

#: Value of the header's ``pmsync_recording`` key.
FORMAT_VERSION = 1


def _is_heartbeat(text: str) -> bool:
    if len(text) > 64 or "heartbeat" not in text:
        return False
    try:
        obj = json.loads(text)
    except ValueError:
        return False
    return isinstance(obj, dict) and list(obj) == ["heartbeat"]


class FrameRecorder:
    """An ``on_frame`` callback that writes every frame it is given to ``out``.

    The header line is written at construction. Thread-safe; each line is
    flushed, so a recording cut short by Ctrl-C is still complete up to its
    last frame. :attr:`count` counts frames, :attr:`data_count` frames other
    than heartbeats; :meth:`wait_for` blocks until enough data frames came.
    """

    def __init__(
        self,
        out: TextIO,
        *,
        endpoint: str,
        subscription_type: str,
        market_slugs: Iterable[str] = (),
        url: str = "",
        started_at: float | None = None,
    ) -> None:
        self._out = out
        self._cond = threading.Condition()
        self.count = 0
        self.data_count = 0
        self.header: dict[str, Any] = {
            "pmsync_recording": FORMAT_VERSION,
            "endpoint": endpoint,
            "subscription_type": subscription_type,
            "market_slugs": list(market_slugs),
            "url": url,
            "t": time.time() if started_at is None else started_at,
        }
        self._write(self.header)

    def _write(self, obj: dict[str, Any]) -> None:
        self._out.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self._out.flush()

    def __call__(self, frame: str | bytes, received_at: float) -> None:
        """Write one frame (the ``on_frame(text, received_at)`` signature)."""
        if isinstance(frame, bytes):
            line: dict[str, Any] = {"t": received_at, "binary": base64.b64encode(frame).decode()}
            heartbeat = False
        else:
            line = {"t": received_at, "text": frame}
            heartbeat = _is_heartbeat(frame)
        with self._cond:
            self._write(line)
            self.count += 1
            if not heartbeat:
                self.data_count += 1
            self._cond.notify_all()

    def wait_for(self, data_frames: int, timeout: float | None = None) -> bool:
        """Block until at least ``data_frames`` non-heartbeat frames were written; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self.data_count >= data_frames, timeout)


def read_recording(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and the frame lines of a recording file."""
    lines = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()
             if line.strip()]
    if not lines or lines[0].get("pmsync_recording") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a pmsync recording (no header line)")
    return lines[0], lines[1:]
