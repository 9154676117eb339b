"""The client lifecycle state machine (pmsync.lifecycle), with no socket and no thread."""

from __future__ import annotations

import itertools

import pytest

from pmsync.errors import AuthenticationError, ConnectionClosed
from pmsync.lifecycle import (
    TRANSITIONS,
    Action,
    Cause,
    Input,
    InvalidTransition,
    Lifecycle,
    State,
)

# The shortest input path from new to each state.
PATHS: dict[State, list[Input]] = {
    State.NEW: [],
    State.CONNECTING: [Input.CONNECT],
    State.OPEN: [Input.CONNECT, Input.CONNECTED],
    State.RECONNECTING: [Input.CONNECT, Input.CONNECTED, Input.LOST],
    State.CLOSED: [Input.CLOSE],
}

EXPECTED: dict[tuple[State, Input], State] = {
    (State.NEW, Input.CONNECT): State.CONNECTING,
    (State.NEW, Input.CONNECTED): State.OPEN,
    (State.CONNECTING, Input.CONNECTED): State.OPEN,
    (State.CONNECTING, Input.CONNECT_FAILED): State.NEW,
    (State.OPEN, Input.LOST): State.RECONNECTING,
    (State.RECONNECTING, Input.CONNECTED): State.OPEN,
}
ENDINGS = {
    Input.CLOSE: Cause.USER,
    Input.FATAL: Cause.FATAL,
    Input.EXHAUSTED: Cause.EXHAUSTED,
    Input.ABORT: Cause.CALLBACK,
}


def in_state(state: State) -> Lifecycle:
    lifecycle = Lifecycle()
    for what in PATHS[state]:
        lifecycle.handle(what)
    assert lifecycle.state is state
    return lifecycle


@pytest.mark.parametrize(
    ("state", "what"), list(itertools.product(State, Input)), ids=lambda v: v.value
)
def test_every_state_and_input(state: State, what: Input) -> None:
    """Each (state, input) pair does what the one table says, or is refused."""
    lifecycle = in_state(state)
    error = RuntimeError("why")
    if state is State.CLOSED:
        assert lifecycle.handle(what, error) is State.CLOSED
        assert lifecycle.state is State.CLOSED
        assert lifecycle.cause is Cause.USER and lifecycle.error is None  # the first cause stays
    elif what in ENDINGS:
        assert lifecycle.handle(what, error) is state
        assert lifecycle.state is State.CLOSED
        assert lifecycle.cause is ENDINGS[what] and lifecycle.error is error
    elif (state, what) in EXPECTED:
        assert lifecycle.handle(what) is state
        assert lifecycle.state is EXPECTED[state, what]
        assert lifecycle.cause is None
    else:
        with pytest.raises(InvalidTransition, match=what.value):
            lifecycle.handle(what)
        assert lifecycle.state is state  # unchanged


def test_the_table_is_exactly_the_expected_one() -> None:
    table = dict(EXPECTED)
    for state in State:
        for end in ENDINGS:
            table[state, end] = State.CLOSED
    for what in Input:
        table[State.CLOSED, what] = State.CLOSED
    assert TRANSITIONS == table


@pytest.mark.parametrize(
    ("state", "action", "connected", "sends"),
    [
        (State.NEW, Action.START, False, False),
        (State.CONNECTING, Action.WAIT, False, False),
        (State.OPEN, Action.NOTHING, True, True),
        (State.RECONNECTING, Action.NOTHING, False, False),
        (State.CLOSED, Action.REFUSE, False, False),
    ],
)
def test_what_methods_do_in_each_state(
    state: State, action: Action, connected: bool, sends: bool
) -> None:
    lifecycle = in_state(state)
    assert lifecycle.connect_action() is action
    assert lifecycle.connected is connected
    assert lifecycle.sends is sends
    assert lifecycle.closed is (state is State.CLOSED)
    assert lifecycle.describe().startswith(state.value)


def test_closed_error_names_the_cause() -> None:
    lifecycle = in_state(State.OPEN)
    lifecycle.handle(Input.LOST)
    fatal = AuthenticationError("handshake refused with HTTP 401", 401)
    lifecycle.handle(Input.FATAL, fatal)
    error = lifecycle.closed_error("subscribe")
    assert isinstance(error, ConnectionClosed)
    assert "cannot subscribe" in str(error) and "fatal error" in str(error)
    assert "AuthenticationError" in str(error) and "401" in str(error)
    assert error.__cause__ is fatal
    by_user = in_state(State.CLOSED).closed_error("connect")
    assert "closed by close()" in str(by_user) and by_user.__cause__ is None


def test_a_callback_base_exception_is_kept_as_the_error() -> None:
    lifecycle = in_state(State.OPEN)
    exit_ = SystemExit(3)
    lifecycle.handle(Input.ABORT, exit_)
    assert lifecycle.cause is Cause.CALLBACK and lifecycle.error is exit_
    assert lifecycle.closed_error("connect").__cause__ is None  # not an Exception: not chained
    assert "SystemExit: 3" in lifecycle.describe()


def test_exactly_one_disconnect_decision_whatever_the_order() -> None:
    """The client fires on_disconnect(error) if LOST left OPEN, and close()'s
    on_disconnect(None) if CLOSE left OPEN: in either order exactly one holds."""
    lost_first = in_state(State.OPEN)
    fires = [lost_first.handle(Input.LOST) is State.OPEN]
    fires.append(lost_first.handle(Input.CLOSE) is State.OPEN)
    assert fires == [True, False]
    close_first = in_state(State.OPEN)
    fires = [close_first.handle(Input.CLOSE) is State.OPEN]
    # the client hands LOST over only while OPEN; a closed lifecycle absorbs it
    fires.append(close_first.handle(Input.LOST) is State.OPEN)
    assert fires == [True, False]


def test_a_failed_first_connect_may_be_tried_again() -> None:
    lifecycle = in_state(State.CONNECTING)
    lifecycle.handle(Input.CONNECT_FAILED)
    assert lifecycle.state is State.NEW and lifecycle.connect_action() is Action.START
