"""pmsync's table of subscription types and the mock's own one describe the same wire."""

from __future__ import annotations

import json

import pytest

from mockserver.protocol import ENDPOINTS
from mockserver.connections import Subscription
from mockserver.server import MockServer
from mockserver.subscription_types import STREAM_TYPES, StreamType
from pmsync.codec import decode
from pmsync.enums import PrivateSubscriptionType
from pmsync.subscription_types import SUBSCRIPTION_TYPES, SubscriptionSpec

PATHS = {"private": "/v1/ws/private", "markets": "/v1/ws/markets"}
ROWS = [pytest.param(row, STREAM_TYPES[row.wire_name], id=row.cli_name) for row in SUBSCRIPTION_TYPES]


def kind_of(payload_key: str, endpoint: str) -> str:
    """The event kind pmsync decodes a message with this payload key into."""
    return decode(json.dumps({"request_id": "r", payload_key: {}}), endpoint).kind


def test_same_types_names_numbers_and_endpoints() -> None:
    assert {row.wire_name for row in SUBSCRIPTION_TYPES} == set(STREAM_TYPES)
    for endpoint, path in PATHS.items():
        ours = {row.wire_name: row.number for row in SUBSCRIPTION_TYPES.endpoint(endpoint)}
        assert ours == {t.name: t.number for t in STREAM_TYPES.values() if t.path == path}
        assert ours == ENDPOINTS[path]


@pytest.mark.parametrize(("row", "mock"), ROWS)
def test_same_snapshot_behaviour(row: SubscriptionSpec, mock: StreamType) -> None:
    assert row.has_snapshot == (mock.snapshot != "none")
    assert row.snapshot_per_market == (mock.snapshot == "per_market")
    assert (row.snapshot_pages is not None) == (mock.snapshot == "pages")
    if mock.snapshot_key is not None:
        assert row.snapshot_kinds == {kind_of(mock.snapshot_key, row.endpoint)}


@pytest.mark.parametrize(("row", "mock"), ROWS)
def test_same_event_kinds_and_slug_rule(row: SubscriptionSpec, mock: StreamType) -> None:
    sent = {kind_of(key, row.endpoint) for key in mock.updates.values()}
    if mock.snapshot_key is not None:
        sent.add(kind_of(mock.snapshot_key, row.endpoint))
    # pmsync also accepts position_snapshot, an older spelling the mock never sends.
    extra = {"position_snapshot"} if row.member is PrivateSubscriptionType.POSITION else set()
    assert set(row.kinds) == sent | extra
    assert (row.slugs == "required") == mock.slugs_required


@pytest.mark.parametrize("mock", list(STREAM_TYPES.values()), ids=list(STREAM_TYPES))
def test_the_mock_answers_a_subscribe_as_its_table_says(mock: StreamType) -> None:
    server = MockServer(seed=1, page_size=1)  # not started: no thread, no socket
    slugs = tuple(server.markets[:2]) if mock.slugs_required else ()
    messages = server._publisher.snapshot(Subscription("r", mock.name, slugs))
    keys = [next(k for k in m if k not in ("request_id", "subscription_type")) for m in messages]
    if mock.snapshot == "none":
        assert messages == []
        return
    assert set(keys) == {mock.snapshot_key}
    if mock.snapshot == "one":
        assert len(messages) == 1
    elif mock.snapshot == "per_market":
        assert [m[mock.snapshot_key]["market_slug"] for m in messages] == list(slugs)
    else:
        pages = [m[mock.snapshot_key] for m in messages]
        assert len(pages) == max(1, len(server._exchange.open_orders(slugs))) >= 2
        assert [p["eof"] for p in pages] == [False] * (len(pages) - 1) + [True]

