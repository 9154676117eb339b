"""Market-data streams whose levels change from book to book, for measuring
caches keyed by text honestly (the blast server repeats one frame).

- ``delta``: ``markets`` markets in turn, each book its market's previous book
  with the size of one level changed (what a live feed mostly sends);
- ``random``: every book has fresh random sizes at random prices (no two
  levels alike: the worst case for a cache).

Books have 5 levels a side; the frames are the blast server's market-data
frame with the levels replaced, encoded by websockets' serialiser and cut in
64 KiB chunks as :func:`benchmarks.blast.frames` does.
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from typing import Any

from websockets.frames import Frame, Opcode

from .blast import chunked, texts

Side = list[tuple[int, int]]


def _level(cents: int, qty: int) -> dict[str, Any]:
    return {"px": {"value": f"{cents / 100:.2f}", "currency": "USD"}, "qty": str(qty)}


def _fresh(rng: random.Random) -> tuple[Side, Side]:
    bids = sorted(rng.sample(range(1, 50), 5), reverse=True)
    offers = sorted(rng.sample(range(51, 99), 5))
    return ([(b, rng.randint(1, 100_000)) for b in bids],
            [(o, rng.randint(1, 100_000)) for o in offers])


def _changed(rng: random.Random, book: tuple[Side, Side]) -> tuple[Side, Side]:
    bids, offers = list(book[0]), list(book[1])
    side = bids if rng.random() < 0.5 else offers
    i = rng.randrange(len(side))
    side[i] = (side[i][0], rng.randint(1, 100_000))
    return bids, offers


@lru_cache(maxsize=4)
def varied_texts(n: int, mode: str, markets: int = 50) -> tuple[bytes, ...]:
    """``n`` market-data frames (snake dialect) of ``mode`` ``"delta"`` or ``"random"``."""
    rng = random.Random(15)
    base = json.loads(texts("snake")["market_data"])
    books: list[tuple[Side, Side] | None] = [None] * markets
    out = []
    for i in range(n):
        j = i % markets
        previous = books[j]
        book = _fresh(rng) if mode == "random" or previous is None else _changed(rng, previous)
        books[j] = book
        payload = dict(base["market_data"], market_slug=f"market-slug-{j}",
                       bids=[_level(*x) for x in book[0]], offers=[_level(*x) for x in book[1]])
        out.append(json.dumps(dict(base, market_data=payload), separators=(",", ":")).encode())
    return tuple(out)


def varied_chunks(n: int, mode: str) -> list[bytes]:
    """The frames of :func:`varied_texts` as a socket would deliver them."""
    return chunked(Frame(Opcode.TEXT, text).serialize(mask=False) for text in varied_texts(n, mode))
