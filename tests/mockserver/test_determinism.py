"""Same seed, same client actions, same injected clock, ticks driven by hand: identical bytes."""

from __future__ import annotations

import itertools
import json

from mockserver import Exchange, MockServer
from mockserver_helpers import MARKETS, PRIVATE, connect, recv_json, subscribe


def fake_clock() -> "itertools.count[float]":
    return itertools.count(1_767_225_600.0, 0.25)


def run_script(server: MockServer) -> dict[int, list[str | bytes]]:
    server.pause_ticker()
    priv = connect(server, PRIVATE, headers={})
    mkt = connect(server, MARKETS, query="?dialect=camel", headers={})
    subscribe(priv, "o", 1)
    subscribe(priv, "p", 3)
    subscribe(priv, "b", "SUBSCRIPTION_TYPE_ACCOUNT_BALANCE", camel=True)
    subscribe(mkt, "md", 1, server.markets[:3])
    subscribe(mkt, "lite", 2, server.markets)
    subscribe(mkt, "t", 3, server.markets)
    server.wait_for_subscription("SUBSCRIPTION_TYPE_ACCOUNT_BALANCE")
    server.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE")
    for _ in range(30):
        server.tick()
    server.inject_fill()
    server.inject_balance_change("5.00")
    server.inject_market_state(server.markets[0], "MARKET_STATE_SUSPENDED")
    # a request/response round trip on each connection marks the end of the stream
    for ws in (priv, mkt):
        ws.send(json.dumps({"unsubscribe": {"request_id": "end"}}))
        while "error" not in recv_json(ws):
            pass
    priv.close()
    mkt.close()
    server.wait_for_no_connections()
    # frames are ordered per connection (two connections interleave as the OS schedules them)
    out: dict[int, list[str | bytes]] = {}
    for entry in server.journal.entries(direction="out"):
        out.setdefault(entry.conn_id, []).append(entry.text)
    return out


def test_two_servers_send_identical_bytes(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    sent = []
    for _ in range(2):
        clock = fake_clock()
        server = pm_mockserver_factory(seed=42, auth=False, heartbeat_interval=3600,
                                       clock=lambda c=clock: next(c))
        sent.append(run_script(server))
    assert sorted(sent[0]) == [1, 2] and len(sent[0][1]) + len(sent[0][2]) > 100
    assert sent[0] == sent[1]
    kinds = {next(k for k in json.loads(t) if k not in ("request_id", "requestId", "subscription_type",
                                                          "subscriptionType"))
             for frames in sent[0].values() for t in frames}
    assert {"order_subscription_snapshot", "order_subscription_update", "position_subscription",
            "account_balances_snapshot", "account_balances_update", "marketData", "marketDataLite",
            "trade"} <= kinds


def test_other_seed_differs() -> None:
    clock_a, clock_b = fake_clock(), fake_clock()
    a = Exchange(1, clock=lambda: next(clock_a))
    b = Exchange(2, clock=lambda: next(clock_b))
    assert a.market_data(a.slugs[0]) != b.market_data(b.slugs[0])


def test_exchange_is_deterministic_and_reset_restores_it() -> None:
    clock = fake_clock()
    ex = Exchange(7, clock=lambda: 1_767_225_600.0)
    first = [(e.kind, e.slug, repr(e.payload)) for _ in range(50) for e in ex.step()]
    ex.reset()
    again = [(e.kind, e.slug, repr(e.payload)) for _ in range(50) for e in ex.step()]
    assert first == again
    del clock
