"""Protocol: every subscription type, both dialects, snapshots, updates, filters, every error case."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from mockserver import MockServer
from mockserver.protocol import ENUM_NUMBERS
from mockserver.rfq import RFQ_STAGES
from mockserver_helpers import MARKETS, PRIVATE, connect, recv_json, recv_until, subscribe

SNAKE_PAYLOADS = {"market_data", "market_data_lite", "trade", "order_subscription_snapshot",
                  "order_subscription_update", "position_subscription", "account_balances_snapshot",
                  "account_balances_update", "rfq_event", "heartbeat", "error"}


def payload_key(msg: dict[str, Any]) -> str:
    keys = [k for k in msg if k not in ("request_id", "requestId", "subscription_type", "subscriptionType")]
    assert len(keys) == 1, msg
    return keys[0]


# ------------------------------------------------------------------ markets


@pytest.mark.parametrize("camel_request", [False, True])
def test_market_data_snapshot_then_updates_snake(quiet_server: MockServer, camel_request: bool) -> None:
    slugs = quiet_server.markets[:2]
    ws = connect(quiet_server, MARKETS)
    subscribe(ws, "md-1", 1, slugs, camel=camel_request)
    snaps = [recv_json(ws), recv_json(ws)]
    for msg, slug in zip(snaps, slugs):
        assert msg["request_id"] == "md-1" and msg["subscription_type"] == 1
        book = msg["market_data"]
        assert book["market_slug"] == slug and book["state"] == 1
        assert book["bids"] and book["offers"]
        assert Decimal(book["bids"][0]["px"]["value"]) < Decimal(book["offers"][0]["px"]["value"])
        assert [Decimal(l["px"]["value"]) for l in book["bids"]] == sorted(
            (Decimal(l["px"]["value"]) for l in book["bids"]), reverse=True)
        assert book["bids"][0]["px"]["currency"] == "USD" and isinstance(book["bids"][0]["qty"], str)
        assert set(book["stats"]) == {"last_trade_px", "shares_traded", "open_interest", "high_px", "low_px"}
        assert book["transact_time"].endswith("Z")
    quiet_server.inject_trade(slugs[0])
    update = recv_json(ws)
    assert update["market_data"]["market_slug"] == slugs[0]
    ws.close()


def test_market_data_lite_and_trade_camel(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(dialect="camel")
    server.pause_ticker()
    slug = server.markets[0]
    ws = connect(server, MARKETS)
    subscribe(ws, "lite", "SUBSCRIPTION_TYPE_MARKET_DATA_LITE", [slug])
    subscribe(ws, "tr", 3, [slug], camel=True)  # numbers accepted in camel requests too
    lite = recv_json(ws)
    assert lite["requestId"] == "lite"
    assert lite["subscriptionType"] == "SUBSCRIPTION_TYPE_MARKET_DATA_LITE"
    body = lite["marketDataLite"]
    assert set(body) >= {"marketSlug", "currentPx", "lastTradePx", "bestBid", "bestAsk", "bidDepth",
                         "askDepth", "sharesTraded", "openInterest"}
    assert isinstance(body["bidDepth"], int) and isinstance(body["sharesTraded"], str)
    server.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE")
    server.inject_trade(slug)
    trade = recv_until(ws, lambda m: "trade" in m)
    assert trade["requestId"] == "tr" and trade["subscriptionType"] == "SUBSCRIPTION_TYPE_TRADE"
    t = trade["trade"]
    assert t["marketSlug"] == slug and t["price"]["currency"] == "USD" and "value" in t["quantity"]
    assert t["maker"]["side"] in ("ORDER_SIDE_BUY", "ORDER_SIDE_SELL")
    assert t["taker"]["side"] != t["maker"]["side"]
    assert t["tradeTime"].endswith("Z")
    ws.close()


def test_market_state_change_is_published(quiet_server: MockServer) -> None:
    slug = quiet_server.markets[1]
    for dialect, halted, open_ in (("snake", "MARKET_STATE_HALTED", 1), ("camel", "MARKET_STATE_HALTED",
                                                                          "MARKET_STATE_OPEN")):
        ws = connect(quiet_server, MARKETS, query=f"?dialect={dialect}")
        subscribe(ws, "md", 1, [slug])
        first = recv_json(ws)
        key = "market_data" if dialect == "snake" else "marketData"
        assert first[key]["state"] == open_
        quiet_server.inject_market_state(slug, "MARKET_STATE_HALTED")
        assert recv_json(ws)[key]["state"] == halted
        quiet_server.inject_market_state(slug, "MARKET_STATE_OPEN")
        assert recv_json(ws)[key]["state"] == open_
        ws.close()


def test_subscription_only_gets_its_slugs(quiet_server: MockServer) -> None:
    a, b = quiet_server.markets[:2]
    ws = connect(quiet_server, MARKETS)
    subscribe(ws, "t", 3, [a])
    quiet_server.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE", request_id="t")
    quiet_server.inject_trade(b)
    quiet_server.inject_trade(a)
    msg = recv_json(ws)
    assert msg["trade"]["market_slug"] == a
    ws.close()


def test_ticker_sends_updates(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(tick_interval=0.02)
    ws = connect(server, MARKETS)
    subscribe(ws, "md", 1, server.markets)
    subscribe(ws, "tr", 3, server.markets)
    kinds = set()
    for _ in range(400):
        kinds.add(payload_key(recv_json(ws)))
        if kinds >= {"market_data", "trade"}:
            break
    assert kinds >= {"market_data", "trade"}
    ws.close()


# ------------------------------------------------------------------ private


def test_order_snapshot_is_paged_with_eof_on_the_last(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(page_size=25)
    server.pause_ticker()
    open_ids = server.open_order_ids
    assert len(open_ids) >= 60
    ws = connect(server, PRIVATE)
    subscribe(ws, "o", 1)
    pages = []
    while True:
        msg = recv_json(ws)
        snap = msg["order_subscription_snapshot"]
        pages.append(snap)
        if snap["eof"]:
            break
    assert len(pages) == -(-len(open_ids) // 25)
    assert all(not p["eof"] for p in pages[:-1])
    assert all(len(p["orders"]) == 25 for p in pages[:-1])
    orders = [o for p in pages for o in p["orders"]]
    assert [o["id"] for o in orders] == open_ids
    o = orders[0]
    assert isinstance(o["quantity"], (int, Decimal)) and isinstance(o["leaves_quantity"], (int, Decimal))
    # The snake dialect sends these enums as numbers, as the reference pages' examples do.
    assert o["side"] in (1, 2) and o["price"]["currency"] == "USD"
    assert o["state"] == 1 and o["type"] == 1  # ORDER_STATE_NEW, ORDER_TYPE_LIMIT
    assert o["intent"] in ("ORDER_INTENT_BUY_LONG", "ORDER_INTENT_SELL_LONG")  # names: no number shown
    ws.close()


def test_default_page_size_gives_two_pages(quiet_server: MockServer) -> None:
    ws = connect(quiet_server, PRIVATE)
    subscribe(ws, "o", "SUBSCRIPTION_TYPE_ORDER_SNAPSHOT")
    first, second = recv_json(ws), recv_json(ws)
    assert first["subscription_type"] == 2
    assert len(first["order_subscription_snapshot"]["orders"]) == 50
    assert first["order_subscription_snapshot"]["eof"] is False
    assert second["order_subscription_snapshot"]["eof"] is True
    # ORDER_SNAPSHOT gets no execution updates
    quiet_server.inject_fill()
    subscribe(ws, "b", 4)
    assert payload_key(recv_json(ws)) == "account_balances_snapshot"
    ws.close()


def test_private_market_filter(quiet_server: MockServer) -> None:
    slug = quiet_server.markets[2]
    ws = connect(quiet_server, PRIVATE)
    subscribe(ws, "o", 1, [slug])
    subscribe(ws, "p", 3, [slug])
    orders = []
    while True:
        snap = recv_json(ws)["order_subscription_snapshot"]
        orders += snap["orders"]
        if snap["eof"]:
            break
    assert orders and {o["market_slug"] for o in orders} == {slug}
    quiet_server.wait_for_subscription("SUBSCRIPTION_TYPE_POSITION", request_id="p")
    other = next(i for i in quiet_server.open_order_ids
                 if i not in {o["id"] for o in orders})
    quiet_server.inject_fill(other)  # another market: filtered out
    quiet_server.inject_fill(orders[0]["id"])
    update = recv_json(ws)
    assert update["order_subscription_update"]["execution"]["order"]["id"] == orders[0]["id"]
    position = recv_json(ws)
    assert position["request_id"] == "p"
    assert position["position_subscription"]["after_position"]["market_metadata"]["slug"] == slug
    ws.close()


def test_fill_is_coherent_across_all_streams(quiet_server: MockServer) -> None:
    order_id = quiet_server.open_order_ids[0]
    priv = connect(quiet_server, PRIVATE)
    mkt = connect(quiet_server, MARKETS, query="?dialect=camel")
    subscribe(priv, "o", 1)
    subscribe(priv, "p", "SUBSCRIPTION_TYPE_POSITION", camel=True)
    subscribe(priv, "b", 4)
    while not recv_json(priv)["order_subscription_snapshot"]["eof"]:
        pass
    balance_before = recv_json(priv)["account_balances_snapshot"]["balances"][0]
    slug = next(o for o in [quiet_server.exchange.account.orders[order_id]]).market_slug
    subscribe(mkt, "t", "SUBSCRIPTION_TYPE_TRADE", [slug], camel=True)
    quiet_server.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE", request_id="t")
    quiet_server.wait_for_subscription("SUBSCRIPTION_TYPE_POSITION", request_id="p")
    quiet_server.inject_fill(order_id)

    execution = recv_json(priv)["order_subscription_update"]["execution"]
    position = recv_json(priv)["position_subscription"]
    balance = recv_json(priv)["account_balances_update"]["balance_change"]
    trade = recv_json(mkt)["trade"]

    qty = Decimal(execution["last_shares"])
    px = Decimal(execution["last_px"]["value"])
    order = execution["order"]
    assert order["id"] == order_id and qty > 0
    assert Decimal(order["cum_quantity"]) == qty
    assert Decimal(order["leaves_quantity"]) == Decimal(order["quantity"]) - qty
    numbers = ENUM_NUMBERS  # the snake dialect's enum numbers
    assert execution["type"] == numbers["EXECUTION_TYPE_FILL" if Decimal(order["leaves_quantity"]) == 0
                                        else "EXECUTION_TYPE_PARTIAL_FILL"]
    assert order["state"] in (numbers["ORDER_STATE_FILLED"], numbers["ORDER_STATE_PARTIALLY_FILLED"])
    assert execution["trade_id"] == position["trade_id"]
    assert position["entry_type"] == 1 and balance["entry_type"] == 1
    sign = 1 if order["side"] == numbers["ORDER_SIDE_BUY"] else -1
    before, after = position["before_position"], position["after_position"]
    assert Decimal(after["net_position_decimal"]) - Decimal(before["net_position_decimal"]) == sign * qty
    assert Decimal(balance["before_balance"]["current_balance"]) == Decimal(balance_before["current_balance"])
    assert (Decimal(balance["after_balance"]["current_balance"])
            - Decimal(balance["before_balance"]["current_balance"])) == -sign * qty * px
    if sign == 1:
        assert Decimal(after["cost"]["value"]) - Decimal(before["cost"]["value"]) == qty * px
    assert Decimal(trade["price"]["value"]) == px and Decimal(trade["quantity"]["value"]) == qty
    assert trade["marketSlug"] == slug and numbers[trade["maker"]["side"]] == order["side"]
    priv.close()
    mkt.close()


def test_balance_snapshot_and_injected_change(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(dialect="camel")
    server.pause_ticker()
    ws = connect(server, PRIVATE)
    subscribe(ws, "bal", 4)
    snap = recv_json(ws)
    assert snap["subscriptionType"] == "SUBSCRIPTION_TYPE_ACCOUNT_BALANCE"
    bal = snap["accountBalancesSnapshot"]["balances"][0]
    assert bal["currency"] == "USD" and isinstance(bal["currentBalance"], Decimal)
    server.inject_balance_change("-25.50", "Withdrawal to bank")
    change = recv_json(ws)["accountBalancesUpdate"]["balanceChange"]
    assert change["entryType"] == "LEDGER_ENTRY_TYPE_WITHDRAWAL"
    assert change["description"] == "Withdrawal to bank"
    assert change["afterBalance"]["currentBalance"] - change["beforeBalance"]["currentBalance"] == Decimal("-25.50")
    ws.close()


def test_position_and_rfq_are_update_only(quiet_server: MockServer) -> None:
    ws = connect(quiet_server, PRIVATE)
    subscribe(ws, "p", 3)
    subscribe(ws, "rfq", "SUBSCRIPTION_TYPE_RFQ")
    quiet_server.wait_for_subscription("SUBSCRIPTION_TYPE_RFQ")
    for _ in RFQ_STAGES:
        quiet_server.inject_rfq()
    events = [recv_json(ws) for _ in RFQ_STAGES]  # no position snapshot came first
    first = events[0]
    assert first["request_id"] == "rfq" and first["subscription_type"] == "SUBSCRIPTION_TYPE_RFQ"
    kinds = [next(iter(e["rfq_event"])) for e in events]
    assert kinds == list(RFQ_STAGES)  # a whole lifecycle: created ... executed, trade, closed
    trade = events[kinds.index("rfq_trade")]["rfq_event"]["rfq_trade"]["trade"]
    assert isinstance(trade["price"], str) and trade["aggressor_side"] in ("SIDE_BUY", "SIDE_SELL")
    statuses = [e["rfq_event"][k].get("quote", {}).get("status") for e, k in zip(events, kinds)]
    assert statuses[1:7] == ["QUOTE_STATUS_ACTIVE", "QUOTE_STATUS_ACTIVE", "QUOTE_STATUS_DELETED",
                             "QUOTE_STATUS_ACCEPTED", "QUOTE_STATUS_CONFIRMED", "QUOTE_STATUS_EXECUTED"]
    assert events[-1]["rfq_event"]["rfq_closed"]["rfq"]["status"] == "RFQ_STATUS_CLOSED"
    ws.close()


def test_unsubscribe_stops_messages_at_once(quiet_server: MockServer) -> None:
    slug = quiet_server.markets[0]
    ws = connect(quiet_server, MARKETS)
    subscribe(ws, "t1", 3, [slug])
    subscribe(ws, "t2", 3, [slug])
    quiet_server.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE", request_id="t2")
    ws.send(json.dumps({"unsubscribe": {"requestId": "t1"}}))
    ws.send(json.dumps({"unsubscribe": {"requestId": "sync"}}))  # requests are handled in order
    assert "error" in recv_json(ws)
    quiet_server.inject_trade(slug)
    assert recv_json(ws)["request_id"] == "t2"
    assert set(quiet_server.connections[0].subscriptions) == {"t2"}
    # the id is free again
    subscribe(ws, "t1", 3, [slug])
    quiet_server.wait_for_subscription("SUBSCRIPTION_TYPE_TRADE", request_id="t1")
    ws.close()


def test_unsubscribe_drops_already_queued_messages(quiet_server: MockServer) -> None:
    slug = quiet_server.markets[0]
    ws = connect(quiet_server, MARKETS)
    subscribe(ws, "md", 1, [slug])
    recv_json(ws)
    quiet_server.set_delay(0.05)
    for _ in range(5):
        quiet_server.inject_trade(slug)
    ws.send(json.dumps({"unsubscribe": {"request_id": "md"}}))
    ws.send(json.dumps({"unsubscribe": {"request_id": "md"}}))
    # at most the message already being sent, then the error of the second unsubscribe
    seen = []
    while True:
        msg = recv_json(ws)
        seen.append(msg)
        if "error" in msg:
            break
    assert len(seen) <= 3
    assert seen[-1] == {"request_id": "md", "error": "unknown request id 'md': no live subscription to unsubscribe"}
    ws.close()


def test_heartbeats_on_every_connection(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(heartbeat_interval=0.05)
    a, b = connect(server, PRIVATE), connect(server, MARKETS, query="?dialect=camel")
    for ws in (a, b):
        for _ in range(3):
            assert json.loads(ws.recv()) == {"heartbeat": {}}
    a.close()
    b.close()


# ------------------------------------------------------------------ errors

ERRORS = [
    (MARKETS, {"subscribe": {"request_id": "x", "subscription_type": 4, "market_slugs": ["{slug}"]}},
     "x", "unknown subscription type 4 for /v1/ws/markets"),
    (MARKETS, {"subscribe": {"requestId": "x", "subscriptionType": "SUBSCRIPTION_TYPE_ORDER",
                             "marketSlugs": ["{slug}"]}},
     "x", "unknown subscription type 'SUBSCRIPTION_TYPE_ORDER' for /v1/ws/markets"),
    (PRIVATE, {"subscribe": {"request_id": "x", "subscription_type": "SUBSCRIPTION_TYPE_TRADE"}},
     "x", "unknown subscription type 'SUBSCRIPTION_TYPE_TRADE' for /v1/ws/private"),
    (PRIVATE, {"subscribe": {"request_id": "x", "subscription_type": 9}},
     "x", "unknown subscription type 9 for /v1/ws/private"),
    (PRIVATE, {"subscribe": {"subscription_type": 1}}, "", "missing request id"),
    (PRIVATE, {"unsubscribe": {}}, "", "missing request id"),
    (MARKETS, {"subscribe": {"request_id": "x", "subscription_type": 1}},
     "x", "market slugs required: a markets subscription needs at least one slug"),
    (MARKETS, {"subscribe": {"request_id": "x", "subscription_type": 1, "market_slugs": []}},
     "x", "market slugs required: a markets subscription needs at least one slug"),
    (MARKETS, {"subscribe": {"request_id": "x", "subscription_type": 1,
                             "market_slugs": [f"m-{i}" for i in range(101)]}},
     "x", "too many market slugs: 101 (at most 100 per subscription)"),
    (PRIVATE, {"subscribe": {"request_id": "x", "subscription_type": 1,
                             "market_slugs": [f"m-{i}" for i in range(101)]}},
     "x", "too many market slugs: 101 (at most 100 per subscription)"),
    (MARKETS, {"subscribe": {"request_id": "x", "subscription_type": 2, "market_slugs": ["no-such-market"]}},
     "x", "unknown market slug 'no-such-market'"),
    (PRIVATE, {"subscribe": {"request_id": "x", "subscription_type": 1, "market_slugs": ["nope"]}},
     "x", "unknown market slug 'nope'"),
    (PRIVATE, {"ping": {}}, "", "unknown top-level key 'ping'; expected 'subscribe' or 'unsubscribe'"),
    (PRIVATE, {"subscribe": {"request_id": "x", "subscription_type": 1}, "extra": 1},
     "x", "unknown top-level key 'extra'; expected 'subscribe' or 'unsubscribe'"),
    (PRIVATE, {"unsubscribe": {"request_id": "never"}},
     "never", "unknown request id 'never': no live subscription to unsubscribe"),
    (PRIVATE, [1, 2], "", "request must be a JSON object, got list"),
    (PRIVATE, {"subscribe": {"request_id": "x"}}, "x", "missing subscription type"),
]


@pytest.mark.parametrize("path,request_,rid,error", ERRORS)
@pytest.mark.parametrize("dialect", ["snake", "camel"])
def test_error_responses_leave_the_connection_open(quiet_server: MockServer, path: str, request_: Any,
                                                   rid: str, error: str, dialect: str) -> None:
    slug = quiet_server.markets[0]
    ws = connect(quiet_server, path, query=f"?dialect={dialect}")
    ws.send(json.dumps(request_).replace("{slug}", slug))
    rid_key = "request_id" if dialect == "snake" else "requestId"
    assert recv_json(ws) == {rid_key: rid, "error": error}
    # still open and serving
    if path == MARKETS:
        subscribe(ws, "ok", 2, [slug])
        assert payload_key(recv_json(ws)) in ("market_data_lite", "marketDataLite")
    else:
        subscribe(ws, "ok", 4)
        assert payload_key(recv_json(ws)) in ("account_balances_snapshot", "accountBalancesSnapshot")
    ws.close()


def test_malformed_json_and_binary_requests(quiet_server: MockServer) -> None:
    ws = connect(quiet_server, PRIVATE)
    ws.send('{"subscribe": ')
    msg = recv_json(ws)
    assert msg["request_id"] == "" and msg["error"].startswith("malformed JSON: ")
    ws.send_binary(b"\x00\x01")
    assert recv_json(ws) == {"request_id": "", "error": "binary frames are not supported; send JSON text frames"}
    subscribe(ws, "b", 4)
    assert "account_balances_snapshot" in recv_json(ws)
    ws.close()


def test_request_id_already_live(quiet_server: MockServer) -> None:
    ws = connect(quiet_server, PRIVATE)
    subscribe(ws, "dup", 4)
    recv_json(ws)
    subscribe(ws, "dup", 3)
    assert recv_json(ws) == {"request_id": "dup", "error": "request id 'dup' is already live"}
    ws.close()


def test_client_garbage_is_not_a_server_bug(quiet_server: MockServer) -> None:
    ws = connect(quiet_server, PRIVATE)
    for junk in ["", "null", "[]", "{}", '"x"', '{"subscribe": 1}', "{" * 5000]:
        ws.send(junk)
        assert "error" in recv_json(ws)
    ws.close()
    quiet_server.check_assertions()


def test_journal_records_both_directions(quiet_server: MockServer, tmp_path: Any) -> None:
    ws = connect(quiet_server, PRIVATE)
    subscribe(ws, "b", 4)
    recv_json(ws)
    ws.close()
    quiet_server.wait_for_no_connections()
    entries = quiet_server.journal.entries(path="private")
    assert entries[0].direction == "in" and entries[0].data["subscribe"]["request_id"] == "b"
    assert entries[1].direction == "out" and "account_balances_snapshot" in entries[1].data
    assert quiet_server.journal.entries(direction="out", conn_id=entries[0].conn_id)
    out = tmp_path / "journal.jsonl"
    quiet_server.journal.to_jsonl(out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == len(quiet_server.journal)
    assert lines[0]["direction"] == "in" and lines[0]["path"] == PRIVATE
