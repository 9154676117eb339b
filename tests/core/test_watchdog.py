"""The adaptive heartbeat watchdog (issue 13), driven by an injected clock:
simulated hours of traffic in milliseconds, never a sleep."""

from __future__ import annotations

import math
import random

import pytest

from pmsync.watchdog import FLOOR, MULTIPLIER, PONG_GRACE, HeartbeatWatchdog

PING = 20.0  # the client's default ping_interval
RTT = 0.05


def live_for(watch: HeartbeatWatchdog, seconds: float, heartbeat: float | None,
             pongs: bool = True, jitter: float = 0.1, seed: int = 0) -> float:
    """Feed ``seconds`` of a healthy, quiet connection (heartbeats every
    ``heartbeat`` s with some jitter, if any; a pong RTT after each of our pings
    when ``pongs``) and check it is never found dead, at each frame nor just
    before the next one. Returns the simulated time reached."""
    rng = random.Random(seed)
    events: list[tuple[float, str]] = []
    if heartbeat is not None:
        t = rng.uniform(0, heartbeat)
        while t < seconds:
            events.append((t, "heartbeat"))
            t += heartbeat * (1 + rng.uniform(-jitter, jitter))
    if pongs:
        t = PING
        while t < seconds:
            events.append((t + RTT, "pong"))
            t += PING
    events.sort()
    for at, kind in events:
        assert not watch.expired(at - 1e-6), f"torn down at {at:.2f} s before a {kind}"
        if kind == "heartbeat":
            watch.heartbeat(at)
            watch.message(at)
        else:
            watch.control(at)
        assert not watch.expired(at)
    return seconds


@pytest.mark.parametrize("interval", [0.5, 5.0, 30.0])
def test_a_quiet_healthy_connection_is_never_torn_down(interval: float) -> None:
    watch = HeartbeatWatchdog(None, PING)
    watch.reset(0.0)
    live_for(watch, 6 * 3600, interval)  # six hours of nothing but heartbeats
    assert watch.interval == pytest.approx(interval, rel=0.11)
    assert watch.limit == max(FLOOR, MULTIPLIER * watch.interval)  # type: ignore[operator]


@pytest.mark.parametrize("interval", [0.5, 5.0, 30.0])
def test_a_dead_connection_is_found_within_a_few_intervals(interval: float) -> None:
    watch = HeartbeatWatchdog(None, PING)
    watch.reset(0.0)
    for k in range(1, 50):
        watch.heartbeat(k * interval)
        watch.message(k * interval)
    last = 49 * interval
    bound = max(FLOOR, MULTIPLIER * interval)
    assert watch.limit == pytest.approx(bound)
    # The server stops sending; its pongs alone no longer keep the connection.
    watch.control(last + bound - 0.1)
    assert not watch.expired(last + bound - 0.01)
    assert watch.expired(last + bound + 1e-6)
    assert "heartbeat interval" in watch.reason(last + bound)


def test_without_heartbeats_a_connection_that_answers_pings_lives_forever() -> None:
    watch = HeartbeatWatchdog(None, PING)
    watch.reset(0.0)
    live_for(watch, 24 * 3600, None)  # a day of pongs only
    assert watch.interval is None


def test_without_heartbeats_and_pongs_death_is_found_within_the_stated_bound() -> None:
    watch = HeartbeatWatchdog(None, PING)
    watch.reset(100.0)
    bound = 2 * PING + PONG_GRACE
    assert watch.limit == bound == 45.0
    assert not watch.expired(100.0 + bound - 0.01)
    assert watch.expired(100.0 + bound)
    assert "no pong" in watch.reason(100.0 + bound)


def test_a_slow_first_heartbeat_is_not_an_interval() -> None:
    """One heartbeat teaches nothing; until a second one, pongs keep the connection."""
    watch = HeartbeatWatchdog(None, PING)
    watch.reset(0.0)
    watch.heartbeat(1.0)
    watch.message(1.0)
    assert watch.interval is None
    for k in range(1, 10):  # 30 s heartbeats would not have come yet: pongs carry it
        watch.control(k * PING + RTT)
        assert not watch.expired(k * PING + RTT + PING)


def test_without_pings_an_unlearned_connection_is_never_given_up() -> None:
    watch = HeartbeatWatchdog(None, 0)
    watch.reset(0.0)
    assert watch.limit is None and watch.remaining(1e9) is None and not watch.expired(1e9)
    watch.heartbeat(10.0)
    watch.heartbeat(40.0)
    watch.message(40.0)
    assert watch.limit == 90.0 and watch.expired(130.0) and not watch.expired(129.9)


def test_a_fixed_timeout_pins_the_rule_and_pongs_do_not_count() -> None:
    watch = HeartbeatWatchdog(15.0, PING)
    watch.reset(0.0)
    assert watch.limit == 15.0
    watch.control(10.0)
    assert watch.expired(15.0)
    watch.message(14.0)
    assert not watch.expired(28.9) and watch.expired(29.0)
    assert "heartbeat_timeout=15" in watch.reason(29.0)
    never = HeartbeatWatchdog(math.inf, PING)
    assert never.limit is None and not never.expired(1e12)


def test_a_new_connection_starts_unlearned_and_history_is_bounded() -> None:
    watch = HeartbeatWatchdog(None, PING)
    watch.reset(0.0)
    for k in range(1000):
        watch.heartbeat(k * 60.0)  # one long gap early on ...
    assert watch.interval == 60.0
    for k in range(1000, 1020):
        watch.heartbeat(1000 * 60.0 + (k - 999) * 1.0)  # ... then 1 s heartbeats
    assert watch.interval == 1.0 and watch.limit == FLOOR  # the old gap has left the history
    watch.reset(5e4)
    assert watch.interval is None and watch.limit == 2 * PING + PONG_GRACE


def test_bad_timeouts_are_refused() -> None:
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="timeout must be > 0"):
            HeartbeatWatchdog(bad, PING)
