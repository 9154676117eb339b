"""Session.settled: the lock-free routing fast path (issue 6) agrees with route()."""

from __future__ import annotations

from pmsync.enums import MarketSubscriptionType as M
from pmsync.enums import PrivateSubscriptionType as P
from pmsync.session import Routed, Session

from .test_session import md_event


def test_settled_only_once_the_snapshot_is_complete() -> None:
    session = Session("markets")
    handle, _ = session.subscribe(M.MARKET_DATA, ["a", "b"], request_id="md")
    assert session.settled("md") is None  # awaiting both books
    session.route(md_event("md", "a"))
    assert session.settled("md") is None
    session.route(md_event("md", "b"))
    assert session.settled("md") is handle
    assert session.route(md_event("md", "a")) == Routed(handle)  # what the fast path stands for
    assert session.settled("other") is None
    session.resubscribe_frames(resync=True)
    assert session.settled("md") is None  # a resync awaits a snapshot again
    session.route(md_event("md", "a"))
    session.route(md_event("md", "b"))
    assert session.settled("md") is handle
    session.unsubscribe(handle)
    assert session.settled("md") is None


def test_types_without_snapshot_are_settled_at_once_and_errors_unsettle() -> None:
    session = Session("private")
    handle, _ = session.subscribe(P.POSITION, request_id="pos")
    assert session.settled("pos") is handle
    session.route(md_event("pos", "", kind="error", endpoint="private"))
    assert session.settled("pos") is None
