"""The official async SDK ``polymarket-us``, unmodified, against the server in camel dialect."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mockserver import MockServer, demo_credentials

polymarket_us = pytest.importorskip("polymarket_us")

PRIVATE_EVENTS = ("order_snapshot", "order_update", "position_update", "account_balance_snapshot",
                  "account_balance_update")
MARKET_EVENTS = ("market_data", "market_data_lite", "trade")


def test_official_sdk_receives_every_event(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(dialect="camel", seed=11)
    server.pause_ticker()
    key_id, secret = demo_credentials(11)
    slug = server.markets[0]
    got: dict[str, list[dict[str, Any]]] = {}
    errors: list[Any] = []

    async def scenario() -> None:
        client = polymarket_us.AsyncPolymarketUS(key_id=key_id, secret_key=secret,
                                                 api_base_url=server.http_url)
        private = client.ws.private()
        markets = client.ws.markets()
        arrived = asyncio.Event()

        def recorder(name: str) -> Any:
            def record(message: dict[str, Any]) -> None:
                got.setdefault(name, []).append(message)
                if all(e in got for e in PRIVATE_EVENTS + MARKET_EVENTS):
                    arrived.set()
            return record

        for name in PRIVATE_EVENTS:
            private.on(name, recorder(name))
        for name in MARKET_EVENTS:
            markets.on(name, recorder(name))
        private.on("error", errors.append)
        markets.on("error", errors.append)
        await private.connect()
        await markets.connect()
        try:
            await private.subscribe_orders("orders")
            await private.subscribe_positions("positions")
            await private.subscribe_account_balance("balance")
            await markets.subscribe_market_data("md", [slug])
            await markets.subscribe_market_data_lite("lite", [slug])
            await markets.subscribe_trades("trades", [slug])
            loop = asyncio.get_running_loop()
            for sub in ("SUBSCRIPTION_TYPE_ACCOUNT_BALANCE", "SUBSCRIPTION_TYPE_TRADE"):
                await loop.run_in_executor(None, server.wait_for_subscription, sub)
            order_id = next(o for o in server.open_order_ids
                            if server.exchange.account.orders[o].market_slug == slug)
            await loop.run_in_executor(None, server.inject_fill, order_id)
            await asyncio.wait_for(arrived.wait(), timeout=10)
        finally:
            await private.close()
            await markets.close()
            await client.close()

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    assert not errors
    assert got["order_snapshot"][-1]["orderSubscriptionSnapshot"]["eof"] is True
    execution = got["order_update"][0]["orderSubscriptionUpdate"]["execution"]
    assert got["trade"][0]["trade"]["price"] == execution["lastPx"]
    assert got["position_update"][0]["positionSubscription"]["tradeId"] == execution["tradeId"]
    assert got["account_balance_update"][0]["accountBalancesUpdate"]["balanceChange"]["entryType"] == (
        "LEDGER_ENTRY_TYPE_ORDER_EXECUTION")
    assert got["market_data"][0]["marketData"]["marketSlug"] == slug
    assert got["market_data_lite"][0]["subscriptionType"] == "SUBSCRIPTION_TYPE_MARKET_DATA_LITE"
    assert got["account_balance_snapshot"][0]["accountBalancesSnapshot"]["balances"]
