"""Every mistake of issue 12, made the way a user makes it: a script or the CLI
in a subprocess, under the mock server. Each test asserts what the user sees
on stderr, the exit status and, where the issue fixes one, how long it took.

Times are measured from a point the program itself marks (a line it prints)
or, for the CLI, from the process start minus the start-up time of the same
interpreter importing the CLI (measured alongside), so that a loaded machine
does not make them flaky.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from mockserver import MockServer

from .conftest import PYTHON, ROOT, child_env
from .test_readme import PYTHON_BLOCKS

TYPO = "nba-lal-bos-2026-02-1"          # the README's slug, one digit short
GOOD = "nba-lal-bos-2026-02-01"


class Watched:
    """A child process whose stdout and stderr lines are kept with their arrival time."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path = ROOT) -> None:
        self.started = time.monotonic()
        self.popen = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, bufsize=1, start_new_session=True)
        self.out: list[tuple[float, str]] = []
        self.err: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._threads = [threading.Thread(target=self._read, args=(stream, lines), name=f"user-errors-{name}")
                         for name, stream, lines in (("out", self.popen.stdout, self.out),
                                                     ("err", self.popen.stderr, self.err))]
        for thread in self._threads:
            thread.start()

    def _read(self, stream: object, lines: list[tuple[float, str]]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._cond:
                lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_line(self, which: str, text: str, timeout: float = 20.0) -> float:
        """The arrival time of the first line of ``which`` ("out"/"err") containing ``text``."""
        lines = self.out if which == "out" else self.err

        def found() -> float | None:
            return next((t for t, line in lines if text in line), None)

        with self._cond:
            self._cond.wait_for(lambda: found() is not None or self.popen.poll() is not None, timeout)
            when = found()
        assert when is not None, f"{text!r} not on std{which} within {timeout} s:\n{self.text()}"
        return when

    def interrupt(self) -> int:
        """Ctrl-C in the terminal: SIGINT to the whole process group; the exit status."""
        os.killpg(self.popen.pid, signal.SIGINT)
        return self.wait()

    def wait(self, timeout: float = 30.0) -> int:
        try:
            status = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"still running after {timeout} s:\n{self.text()}") from None
        for thread in self._threads:
            thread.join(10)
        return status

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)
        for thread in self._threads:
            thread.join(10)

    @property
    def stderr(self) -> str:
        with self._cond:
            return "\n".join(line for _, line in self.err)

    def text(self) -> str:
        with self._cond:
            return ("stdout:\n" + "\n".join(line for _, line in self.out)
                    + "\nstderr:\n" + "\n".join(line for _, line in self.err))


@pytest.fixture
def procs() -> Iterator[list[Watched]]:
    started: list[Watched] = []
    yield started
    for proc in started:
        proc.kill()


def _env_for_run() -> dict[str, str]:
    """The environment of ``python -m mockserver run``: it sets the URL and credentials itself."""
    env = child_env(MockServer())
    for name in ("POLYMARKET_WS_URL", "POLYMARKET_KEY_ID", "POLYMARKET_SECRET_KEY"):
        env.pop(name)
    return env


def _startup() -> float:
    """How long this interpreter takes to start and import the CLI, now."""
    started = time.monotonic()
    subprocess.run([PYTHON, "-c", "import pmsync.cli, mockserver"], check=True, timeout=60)
    return time.monotonic() - started


def _cli(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``python -m pmsync ARGS``; the result and its duration minus the interpreter's start-up."""
    startup = _startup()
    started = time.monotonic()
    result = subprocess.run([PYTHON, "-m", "pmsync", *args], env=env, capture_output=True, text=True,
                            timeout=timeout, cwd=ROOT)
    return result, time.monotonic() - started - startup


def _stream(base_url: str, slug: str = GOOD, *extra: str) -> list[str]:
    return ["stream", "--endpoint", "markets", "--type", "trade", "--slug", slug, "--base-url", base_url, *extra]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: trustme.CA) -> Iterator[MockServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with MockServer(ssl_context=context, heartbeat_interval=0.5) as server:
        yield server


# ------------------------------------------------------------ a refused subscription


def _quickstart(body_marker: str, subscribe: str, replacement: str) -> str:
    body = next(b for b in PYTHON_BLOCKS if body_marker in b)
    assert subscribe in body
    return body.replace(subscribe, replacement)


def test_quickstart_with_a_typod_slug_says_so_within_2_s(tmp_path: Path, procs: list[Watched]) -> None:
    subscribe = f'client.subscribe_market_data(["{GOOD}"])'
    script = _quickstart("on_market_data=on_book", subscribe,
                         f'client.subscribe_market_data(["{TYPO}"]); print("subscribed", flush=True)')
    (tmp_path / "quickstart.py").write_text(script)
    proc = Watched([PYTHON, "-m", "mockserver", "run", "--", PYTHON, "quickstart.py"], _env_for_run(),
                   cwd=tmp_path)
    procs.append(proc)
    subscribed = proc.wait_line("out", "subscribed")
    seen = proc.wait_line("err", f"unknown market slug '{TYPO}'")
    assert seen - subscribed < 2.0, f"the refusal took {seen - subscribed:.2f} s to show"
    line = next(line for _, line in proc.err if "unknown market slug" in line)
    assert line.startswith("pmsync: MarketsClient: SubscriptionError: subscription 'md-1' (market_data; "
                           f"markets {TYPO}) refused by the server"), line
    assert proc.interrupt() == 0                         # Ctrl-C: run_forever() returns
    assert "Traceback" not in proc.stderr, proc.stderr


def test_messages_quickstart_does_not_crash_on_a_refusal(tmp_path: Path, procs: list[Watched]) -> None:
    subscribe = 'client.subscribe_trades(["nba-lal-bos-2026-02-01", "nfl-kc-buf-2026-01-25"])'
    script = _quickstart(".messages()", subscribe,
                         f'client.subscribe_trades(["{TYPO}"]); client.subscribe_trades(["nfl-kc-buf-2026-01-25"])')
    (tmp_path / "quickstart.py").write_text(script)
    proc = Watched([PYTHON, "-m", "mockserver", "run", "--tick-interval", "0.05", "--", PYTHON, "quickstart.py"],
                   _env_for_run(), cwd=tmp_path)
    procs.append(proc)
    proc.wait_line("err", f"unknown market slug '{TYPO}'")
    proc.wait_line("out", "trade nfl-kc-buf-2026-01-25")  # the loop goes on with the other subscription
    assert proc.popen.poll() is None, proc.text()
    status = proc.interrupt()
    assert status == 0 or "KeyboardInterrupt" in proc.stderr, proc.text()
    assert "AttributeError" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("example", ["market_watcher.py", "worker_queue.py"])
def test_examples_stop_with_status_1_on_a_refused_slug(example: str) -> None:
    started = time.monotonic()
    result = subprocess.run([PYTHON, "-m", "mockserver", "run", "--", PYTHON, f"examples/{example}", TYPO],
                            env=_env_for_run(), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr  # propagated by `mockserver run`
    assert f"unknown market slug '{TYPO}'" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 20, "the example should stop at once, not wait for --idle"


def test_legacy_ledger_parses_its_arguments() -> None:
    help_ = subprocess.run([PYTHON, "examples/legacy_ledger.py", "--help"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert help_.returncode == 0 and help_.stdout.startswith("usage: legacy_ledger.py"), help_.stderr
    result = subprocess.run([PYTHON, "-m", "mockserver", "run", "--", PYTHON, "examples/legacy_ledger.py",
                             "--seconds", "1"], env=_env_for_run(), cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "connected" in result.stdout and "LEDGER {" in result.stdout


# ------------------------------------------------------------ the CLI's exit status


def test_stream_exits_1_at_once_on_a_refused_slug(server: MockServer) -> None:
    result, took = _cli(*_stream(server.url, TYPO), env=child_env(server))
    assert result.returncode == 1, result.stderr
    assert f"subscription 'trades-1' (trade; markets {TYPO}) refused by the server: unknown market slug" \
        in result.stderr
    assert took < 2.0, f"took {took:.2f} s beyond start-up"


def test_record_exits_1_on_a_refused_slug(server: MockServer, tmp_path: Path) -> None:
    result, _ = _cli("record", "--endpoint", "markets", "--type", "trade", "--slug", TYPO, "--base-url",
                     server.url, "--out", str(tmp_path / "s.jsonl"), env=child_env(server))
    assert result.returncode == 1, result.stderr
    assert "unknown market slug" in result.stderr


def test_mockserver_run_passes_the_exit_status_on() -> None:
    result = subprocess.run([PYTHON, "-m", "mockserver", "run", "--", PYTHON, "-c", "import sys; sys.exit(3)"],
                            env=_env_for_run(), capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    refused = subprocess.run([PYTHON, "-m", "mockserver", "run", "--", PYTHON, "-m", "pmsync",
                              *_stream("ws://unused", TYPO)[:-2]], env=_env_for_run(), capture_output=True,
                             text=True, timeout=60)
    assert refused.returncode == 1, refused.stderr


def test_a_fatal_error_after_connecting_exits_1(server: MockServer, procs: list[Watched]) -> None:
    proc = Watched([PYTHON, "-m", "pmsync", *_stream(server.url), "--heartbeats"], child_env(server))
    procs.append(proc)
    proc.wait_line("out", '"heartbeat"')                  # connected and streaming
    server.reject_handshakes(100, status=401)
    server.drop_connections()
    assert proc.wait() == 1, proc.text()
    assert "AuthenticationError" in proc.stderr and "HTTP 401" in proc.stderr, proc.stderr


# ------------------------------------------------------------ connection failures


def test_wss_to_a_plain_server_is_refused_within_2_s(server: MockServer) -> None:
    wrong = server.url.replace("ws://", "wss://")
    result, took = _cli(*_stream(wrong), env=child_env(server))
    assert result.returncode == 1
    assert f"the server does not speak TLS: use {server.url}" in result.stderr, result.stderr
    assert "connect attempt 2" not in result.stderr        # refused at the first attempt
    assert took < 2.0, f"took {took:.2f} s beyond start-up"


def test_ws_to_a_tls_server_is_refused_within_2_s(tls_server: MockServer) -> None:
    wrong = tls_server.url.replace("wss://", "ws://")
    result, took = _cli(*_stream(wrong), env=child_env(tls_server))
    assert result.returncode == 1
    assert f"the server speaks TLS: use {tls_server.url}" in result.stderr, result.stderr
    assert took < 2.0, f"took {took:.2f} s beyond start-up"


def test_an_unknown_host_is_refused_at_once(server: MockServer) -> None:
    try:
        socket.getaddrinfo("no-such-host.invalid", 8765)
    except socket.gaierror as exc:
        if exc.errno != socket.EAI_NONAME:
            pytest.skip(f"this machine's resolver does not say 'no such name' ({exc})")
    result, took = _cli(*_stream("ws://no-such-host.invalid:8765"), env=child_env(server))
    assert result.returncode == 1
    assert "unknown host 'no-such-host.invalid'" in result.stderr, result.stderr
    assert "connect attempt" not in result.stderr
    assert took < 5.0, f"took {took:.2f} s beyond start-up"


def test_a_closed_port_reports_its_first_attempt_within_2_s(server: MockServer, procs: list[Watched]) -> None:
    startup = _startup()
    url = f"ws://127.0.0.1:{_free_port()}"
    proc = Watched([PYTHON, "-m", "pmsync", *_stream(url)], child_env(server))
    procs.append(proc)
    first = proc.wait_line("err", "connect attempt 1 failed")
    assert first - proc.started - startup < 2.0, f"first report after {first - proc.started:.2f} s"
    line = next(line for _, line in proc.err if "connect attempt 1 failed" in line)
    assert "connection refused" in line and "retrying in" in line and "gives up in" in line, line
    proc.wait_line("err", "connect attempt 2 failed")
    assert proc.interrupt() == 130                       # Ctrl-C before connecting: not a clean end
    assert "interrupted before the connection was up" in proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


def test_record_that_never_connects_exits_1(server: MockServer, tmp_path: Path) -> None:
    url = f"ws://127.0.0.1:{_free_port()}"
    result, _ = _cli("record", "--endpoint", "markets", "--type", "trade", "--slug", GOOD, "--base-url", url,
                     "--seconds", "1", "--out", str(tmp_path / "s.jsonl"), env=child_env(server))
    assert result.returncode == 1, result.stderr
    assert "gave up after" in result.stderr and "recorded 0 frame(s)" in result.stderr


def test_an_untrusted_certificate_names_the_ways_to_trust_it(
    tls_server: MockServer, ca: trustme.CA, tmp_path: Path
) -> None:
    env = child_env(tls_server)
    result, took = _cli(*_stream(tls_server.url), env=env)
    assert result.returncode == 1
    for way in ("certificate verification failed", "--ca-file PATH", "SSL_CERT_FILE", "sslopt"):
        assert way in result.stderr, result.stderr
    assert took < 2.0
    pem = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    trusted, _ = _cli(*_stream(tls_server.url, GOOD, "--ca-file", str(pem), "--seconds", "1"), env=env)
    assert trusted.returncode == 0, trusted.stderr
    missing, _ = _cli(*_stream(tls_server.url, GOOD, "--ca-file", str(tmp_path / "nope.pem")), env=env)
    assert missing.returncode == 2 and "--ca-file" in missing.stderr


# ------------------------------------------------------------ names


def test_a_typod_callback_attribute_is_refused(tmp_path: Path) -> None:
    (tmp_path / "typo.py").write_text(
        "import pmsync\n"
        "client = pmsync.MarketsClient(pmsync.Credentials.from_base64("
        "'00000000-0000-4000-8000-000000000000', 'A' * 43 + '='))\n"
        "client.on_trades = print\n")
    result = subprocess.run([PYTHON, "typo.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "AttributeError: MarketsClient has no attribute 'on_trades'; did you mean 'on_trade'?" \
        in result.stderr, result.stderr


def test_the_pmsync_script_calls_itself_pmsync() -> None:
    script = Path(PYTHON).parent / "pmsync"
    if not script.exists():
        pytest.skip("the pmsync script is not installed next to this interpreter")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("usage: pmsync "), result.stdout
