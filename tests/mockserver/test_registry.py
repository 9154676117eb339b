"""The fault registry: one declaration per kind builds its control route and its chaos kinds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mockserver import FAULTS, MockServer
from mockserver.chaos import KINDS, FaultSchedule
from mockserver.faults import ChaosVariant, FaultKind, FaultRegistry, Param
from mockserver_helpers import MARKETS, connect, http_get, recv_until

HELLO = FaultKind(
    "send/hello", "send one hello frame to each connection",
    (Param("path", str, None, "private or markets"), Param("word", str, "hello", "what to say")),
    lambda s, p: {"sent": s.send_frame(json.dumps({"mockserver_hello": p["word"]}), p["path"])},
    (ChaosVariant("hello", lambda d: {"path": d.path, "word": "chaos"}, help="one hello frame"),),
)


def control(server: MockServer, route: str) -> tuple[int, Any]:
    status, _, body = http_get(server, route)
    return status, json.loads(body)


def test_a_kind_added_in_a_test_registry_is_on_the_control_api_and_in_chaos(pm_mockserver_factory) -> None:  # type: ignore[no-untyped-def]
    server: MockServer = pm_mockserver_factory(fault_registry=FAULTS.with_kinds(HELLO))
    server.pause_ticker()
    ws = connect(server, MARKETS)
    server.wait_for_connection()

    assert control(server, "/control/send/hello?word=hi") == (200, {"ok": True, "sent": 1})
    assert recv_until(ws, lambda m: "mockserver_hello" in m) == {"mockserver_hello": "hi"}
    assert control(server, "/control/send/hello?shout=1")[1]["error"].startswith(
        "unknown parameter 'shout' for /control/send/hello; allowed: path, word")
    listed = {r["route"]: r for r in control(server, "/control/")[1]["routes"]}
    assert [p["name"] for p in listed["/control/send/hello"]["params"]] == ["path", "word"]

    schedule = FaultSchedule(server, 7, rate=40.0)
    assert "hello" in schedule.kinds and set(KINDS) < set(schedule.kinds)
    with FaultSchedule(server, 7, rate=40.0, kinds=["hello"]) as only_hello:
        assert recv_until(ws, lambda m: m.get("mockserver_hello") == "chaos", timeout=10)
    assert set(only_hello.counts()) == {"hello"} and not only_hello.errors
    ws.close()

    # the default registry and its servers do not know the test kind
    assert "send/hello" not in FAULTS and "hello" not in KINDS
    with pytest.raises(ValueError, match="kinds must be a non-empty subset"):
        FaultSchedule(MockServer(), 1, kinds=["hello"])


def test_registry_refuses_duplicates_and_unknown_reverts() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        FAULTS.with_kinds(FaultKind("drop", "again", (), lambda s, p: {}))
    with pytest.raises(ValueError, match="reverts with unknown kind"):
        FaultRegistry([FaultKind("x", "x", (), lambda s, p: {},
                                 (ChaosVariant("x", lambda d: {}, revert="nowhere"),))])


def test_every_default_kind_has_help_and_described_parameters() -> None:
    for kind in FAULTS:
        assert kind.help and kind.route == "/control/" + kind.name
        for param in kind.params:
            assert param.help and param.type in (str, int, float)
    assert KINDS == ("drop", "close_1001", "close_1011", "heartbeat_stall", "reject_503", "malformed", "unknown")
