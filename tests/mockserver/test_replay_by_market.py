"""Replay by subscription: a subscriber gets only its markets' recorded frames; unrecorded types are refused."""

from __future__ import annotations

import json
from pathlib import Path

from mockserver import MockServer
from mockserver.replay import Recording, market_slug
from mockserver_helpers import MARKETS, PRIVATE, connect, recv_json, subscribe

NBA, NFL = "nba-lal-bos-2026-02-01", "nfl-kc-buf-2026-01-25"


def trade(slug: str, n: int) -> str:
    return json.dumps({"requestId": "rec", "subscriptionType": "SUBSCRIPTION_TYPE_TRADE",
                       "trade": {"marketSlug": slug, "price": {"value": f"0.{n:02d}", "currency": "USD"}}})


def write_recording(path: Path) -> list[str]:
    frames = [trade(NBA, 1), trade(NFL, 2), trade(NBA, 3), '{"requestId":"rec","note":"no market"}',
              trade(NFL, 4)]
    header = {"pmsync_recording": 1, "endpoint": "markets", "subscription_type": "SUBSCRIPTION_TYPE_TRADE",
              "market_slugs": [NBA, NFL], "t": 0}
    path.write_text("\n".join(json.dumps(x) for x in
                              [header, *({"t": 0.001 * i, "text": f} for i, f in enumerate(frames))]) + "\n")
    return frames


def data_frames(ws: object, count: int) -> list[dict[str, object]]:
    return [recv_json(ws) for _ in range(count)]  # type: ignore[arg-type]


def test_a_subscriber_gets_only_its_markets_and_the_frames_of_no_market(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    write_recording(path)
    with MockServer(replay=[path], replay_speed=0, heartbeat_interval=60) as server:
        nfl = connect(server, MARKETS)
        subscribe(nfl, "mine", 3, [NFL])
        got = data_frames(nfl, 3)
        assert [m.get("trade", {}).get("marketSlug") for m in got] == [NFL, None, NFL]  # type: ignore[union-attr]
        assert {m["requestId"] for m in got} == {"mine"}
        both = connect(server, MARKETS)
        subscribe(both, "all", 3, [NBA, NFL])
        assert len(data_frames(both, 5)) == 5
        nfl.close()
        both.close()
        server.check_assertions()


def test_a_type_the_recording_lacks_is_refused_with_an_error_naming_the_recording(tmp_path: Path) -> None:
    path = tmp_path / "trades.jsonl"
    write_recording(path)
    with MockServer(replay=[path], replay_speed=0, heartbeat_interval=60) as server:
        ws = connect(server, MARKETS)
        subscribe(ws, "book", 1, [NBA])
        error = recv_json(ws)
        assert error["request_id"] == "book"
        assert "SUBSCRIPTION_TYPE_MARKET_DATA is not in the replayed recording(s)" in error["error"]
        assert str(path) in error["error"] and "SUBSCRIPTION_TYPE_TRADE on /v1/ws/markets" in error["error"]
        assert server.connections[0].subscriptions == {}  # refused: not live
        subscribe(ws, "trades", 3, [NBA])                  # the recorded type still plays
        assert recv_json(ws)["trade"]["marketSlug"] == NBA
        priv = connect(server, PRIVATE)
        subscribe(priv, "orders", 1)
        assert "not in the replayed recording" in recv_json(priv)["error"]
        ws.close()
        priv.close()


def test_market_slug_of_recorded_frames() -> None:
    assert market_slug(trade(NBA, 1)) == NBA
    position = {"request_id": "p", "subscription_type": 3, "position_subscription": {
        "before_position": {"market_metadata": {"slug": NFL}}, "after_position": {"market_metadata": {"slug": NFL}}}}
    assert market_slug(json.dumps(position)) == NFL
    snapshot = {"request_id": "o", "order_subscription_snapshot": {"orders": [
        {"market_slug": NBA}, {"market_slug": NFL}], "eof": True}}
    assert market_slug(json.dumps(snapshot)) is None        # several markets: every subscriber gets it
    assert market_slug('{"account_balances_update":{"balance_change":{}}}') is None
    assert market_slug("not json") is None and market_slug(b"\x00") is None
    recording = Recording({"pmsync_recording": 1, "endpoint": "markets",
                           "subscription_type": "SUBSCRIPTION_TYPE_TRADE"}, [{"t": 1, "text": trade(NBA, 1)}])
    assert recording.frames[0].slug == NBA
