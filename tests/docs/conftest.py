"""Fixtures of the documentation tests: a mock server, an environment pointing at
it, and :class:`Proc` to run a script and wait on what it prints."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mockserver import MockServer

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


class Proc:
    """A child process whose stdout is collected line by line by a named thread."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path = ROOT, name: str = "proc",
                 new_session: bool = False) -> None:
        self.args = args
        self.new_session = new_session
        self.popen = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
            start_new_session=new_session)
        self.lines: list[str] = []
        self.stderr = ""
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, name=f"docs-{name}-stdout")
        self._reader.start()
        self._err = threading.Thread(target=self._read_err, name=f"docs-{name}-stderr")
        self._err.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _read_err(self) -> None:
        assert self.popen.stderr is not None
        self.stderr = self.popen.stderr.read()

    def wait_lines(self, predicate: Callable[[list[str]], bool], timeout: float = 15.0) -> list[str]:
        """Wait until ``predicate(lines)`` holds; fail (with the output) otherwise."""
        with self._cond:
            ok = self._cond.wait_for(lambda: predicate(self.lines) or self.popen.poll() is not None, timeout)
            if ok and predicate(self.lines):
                return list(self.lines)
        self.kill()
        raise AssertionError(f"{self.args}: expected output not seen within {timeout} s "
                             f"(exit {self.popen.returncode}).\nstdout:\n" + "\n".join(self.lines)
                             + f"\nstderr:\n{self.stderr}")

    def interrupt(self, timeout: float = 15.0) -> int:
        """Ctrl-C: send SIGINT, wait for the exit; returns the exit status."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
        return self.wait(timeout)

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the exit and the output threads; returns the exit status."""
        try:
            status = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"{self.args} still running after {timeout} s:\n" + "\n".join(self.lines)
                                 + f"\nstderr:\n{self.stderr}") from None
        self._reader.join(10)
        self._err.join(10)
        return status

    def kill(self) -> None:
        """Kill the process and join the output threads."""
        if self.popen.poll() is None:
            if self.new_session:
                os.killpg(self.popen.pid, signal.SIGKILL)   # the whole group: `mockserver run` and its command
            else:
                self.popen.kill()
        self.popen.wait(10)
        self._reader.join(10)
        self._err.join(10)

    @property
    def output(self) -> str:
        """Everything printed on stdout so far."""
        with self._cond:
            return "\n".join(self.lines)


@pytest.fixture
def server() -> Iterator[MockServer]:
    """A fresh mock server with its ticker paused (tests drive it), heartbeats every 0.5 s."""
    with MockServer(seed=0, heartbeat_interval=0.5, tick_interval=0.1) as srv:
        srv.pause_ticker()
        yield srv
        srv.check_assertions()


def child_env(server: MockServer) -> dict[str, str]:
    """The environment of a child run against ``server``: its URL and demo credentials."""
    env = dict(os.environ)
    env.update({
        "POLYMARKET_KEY_ID": server.demo_key_id,
        "POLYMARKET_SECRET_KEY": server.demo_secret_key,
        "POLYMARKET_WS_URL": server.url,
        "PATH": os.pathsep.join([str(Path(PYTHON).parent), env.get("PATH", "")]),
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("PYTEST_ADDOPTS", None)
    return env


@pytest.fixture
def run(server: MockServer) -> Iterator[Callable[..., Proc]]:
    """``run(args..., env=None)``: start a child process against ``server``; killed at teardown."""
    procs: list[Proc] = []

    def start(*args: str, env: dict[str, str] | None = None, name: str = "proc") -> Proc:
        proc = Proc(list(args), env if env is not None else child_env(server), name=name)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
