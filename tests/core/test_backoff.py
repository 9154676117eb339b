"""The reconnect backoff policy (pmsync.backoff): bounded at any attempt count."""

from __future__ import annotations

import itertools
import math

from pmsync.backoff import HEALTHY_AFTER, MAX_EXPONENT, Backoff, Streak, backoff, healthy


def test_item01_a_million_attempts_never_overflow() -> None:
    """Issue 11 item 1: 2.0 ** (attempt - 1) overflowed at attempt ~1,025."""
    policy = Backoff(initial=0.5, maximum=30.0)
    streak = Streak()
    worst = 0.0
    for _ in range(1_000_000):
        delay = policy.delay(streak.failed(), rand=0.999)
        worst = max(worst, delay)
    assert streak.count == MAX_EXPONENT + 1  # saturated, not a million
    assert 0 < worst <= 30.0
    for attempt in (1_025, 10**6, 10**18):
        assert policy.step(attempt) == 30.0


def test_the_steps_double_up_to_the_maximum_with_jitter() -> None:
    policy = Backoff(initial=0.5, maximum=30.0)
    assert [policy.step(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert policy.delay(3, rand=0.0) == 1.0  # 50 % of the step
    assert policy.delay(3, rand=0.999999) < 2.0
    assert policy.delay(1, retry_after=7.0, rand=0.0) == 7.0  # Retry-After wins when longer


def test_extreme_but_valid_options_stay_finite() -> None:
    for initial, maximum in ((1e-9, 1e6), (1e6, 1e6), (1e-300, 1e300)):
        policy = Backoff(initial=initial, maximum=maximum)
        for attempt in (1, 64, 65, 10**9):
            step = policy.step(attempt)
            assert math.isfinite(step) and 0 < step <= maximum


def test_the_generator_is_endless_and_bounded() -> None:
    waits = list(itertools.islice(backoff(0.1, 2.0, rand=lambda: 0.0), 200_000))
    assert waits[:4] == [0.05, 0.1, 0.2, 0.4]
    assert max(waits) == 1.0 and waits[-1] == 1.0


def test_reset_rule_and_the_one_definition_of_healthy() -> None:
    assert healthy(snapshot_seen=True, up_for=0.0)
    assert healthy(snapshot_seen=False, up_for=HEALTHY_AFTER)
    assert not healthy(snapshot_seen=False, up_for=HEALTHY_AFTER - 0.001)
    streak = Streak()
    for _ in range(5):
        streak.failed()
    streak.connection_ended(was_healthy=False)
    assert streak.count == 5  # an unhealthy connection keeps the wait growing
    streak.connection_ended(was_healthy=True)
    assert streak.count == 0 and streak.failed() == 1
