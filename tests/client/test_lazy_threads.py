"""Concurrent first access to a lazily built part of MarketData (issue 6)."""

from __future__ import annotations

import sys
import threading
from typing import Any

from pmsync import models as m
from pmsync.codec import decode

from tests.core.test_codec_examples import CAMEL_EXAMPLES


def fresh() -> m.MarketData:
    data = decode(CAMEL_EXAMPLES[0], "markets").data
    assert type(data) is m.MarketData
    return data


def test_concurrent_first_access_gives_equal_values() -> None:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        _race()
    finally:
        sys.setswitchinterval(previous)


def _race() -> None:
    for _ in range(200):
        data = fresh()
        results: list[Any] = []
        barrier = threading.Barrier(2)

        def read(d: m.MarketData = data) -> None:
            barrier.wait()
            results.append((d.bids, d.offers, d.stats))

        threads = [threading.Thread(target=read, name=f"lazy-reader-{i}") for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 2 and results[0] == results[1]
        assert results[0] == (data.bids, data.offers, data.stats)
