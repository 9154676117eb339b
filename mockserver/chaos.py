"""Chaos runs: a seeded fault scheduler, and a checker of what a client
received against what the server sent (tapped as it is sent).

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
- :class:`StreamChecker` taps the server's frames as they are sent (create it
  before the client connects), maps the tap's connections, in order, to the
  server's connections on the same path and checks that each received
  sequence is exactly a prefix of what the server sent on that connection: no
  loss outside the tail gap of a dropped connection, no duplicates, no
  reordering. It keeps digests only, and forgets a connection once checked,
  so it works at any run length whatever the journal's size.

The chaos kinds are the chaos variants of the server's fault registry
(:data:`mockserver.faults.FAULTS`; :data:`KINDS` for the default one).
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import random
import statistics
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .faults import FAULTS, ChaosDraw

if TYPE_CHECKING:
    from .server import MockServer

__all__ = [
    "EVENT_CALLBACKS",
    "KINDS",
    "FaultSchedule",
    "InjectedFault",
    "StreamChecker",
    "StreamTap",
    "run_chaos",
]

log = logging.getLogger("mockserver.chaos")

#: Every chaos kind of the default fault registry (drop, close_1001, close_1011,
#: heartbeat_stall, reject_503, malformed, unknown).
KINDS: tuple[str, ...] = FAULTS.chaos_kinds

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
    bounds the run. ``kinds`` are chaos kinds of the server's fault registry
    (default: all of them). ``stall`` and ``retry_after`` are the ranges of a
    heartbeat stall and of the ``Retry-After`` of a 503. The same seed draws
    the same sequence of kinds, targets and intervals.
    """

    def __init__(
        self,
        server: MockServer,
        seed: int,
        *,
        rate: float = 2.0,
        kinds: Sequence[str] | None = None,
        duration: float | None = None,
        stall: tuple[float, float] = (0.3, 1.5),
        retry_after: tuple[float, float] = (0.0, 0.3),
    ) -> None:
        registry = server.fault_registry
        known = registry.chaos_kinds
        kinds = known if kinds is None else kinds
        unknown = [k for k in kinds if k not in known]
        if unknown or not kinds:
            raise ValueError(f"kinds must be a non-empty subset of {known}, got {list(kinds)}")
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
        self._injected: collections.deque[InjectedFault] = collections.deque(maxlen=10_000)
        self._counts: collections.Counter[str] = collections.Counter()
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
        """The faults injected so far (the last 10,000), in order."""
        with self._lock:
            return list(self._injected)

    def counts(self) -> dict[str, int]:
        """Faults injected per kind."""
        with self._lock:
            return dict(self._counts)

    # ------------------------------------------------------------ the run

    def _run(self) -> None:
        rng = random.Random(self.seed)
        server = self.server
        registry = server.fault_registry
        started = time.monotonic()
        reverts: list[tuple[float, str]] = []  # (when, fault kind to apply then), soonest first
        try:
            while True:
                deadline = time.monotonic() + rng.uniform(0.2, 1.8) / self.rate
                if self.duration is not None:
                    deadline = min(deadline, started + self.duration)
                while True:
                    wake = min([deadline, *(when for when, _ in reverts)])
                    if self._stop.wait(max(0.0, wake - time.monotonic())):
                        return
                    now = time.monotonic()
                    while reverts and reverts[0][0] <= now:
                        self._revert(reverts.pop(0)[1])
                    if now >= deadline:
                        break
                if self.duration is not None and time.monotonic() - started >= self.duration:
                    return
                name = rng.choice(self.kinds)
                draw = ChaosDraw(rng.choice(_PATHS), rng.uniform(*self.stall),
                                 round(rng.uniform(*self.retry_after), 2))
                kind, variant = registry.chaos(name)
                params = variant.params(draw)
                try:
                    result = kind(server, **params)
                except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
                    log.error("chaos: injecting %s failed", name, exc_info=True)
                    self.errors.append(f"{name}: {exc!r}")
                    continue
                detail = ", ".join(f"{k} {v}" for k, v in result.items())
                if variant.revert is not None:
                    reverts.append((time.monotonic() + draw.stall, variant.revert))
                    reverts.sort()
                    detail = f"{draw.stall:.2f} s"
                path = params.get("path")
                fault = InjectedFault(name, time.monotonic(), time.time(), path, detail)
                log.info("chaos: %s on %s (%s)", name, path or "both", detail)
                with self._lock:
                    self._injected.append(fault)
                    self._counts[name] += 1
        finally:
            for _, revert in reverts:
                self._revert(revert)
            self._done.set()

    def _revert(self, name: str) -> None:
        try:
            self.server.fault_registry[name](self.server)
        except Exception as exc:  # noqa: BLE001 - recorded, the run goes on
            log.error("chaos: reverting with %s failed", name, exc_info=True)
            self.errors.append(f"{name}: {exc!r}")


def run_chaos(
    server: MockServer,
    seed: int,
    duration: float,
    rate: float = 2.0,
    kinds: Sequence[str] | None = None,
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
    and :meth:`forget` drops the segments a checker has checked, so a long run stays
    small. :attr:`segments` holds the segments not forgotten yet.
    """

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path
        self._lock = threading.Condition()
        self.segments: list[Segment] = []
        self._forgotten = 0
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
            self.segments.append(Segment(self._forgotten + len(self.segments), time.monotonic()))
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
            return self._lock.wait_for(lambda: self._forgotten + len(self.segments) >= count, timeout)

    @property
    def reconnects(self) -> int:
        """How many times the client reconnected (segments after the first)."""
        with self._lock:
            return max(0, self._forgotten + len(self.segments) - 1)

    def forget(self, count: int) -> None:
        """Drop the ``count`` oldest segments (checked ones); indexes and counts stay as they were."""
        with self._lock:
            del self.segments[:count]
            self._forgotten += count


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
    """Check a :class:`StreamTap` against what the server sent, tapped as it is sent.

    Create it before the client connects: it taps the server's frames
    (:meth:`~mockserver.MockServer.add_tap`) and keeps, per connection on the
    tap's path, digests of the frames sent and the subscribed request ids.
    Call :meth:`check` now and then (a long run; checked connections are
    forgotten) and ``check(final=True)`` once the client is closed (the tap is
    then removed). :attr:`report` holds the totals and the problems.
    """

    #: A connection that stays up this long must have been resynced.
    RESYNC_WITHIN = 3.0

    def __init__(self, server: MockServer, tap: StreamTap) -> None:
        self.server = server
        self.tap = tap
        self.report = StreamReport(tap.name)
        self._lock = threading.Lock()
        self._order: collections.deque[int] = collections.deque()  # conn ids on the path, opened order
        self._sent: dict[int, list[tuple[bytes, bytes | None]]] = {}
        self._subscribed: dict[int, set[str]] = {}
        self._next = 0
        self._before = {cid for cid, path in server.opened_connections if path == tap.path}
        server.add_tap(self._on_frame)

    def _on_frame(self, event: str, conn_id: int, path: str, payload: str | bytes | None) -> None:
        if path != self.tap.path:
            return
        with self._lock:
            if event == "open":
                self._order.append(conn_id)
                self._sent[conn_id] = []
                self._subscribed[conn_id] = set()
                return
            if conn_id not in self._sent or payload is None:
                return
            if event == "out":
                short = _digest(payload[:1024]) if len(payload) > 1024 else None
                self._sent[conn_id].append((_digest(payload), short))
            elif isinstance(payload, str) and '"subscribe"' in payload:
                try:
                    data = json.loads(payload)
                except ValueError:
                    return
                sub = data.get("subscribe") if isinstance(data, dict) else None
                if isinstance(sub, dict):
                    rid = sub.get("request_id", sub.get("requestId"))
                    if isinstance(rid, str):
                        self._subscribed[conn_id].add(rid)

    def check(self, final: bool = False) -> StreamReport:
        """Check every finished connection not checked yet; returns the report."""
        server, tap, rep = self.server, self.tap, self.report
        live = {c.id for c in server.connections}
        with tap._lock:
            segments = list(tap.segments)
        if self._before:
            rep.problems.append(
                f"{tap.name}: the server opened connection(s) {sorted(self._before)} on {tap.path} before "
                "this StreamChecker was created: create it before the client connects (it taps frames "
                "as they are sent; the journal keeps only the most recent ones)")
            self._before = set()
        with self._lock:
            order = list(self._order)
        # segments[k] (the tap's segment self._next + k) is the server's connection order[k]
        ready: list[tuple[Segment, int]] = []
        while len(ready) < min(len(segments), len(order)):
            seg, cid = segments[len(ready)], order[len(ready)]
            if seg.disconnected_at is None or cid in live:
                break
            ready.append((seg, cid))
        if final:
            seen, opened = self._next + len(segments), self._next + len(order)
            if seen != opened:
                rep.problems.append(
                    f"{tap.name}: the client saw {seen} connection(s), the server opened {opened} on {tap.path}")
            if len(ready) < len(segments):
                rep.problems.append(f"{tap.name}: {len(segments) - len(ready)} connection(s) left unchecked")
        for seg, cid in ready:
            with self._lock:
                self._order.popleft()
                sent = self._sent.pop(cid)
                subscribed = self._subscribed.pop(cid)
            self._check_one(seg, cid, sent, subscribed, last=final and seg is segments[-1])
        self._next += len(ready)
        tap.forget(len(ready))
        if final:
            server.remove_tap(self._on_frame)
        return rep

    def _check_one(self, seg: Segment, cid: int, sent: list[tuple[bytes, bytes | None]], subscribed: set[str],
                   last: bool) -> None:
        rep, tap = self.report, self.tap
        where = f"{tap.name} connection #{seg.index} (server conn {cid})"
        frames = seg.frames or []
        seg.frames = None  # checked: free the digests
        full = [f for f, _ in sent]
        short = [s if s is not None else f for f, s in sent]
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

