"""The journal: the most recent frames in and out, in a ring of bounded size.

A mock server left running for days must not grow: the journal keeps the
last ``maxlen`` frames (:data:`DEFAULT_JOURNAL_SIZE` unless told otherwise;
0 keeps none) and counts the ones it overwrote. Frames are stored as their
raw text; :attr:`JournalEntry.data` parses it when asked. Whoever needs
every frame of a long run taps them as they go
(:meth:`mockserver.MockServer.add_tap`) instead of reading the journal.
"""

from __future__ import annotations

import base64
import collections
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

__all__ = ["DEFAULT_JOURNAL_SIZE", "Journal", "JournalEntry", "endpoint_alias"]

#: Frames the journal keeps by default (the most recent ones); a few MB of text at most.
DEFAULT_JOURNAL_SIZE = 10_000

_PATH_ALIASES = {"private": "/v1/ws/private", "markets": "/v1/ws/markets"}


def endpoint_alias(path: str) -> str:
    """``private``/``markets`` as their endpoint path; any other path unchanged."""
    return _PATH_ALIASES.get(path, path)


@dataclass(frozen=True)
class JournalEntry:
    """One frame in or out: connection id, endpoint path, direction, time and raw text."""

    conn_id: int
    path: str
    direction: Literal["in", "out"]
    time: float
    text: str | bytes

    @property
    def data(self) -> Any | None:
        """The frame parsed as JSON (numbers as ``Decimal``); ``None`` for binary or invalid JSON."""
        if isinstance(self.text, bytes):
            return None
        try:
            return json.loads(self.text, parse_float=Decimal)
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (bytes as base64 under ``binary``)."""
        out: dict[str, Any] = {"conn_id": self.conn_id, "path": self.path,
                               "direction": self.direction, "time": self.time}
        if isinstance(self.text, bytes):
            out["binary"] = base64.b64encode(self.text).decode("ascii")
        else:
            out["text"] = self.text
        return out


class Journal:
    """The last ``maxlen`` frames in both directions, in order (thread-safe, list-like).

    ``maxlen=0`` turns it off (nothing is kept; :attr:`total` still counts).
    """

    def __init__(self, maxlen: int = DEFAULT_JOURNAL_SIZE) -> None:
        if isinstance(maxlen, bool) or not isinstance(maxlen, int) or maxlen < 0:
            raise ValueError(f"journal size must be an integer >= 0, got {maxlen!r}")
        self._lock = threading.Lock()
        self._entries: collections.deque[JournalEntry] = collections.deque(maxlen=maxlen)
        self._total = 0

    @property
    def maxlen(self) -> int:
        """Most entries kept (0: the journal is off)."""
        return self._entries.maxlen or 0

    @property
    def total(self) -> int:
        """Frames appended since creation or :meth:`clear` (kept or not)."""
        with self._lock:
            return self._total

    @property
    def overwritten(self) -> int:
        """Frames appended but no longer kept (the ring turned over, or the journal is off)."""
        with self._lock:
            return self._total - len(self._entries)

    def append(self, entry: JournalEntry) -> None:
        """Record one frame (the oldest one goes when the ring is full)."""
        with self._lock:
            self._total += 1
            if self._entries.maxlen:
                self._entries.append(entry)

    def clear(self) -> None:
        """Forget every entry and reset the counters."""
        with self._lock:
            self._entries.clear()
            self._total = 0

    def forget(self, conn_ids: Iterable[int]) -> None:
        """Forget the entries of these connections."""
        ids = set(conn_ids)
        with self._lock:
            kept = [e for e in self._entries if e.conn_id not in ids]
            self._total -= len(self._entries) - len(kept)
            self._entries.clear()
            self._entries.extend(kept)

    def entries(
        self, direction: str | None = None, conn_id: int | None = None, path: str | None = None
    ) -> list[JournalEntry]:
        """Entries matching every filter given (``path`` may be ``private``/``markets``)."""
        path = endpoint_alias(path) if path is not None else None
        with self._lock:
            items = list(self._entries)
        return [e for e in items
                if (direction is None or e.direction == direction)
                and (conn_id is None or e.conn_id == conn_id)
                and (path is None or e.path == path)]

    def to_jsonl(self, target: str | Path | IO[str]) -> None:
        """Write every entry as one JSON object per line to a path or text file."""
        text = self.jsonl()
        if isinstance(target, (str, Path)):
            Path(target).write_text(text, encoding="utf-8")
        else:
            target.write(text)

    def jsonl(self) -> str:
        """Every entry as JSON lines."""
        with self._lock:
            items = list(self._entries)
        return "".join(json.dumps(e.to_dict()) + "\n" for e in items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[JournalEntry]:
        with self._lock:
            return iter(list(self._entries))

    def __getitem__(self, index: int) -> JournalEntry:
        with self._lock:
            return self._entries[index]

    def __repr__(self) -> str:
        return f"<Journal {len(self)} of at most {self.maxlen} entries, {self.overwritten} overwritten>"
