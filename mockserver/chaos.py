"""Chaos runs: a seeded fault scheduler, and a checker of what a client
received against what the server journaled as sent.

Used by ``tests/reliability/test_chaos.py`` (bounded, in CI) and by
``benchmarks/soak.py`` (long runs, writes ``benchmarks/RELIABILITY.md``).
Like the rest of ``mockserver`` it never imports ``pmsync``: the client is
driven through its documented callbacks only (duck typing).

- :class:`FaultSchedule` picks, at seeded random intervals, one fault among
  :data:`KINDS` and injects it into a :class:`~mockserver.MockServer`; it
  records every fault (kind, time, target) and stops on :meth:`~FaultSchedule.stop`.
- :class:`StreamTap` hangs on a client's callbacks and records, per
  connection (``on_connect`` … ``on_disconnect``), a digest of every frame
  delivered, the resync snapshots, and anything unexpected.
- :class:`StreamChecker` maps the tap's connections, in order, to the server's
  connections on the same path and checks that each received sequence is
  exactly a prefix of the server's send log for that connection: no loss
  outside the tail gap of a dropped connection, no duplicates, no reordering.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import random
import statistics
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import MockServer

__all__ = [
    "KINDS",
    "FaultSchedule",
    "InjectedFault",
    "StreamChecker",
    "StreamTap",
    "run_chaos",
]

log = logging.getLogger("mockserver.chaos")

#: Every fault kind the scheduler can inject.
KINDS: tuple[str, ...] = (
    "drop",             # abrupt TCP close, no close frame
    "close_1001",       # close frame 1001 (going away)
    "close_1011",       # close frame 1011 (internal error)
    "heartbeat_stall",  # heartbeats stop, then resume after a while
    "reject_503",       # the next handshake gets 503 with Retry-After
    "malformed",        # one invalid-JSON text frame
    "unknown",          # one frame with an unknown payload key
)

_PATHS: tuple[str | None, ...] = (None, "private", "markets")


@dataclass(frozen=True)
class InjectedFault:
    """One fault injected: its kind, when (monotonic and wall clock), where, details."""

    kind: str
    time: float
    wall: float
    path: str | None
    detail: str = ""


class FaultSchedule:
    """Inject faults into ``server`` at seeded random intervals, in a named thread.

    ``rate`` is the mean number of faults per second (intervals are uniform in
    ``[0.2, 1.8] / rate``); ``duration`` (seconds, ``None``: until :meth:`stop`)
    bounds the run. ``stall`` and ``retry_after`` are the ranges of a heartbeat
    stall and of the ``Retry-After`` of a 503. The same seed draws the same
    sequence of kinds, targets and intervals.
    """

    def __init__(
        self,
        server: MockServer,
        seed: int,
        *,
        rate: float = 2.0,
        kinds: Sequence[str] = KINDS,
        duration: float | None = None,
        stall: tuple[float, float] = (0.3, 1.5),
        retry_after: tuple[float, float] = (0.0, 0.3),
    ) -> None:
        unknown = [k for k in kinds if k not in KINDS]
        if unknown or not kinds:
            raise ValueError(f"kinds must be a non-empty subset of {KINDS}, got {list(kinds)}")
        if not rate > 0:
            raise ValueError(f"rate must be > 0, got {rate!r}")
        self.server = server
        self.seed = seed
        self.rate = float(rate)
        self.kinds = tuple(kinds)
        self.duration = duration
        self.stall = stall
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._injected: list[InjectedFault] = []
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    # ------------------------------------------------------------ control

    def start(self) -> FaultSchedule:
        """Start injecting in the ``mockserver-chaos`` thread; returns self."""
        if self._thread is not None:
            raise RuntimeError("schedule already started")
        self._thread = threading.Thread(target=self._run, name=f"mockserver-chaos-{self.seed}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop injecting, resume heartbeats if stalled, join the thread."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the run ends (duration reached or stopped); True if it did."""
        return self._done.wait(timeout)

    def __enter__(self) -> FaultSchedule:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def injected(self) -> list[InjectedFault]:
        """Every fault injected so far, in order."""
        with self._lock:
            return list(self._injected)

    def counts(self) -> dict[str, int]:
        """Faults injected per kind."""
        return dict(collections.Counter(f.kind for f in self.injected))

    # ------------------------------------------------------------ the run

    def _run(self) -> None:
        rng = random.Random(self.seed)
        server = self.server
        started = time.monotonic()
        resume_at: float | None = None
        try:
            while True:
                deadline = time.monotonic() + rng.uniform(0.2, 1.8) / self.rate
                if self.duration is not None:
                    deadline = min(deadline, started + self.duration)
                while True:
                    wake = deadline if resume_at is None else min(deadline, resume_at)
                    if self._stop.wait(max(0.0, wake - time.monotonic())):
                        return
                    now = time.monotonic()
                    if resume_at is not None and now >= resume_at:
                        server.resume_heartbeats()
                        resume_at = None
                    if now >= deadline:
                        break
                if self.duration is not None and time.monotonic() - started >= self.duration:
                    return
                kind = rng.choice(self.kinds)
                path = rng.choice(_PATHS)
                stall = rng.uniform(*self.stall)
                retry_after = round(rng.uniform(*self.retry_after), 2)
                detail = ""
                try:
                    if kind == "drop":
                        detail = f"{server.drop_connections(path)} connection(s)"
                    elif kind == "close_1001":
                        detail = f"{server.close_connections(1001, 'chaos: going away', path)} connection(s)"
                    elif kind == "close_1011":
                        detail = f"{server.close_connections(1011, 'chaos: internal error', path)} connection(s)"
                    elif kind == "heartbeat_stall":
                        path = None
                        server.stop_heartbeats()
                        resume_at = time.monotonic() + stall
                        detail = f"{stall:.2f} s"
                    elif kind == "reject_503":
                        path = None
                        server.reject_handshakes(1, status=503, retry_after=retry_after)
                        detail = f"Retry-After {retry_after}"
                    elif kind == "malformed":
                        detail = f"{server.send_malformed(path)} connection(s)"
                    elif kind == "unknown":
                        detail = f"{server.send_unknown_payload(path)} connection(s)"
                except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
                    log.error("chaos: injecting %s failed", kind, exc_info=True)
                    self.errors.append(f"{kind}: {exc!r}")
                    continue
                fault = InjectedFault(kind, time.monotonic(), time.time(), path, detail)
                log.info("chaos: %s on %s (%s)", kind, path or "both", detail)
                with self._lock:
                    self._injected.append(fault)
        finally:
            if resume_at is not None:
                server.resume_heartbeats()
            self._done.set()


def run_chaos(
    server: MockServer,
    seed: int,
    duration: float,
    rate: float = 2.0,
    kinds: Sequence[str] = KINDS,
) -> FaultSchedule:
    """Inject faults for ``duration`` seconds (blocking); returns the finished schedule."""
    schedule = FaultSchedule(server, seed, rate=rate, kinds=kinds, duration=duration).start()
    try:
        schedule.wait(duration + 5.0)
    finally:
        schedule.stop()
    return schedule


# --------------------------------------------------------------------- the tap


def _digest(text: str | bytes) -> bytes:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return hashlib.blake2b(data, digest_size=12).digest()


#: Client callbacks that receive one data event (pmsync's KIND_CALLBACKS).
EVENT_CALLBACKS: tuple[str, ...] = (
    "on_market_data", "on_market_data_lite", "on_trade", "on_order_snapshot", "on_order_update",
    "on_position_update", "on_position_snapshot", "on_balance_snapshot", "on_balance_update",
    "on_rfq_event", "on_heartbeat", "on_unknown",
)


@dataclass(eq=False)
class Segment:
    """What a client received on one connection (``on_connect`` to ``on_disconnect``)."""

    index: int
    connected_at: float
    #: (digest, compare only the first 1024 characters?) per frame, in order; None once checked
    frames: list[tuple[bytes, bool]] | None = field(default_factory=list)
    frame_count: int = 0
    disconnected_at: float | None = None
    close_code: int | None = None
    disconnect_reason: str = ""
    resync: collections.Counter[str] = field(default_factory=collections.Counter)
    resynced_at: float | None = None
    non_resync_snapshots: int = 0


class StreamTap:
    """Record what one client delivers, per connection, through its callbacks.

    ``attach(client)`` sets every data callback, ``on_error``, ``on_connect``,
    ``on_disconnect`` and ``on_callback_error``. ``expect(request_id, n)``
    says that subscription's resync snapshot is ``n`` events (one per market
    for books; one ``eof`` page for orders; 0 for types without a snapshot:
    register every request id the client holds). Frames are kept as digests only,
    so a long run stays small.
    """

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path
        self._lock = threading.Condition()
        self.segments: list[Segment] = []
        self.expected: dict[str, int] = {}
        self.problems: list[str] = []
        self.errors_seen: collections.Counter[str] = collections.Counter()
        self.resync_times: list[float] = []
        self._pending_drop: float | None = None
        self.callback_errors = 0

    def attach(self, client: Any) -> None:
        """Hook every callback of ``client`` (a pmsync client) to this tap."""
        for name in EVENT_CALLBACKS:
            setattr(client, name, self.on_event)
        client.on_error = self.on_error
        client.on_connect = self.on_connect
        client.on_disconnect = self.on_disconnect
        client.on_callback_error = self.on_callback_error

    def expect(self, request_id: str, count: int) -> None:
        """A resync of ``request_id`` is complete after ``count`` snapshot events."""
        with self._lock:
            self.expected[request_id] = count

    # --------------------------------------------------------- callbacks

    def on_connect(self) -> None:
        """Client callback: a connection is up; a new segment begins."""
        with self._lock:
            self.segments.append(Segment(len(self.segments), time.monotonic()))
            self._lock.notify_all()

    def on_disconnect(self, error: BaseException | None) -> None:
        """Client callback: the current segment ends (``error`` is ``None`` on ``close()``)."""
        now = time.monotonic()
        with self._lock:
            if not self.segments or self.segments[-1].disconnected_at is not None:
                self.problems.append(f"{self.name}: on_disconnect without a connection ({error})")
                return
            seg = self.segments[-1]
            seg.disconnected_at = now
            seg.close_code = getattr(error, "code", None)
            seg.disconnect_reason = str(error) if error is not None else "close()"
            if error is not None and self._pending_drop is None:
                self._pending_drop = now
            self._lock.notify_all()

    def _current(self, what: str) -> Segment | None:
        if not self.segments or self.segments[-1].disconnected_at is not None:
            self.problems.append(f"{self.name}: {what} outside a connection")
            return None
        return self.segments[-1]

    def on_event(self, event: Any) -> None:
        """Client callback for every data event: record its frame digest in the current segment."""
        raw = getattr(event, "raw", None)
        now = time.monotonic()
        with self._lock:
            seg = self._current(f"event {getattr(event, 'kind', '?')}")
            if seg is None or seg.frames is None:
                return
            if not isinstance(raw, (str, bytes)):
                self.problems.append(f"{self.name}: event without raw text: {event!r}")
                return
            seg.frames.append((_digest(raw), False))
            seg.frame_count += 1
            if getattr(event, "resync", False):
                rid = event.request_id
                kind = event.kind
                if seg.index == 0:
                    self.problems.append(f"{self.name}: resync event on the first connection ({kind})")
                if kind != "order_snapshot" or getattr(event.data, "eof", True):
                    seg.resync[rid] += 1
                    if seg.resynced_at is None and self._complete(seg):
                        seg.resynced_at = now
                        if self._pending_drop is not None:
                            self.resync_times.append(now - self._pending_drop)
                            self._pending_drop = None
                        self._lock.notify_all()

    def _complete(self, seg: Segment) -> bool:
        return all(seg.resync[rid] >= n for rid, n in self.expected.items())

    def on_error(self, error: BaseException) -> None:
        """Client callback: an error reported by the client (decode errors, fatal errors)."""
        name = type(error).__name__
        raw = getattr(error, "raw", None)
        with self._lock:
            self.errors_seen[name] += 1
            if name == "DecodeError" and isinstance(raw, str):
                seg = self._current("DecodeError")
                if seg is not None and seg.frames is not None:
                    seg.frames.append((_digest(raw[:1024]), True))
                    seg.frame_count += 1
                return
            self.problems.append(f"{self.name}: unexpected on_error({name}: {error})")

    def on_callback_error(self, error: BaseException, event: Any) -> None:
        """Client callback: one of the tap's callbacks raised (counted, never expected)."""
        with self._lock:
            self.callback_errors += 1
            self.problems.append(f"{self.name}: on_callback_error({error!r})")

    # --------------------------------------------------------- waiting

    def resynced(self) -> bool:
        """The current connection is up and every expected snapshot has arrived on it."""
        with self._lock:
            if not self.segments or self.segments[-1].disconnected_at is not None:
                return False
            seg = self.segments[-1]
            return seg.index == 0 or seg.resynced_at is not None

    def wait_resynced(self, timeout: float) -> bool:
        """Wait until :meth:`resynced`; False on timeout."""
        with self._lock:
            return self._lock.wait_for(self.resynced, timeout)

    def wait_segments(self, count: int, timeout: float) -> bool:
        """Wait until at least ``count`` connections were seen."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.segments) >= count, timeout)

    @property
    def reconnects(self) -> int:
        """How many times the client reconnected (segments after the first)."""
        with self._lock:
            return max(0, len(self.segments) - 1)


# ----------------------------------------------------------------- the checker


@dataclass
class StreamReport:
    """Totals of a checked stream."""

    name: str
    connections: int = 0
    frames_sent: int = 0
    frames_received: int = 0
    gap_frames: int = 0
    gaps: int = 0
    lost: int = 0
    duplicates: int = 0
    unexpected: int = 0
    lost_before_close: int = 0
    resynced: int = 0
    cut_before_resync: int = 0
    problems: list[str] = field(default_factory=list)


class StreamChecker:
    """Check a :class:`StreamTap` against the server's send log.

    Call :meth:`check` now and then (a long run; ``prune=True`` then forgets
    the journal entries of checked connections) and ``check(final=True)`` once
    the client is closed. :attr:`report` holds the totals and the problems.
    """

    #: A connection that stays up this long must have been resynced.
    RESYNC_WITHIN = 3.0

    def __init__(self, server: MockServer, tap: StreamTap, *, prune: bool = False) -> None:
        self.server = server
        self.tap = tap
        self.prune = prune
        self.report = StreamReport(tap.name)
        self._next = 0

    def check(self, final: bool = False) -> StreamReport:
        """Check every finished connection not checked yet; returns the report."""
        server, tap, rep = self.server, self.tap, self.report
        conn_ids = [cid for cid, path in server.opened_connections if path == tap.path]
        live = {c.id for c in server.connections}
        with tap._lock:
            segments = list(tap.segments)
        ready: list[tuple[Segment, int]] = []
        i = self._next
        while i < len(segments) and i < len(conn_ids):
            seg, cid = segments[i], conn_ids[i]
            if seg.disconnected_at is None or cid in live:
                break
            ready.append((seg, cid))
            i += 1
        if final:
            if len(segments) != len(conn_ids):
                rep.problems.append(
                    f"{tap.name}: the client saw {len(segments)} connection(s), the server opened "
                    f"{len(conn_ids)} on {tap.path}")
            if i < len(segments):
                rep.problems.append(f"{tap.name}: {len(segments) - i} connection(s) left unchecked")
        if not ready:
            return rep
        wanted = {cid for _, cid in ready}
        out: dict[int, list[str | bytes]] = {cid: [] for cid in wanted}
        subscribed: dict[int, set[str]] = {cid: set() for cid in wanted}
        for entry in server.journal.entries():
            if entry.conn_id not in wanted:
                continue
            if entry.direction == "out":
                out[entry.conn_id].append(entry.text)
            elif isinstance(entry.data, dict):
                sub = entry.data.get("subscribe")
                if isinstance(sub, dict):
                    rid = sub.get("request_id", sub.get("requestId"))
                    if isinstance(rid, str):
                        subscribed[entry.conn_id].add(rid)
        for seg, cid in ready:
            self._check_one(seg, cid, out[cid], subscribed[cid], last=final and seg is segments[-1])
        self._next = i
        if self.prune:
            server.journal.forget(wanted)
        return rep

    def _check_one(self, seg: Segment, cid: int, sent: list[str | bytes], subscribed: set[str],
                   last: bool) -> None:
        rep, tap = self.report, self.tap
        where = f"{tap.name} connection #{seg.index} (server conn {cid})"
        frames = seg.frames or []
        seg.frames = None  # checked: free the digests
        full = [_digest(t) for t in sent]
        short = [_digest(t[:1024]) for t in sent]
        j = 0
        lost = dup = unexpected = 0
        for digest, truncated in frames:
            ref = short if truncated else full
            m = j
            while m < len(ref) and ref[m] != digest:
                m += 1
            if m == len(ref):
                if digest in ref[:j]:
                    dup += 1
                else:
                    unexpected += 1
                continue
            lost += m - j
            j = m + 1
        gap = len(sent) - j
        rep.connections += 1
        rep.frames_sent += len(sent)
        rep.frames_received += len(frames)
        rep.lost += lost
        rep.duplicates += dup
        rep.unexpected += unexpected
        if gap:
            rep.gaps += 1
            rep.gap_frames += gap
        if lost or dup or unexpected:
            rep.problems.append(f"{where}: {lost} lost, {dup} duplicate(s), {unexpected} unexpected "
                                f"frame(s) (received {len(frames)}, sent {len(sent)})")
        if gap and seg.close_code is not None:
            rep.lost_before_close += gap
            rep.problems.append(f"{where}: closed with code {seg.close_code} but {gap} frame(s) "
                                "sent before the close frame never arrived")
        client_ids = set(tap.expected)
        if not subscribed <= client_ids:
            rep.problems.append(f"{where}: server saw subscriptions {sorted(subscribed - client_ids)} "
                                "the client does not hold")
        if seg.index == 0:
            return
        if seg.resynced_at is not None:
            rep.resynced += 1
            return
        assert seg.disconnected_at is not None
        lived = seg.disconnected_at - seg.connected_at
        if last or lived > self.RESYNC_WITHIN:
            missing = {rid: n - seg.resync[rid] for rid, n in tap.expected.items() if seg.resync[rid] < n}
            rep.problems.append(f"{where}: up {lived:.2f} s, never resynced; missing snapshots {missing}; "
                                f"server saw subscribes {sorted(subscribed)}")
        else:
            rep.cut_before_resync += 1


def summarize_times(values: Sequence[float]) -> Mapping[str, float]:
    """Count, median, max (seconds) of a list of durations (zeros when empty)."""
    if not values:
        return {"count": 0, "median": 0.0, "max": 0.0}
    return {"count": len(values), "median": statistics.median(values), "max": max(values)}

