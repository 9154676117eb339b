"""The lifecycle of a client, sans I/O: one state machine, one transition table.

A client is in exactly one :class:`State`::

    new ──connect──▶ connecting ──connected──▶ open ◀──connected── reconnecting
     ▲                    │                     │                      ▲
     └──connect_failed────┘                     └─────────lost─────────┘

    any state ──close / fatal / exhausted / abort──▶ closed (with a Cause)

``closed`` is final: every input is absorbed there (threads winding down may
still report what they saw), and the first :class:`Cause` and error are kept.
The client feeds every input to :class:`Lifecycle` under its lock and asks it
how each public method behaves; this module does no I/O, starts no thread and
takes no lock, so every transition is tested without either.
"""

from __future__ import annotations

import enum

__all__ = ["Action", "Cause", "Input", "InvalidTransition", "Lifecycle", "State", "TRANSITIONS"]


class State(enum.Enum):
    """Where a client is in its life."""

    NEW = "new"  #: made, never connected (or the first connect() failed)
    CONNECTING = "connecting"  #: connect() is opening the first connection
    OPEN = "open"  #: a connection is up
    RECONNECTING = "reconnecting"  #: the connection dropped; the reader is getting a new one
    CLOSED = "closed"  #: final: see :class:`Cause`


class Cause(enum.Enum):
    """Why a client is closed."""

    USER = "closed by close()"
    FATAL = "stopped by a fatal error"
    EXHAUSTED = "reconnect attempts exhausted"
    CALLBACK = "a callback raised a BaseException"


class Input(enum.Enum):
    """What can happen to a client."""

    CONNECT = "connect"  #: connect() starts opening the first connection
    CONNECTED = "connected"  #: a connection is up (first, or a reconnect)
    CONNECT_FAILED = "connect_failed"  #: the first connect() raised; the client may try again
    LOST = "lost"  #: the connection dropped; a reconnect follows
    CLOSE = "close"  #: close() was called
    FATAL = "fatal"  #: authentication refused, reconnect off, or an internal failure
    EXHAUSTED = "exhausted"  #: max_reconnect_attempts failed in a row
    ABORT = "abort"  #: a callback raised SystemExit, KeyboardInterrupt or GeneratorExit


class Action(enum.Enum):
    """What connect() does in the current state."""

    START = "start"  #: open the first connection in this thread
    WAIT = "wait"  #: another thread is connecting: wait for its outcome
    NOTHING = "nothing"  #: already connected (or reconnecting by itself)
    REFUSE = "refuse"  #: closed: raise :meth:`Lifecycle.closed_error`


_ENDINGS: dict[Input, Cause] = {
    Input.CLOSE: Cause.USER,
    Input.FATAL: Cause.FATAL,
    Input.EXHAUSTED: Cause.EXHAUSTED,
    Input.ABORT: Cause.CALLBACK,
}

_S, _I = State, Input

#: The one transition table: (state, input) → next state. A pair not listed is
#: a bug in the caller (:class:`InvalidTransition`); ``closed`` absorbs all.
TRANSITIONS: dict[tuple[State, Input], State] = {
    (_S.NEW, _I.CONNECT): _S.CONNECTING,
    # A connection made without connect(): the client's listener methods
    # driven directly (offline tests, replays).
    (_S.NEW, _I.CONNECTED): _S.OPEN,
    (_S.CONNECTING, _I.CONNECTED): _S.OPEN,
    (_S.CONNECTING, _I.CONNECT_FAILED): _S.NEW,
    (_S.OPEN, _I.LOST): _S.RECONNECTING,
    (_S.RECONNECTING, _I.CONNECTED): _S.OPEN,
    **{(state, end): _S.CLOSED for state in _S for end in _ENDINGS},
    **{(_S.CLOSED, what): _S.CLOSED for what in _I},
}


class InvalidTransition(RuntimeError):
    """An input that the transition table does not allow in the current state."""


class Lifecycle:
    """The state of one client, its closing cause and what each method does.

    Pure: not thread-safe (the client calls it under its lock).
    """

    def __init__(self) -> None:
        self.state = State.NEW
        self.cause: Cause | None = None
        #: the error (or BaseException) that closed the client, if any
        self.error: BaseException | None = None

    def handle(self, what: Input, error: BaseException | None = None) -> State:
        """Apply ``what``; return the state before it. Records the cause when closing."""
        before = self.state
        try:
            after = TRANSITIONS[before, what]
        except KeyError:
            raise InvalidTransition(
                f"{what.value!r} is not allowed in state {before.value!r}"
            ) from None
        if after is State.CLOSED and before is not State.CLOSED:
            self.cause = _ENDINGS[what]
            self.error = error
        self.state = after
        return before

    # ------------------------------------------------------------------ queries

    @property
    def connected(self) -> bool:
        """A connection is up."""
        return self.state is State.OPEN

    @property
    def closed(self) -> bool:
        """The client is closed for good."""
        return self.state is State.CLOSED

    @property
    def sends(self) -> bool:
        """Subscribe/unsubscribe frames go out now (else at the next connection)."""
        return self.state is State.OPEN

    def connect_action(self) -> Action:
        """What connect() does now."""
        return {
            State.NEW: Action.START,
            State.CONNECTING: Action.WAIT,
            State.OPEN: Action.NOTHING,
            State.RECONNECTING: Action.NOTHING,
            State.CLOSED: Action.REFUSE,
        }[self.state]

    def describe(self) -> str:
        """One line: the state, with the cause and error once closed."""
        if self.state is not State.CLOSED:
            return str(self.state.value)
        assert self.cause is not None
        text = f"closed ({self.cause.value}"
        if self.error is not None:
            detail = str(self.error)
            text += f": {type(self.error).__name__}" + (f": {detail}" if detail else "")
        return text + ")"

    def closed_error(self, doing: str) -> Exception:
        """The error a method raises on a closed client, naming the cause."""
        from .errors import ConnectionClosed

        error = ConnectionClosed(
            f"cannot {doing}: the client is {self.describe()}; make a new client"
        )
        if isinstance(self.error, Exception):
            error.__cause__ = self.error
        return error
