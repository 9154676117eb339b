"""``python -m mockserver`` as a subprocess: ready line, /health, a fault via the control API, SIGTERM."""

from __future__ import annotations

import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import websocket

from mockserver import demo_credentials
from mockserver.__main__ import build_parser
from mockserver_helpers import sign

READY = re.compile(r"mockserver ready on (ws://127\.0\.0\.1:(\d+))")


def read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(timeout):
        raise AssertionError(f"no output within {timeout} s")
    return proc.stdout.readline()


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200
        return json.loads(resp.read())


@pytest.fixture
def cli() -> Any:
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[subprocess.Popen[str], str, int]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "--port", "0", "--heartbeat-interval", "0.2", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        procs.append(proc)
        started = time.monotonic()
        line = read_line(proc, 2.0)
        assert time.monotonic() - started < 2.0
        match = READY.search(line)
        assert match, line
        return proc, match.group(1), int(match.group(2))

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_cli_serves_takes_faults_and_exits_cleanly_on_sigterm(cli: Any) -> None:
    proc, url, port = cli("--seed", "3", "--dialect", "camel", "--log-level", "INFO")
    base = f"http://127.0.0.1:{port}"
    health = get(base + "/health")
    assert health["status"] == "ok" and health["connections"] == 0
    markets = get(base + "/control/markets")
    ws = websocket.create_connection(url + "/v1/ws/markets", timeout=5,
                                     header=[f"{k}: {v}" for k, v in sign("/v1/ws/markets", seed=3).items()])
    ws.send(json.dumps({"subscribe": {"requestId": "l", "subscriptionType": 2, "marketSlugs": markets[:1]}}))
    assert "marketDataLite" in json.loads(ws.recv())
    assert get(base + "/control/heartbeats/stop") == {"ok": True, "heartbeats": "stopped"}
    assert get(base + "/control/send/unknown") == {"ok": True, "sent": 1}
    while True:
        msg = json.loads(ws.recv())
        if "mockserver_unknown_payload" in msg:
            break
    proc.send_signal(signal.SIGTERM)
    opcode, frame = ws.recv_data_frame(control_frame=True)
    while opcode != websocket.ABNF.OPCODE_CLOSE:
        opcode, frame = ws.recv_data_frame(control_frame=True)
    assert int.from_bytes(frame.data[:2], "big") == 1001  # a close frame, not a dropped socket
    ws.send_close()
    ws.shutdown()
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "threads left behind" not in err
    assert "mockserver on port" in err  # INFO logging reached stderr, and the server stopped
    assert out == ""  # exactly one line was printed, the ready line


def test_cli_sigint_and_options(cli: Any) -> None:
    proc, url, port = cli("--no-auth", "--markets", "aa-bb-2026,cc-dd-2026", "--tick-interval", "0.1",
                          "--key", "k1:" + "A" * 43 + "=")
    assert get(f"http://127.0.0.1:{port}/control/markets") == ["aa-bb-2026", "cc-dd-2026"]
    ws = websocket.create_connection(url + "/v1/ws/private", timeout=5)  # no auth headers needed
    ws.close()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_print_demo_credentials() -> None:
    out = subprocess.run([sys.executable, "-m", "mockserver", "--print-demo-credentials", "--seed", "5"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    key_id, secret = demo_credentials(5)
    assert json.loads(out) == {"key_id": key_id, "secret_key": secret}


def test_help_explains_every_option() -> None:
    parser = build_parser()
    text = parser.format_help()
    for option in ("--host", "--port", "--seed", "--dialect", "--heartbeat-interval", "--tick-interval",
                   "--no-auth", "--key", "--markets", "--log-level", "--print-demo-credentials"):
        assert option in text
    for action in parser._actions:
        assert action.help, action.option_strings


@pytest.mark.parametrize("args", [["--key", "nocolon"], ["--key", "k:bm90MzJieXRlcw=="],
                                  ["--markets", ","], ["--heartbeat-interval", "0"], ["--dialect", "xml"]])
def test_bad_options_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(args)
    assert info.value.code == 2


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mockserver", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("mockserver") and ": error: " in lines[0]
    assert expected in lines[0], lines[0]


def test_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("--port", str(port))
        assert_one_line_error(result, f"mockserver: error: port {port} is in use")
        # the same in `run` mode, before any command starts
        assert_one_line_error(run_cli("run", "--port", str(port), "--", sys.executable, "-c", "pass"),
                              f"port {port} is in use")


def test_replay_of_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    assert_one_line_error(run_cli("--replay", str(missing)), f"--replay {missing}: no such file")


@pytest.mark.parametrize("content,reason", [
    ("not json at all\n", "line 1 is not JSON"),
    ('{"t": 1, "text": "{}"}\n', "the first line must be its header"),
    ('{"pmsync_recording": 1, "endpoint": "nowhere"}\n', "header endpoint must be"),
])
def test_replay_of_a_file_that_is_not_a_recording_is_one_line_and_exit_2(
        tmp_path: Path, content: str, reason: str) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    result = run_cli("--replay", str(bad))
    assert_one_line_error(result, f"--replay {bad}: not a recording of 'python -m pmsync record'")
    assert reason in result.stderr


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_bad_port_is_one_line_and_exit_2(port: str) -> None:
    assert_one_line_error(run_cli("--port", port), "argument --port: expected a port number")


def test_control_index_lists_every_route_with_its_parameters(cli: Any) -> None:
    proc, url, port = cli()
    listing = get(f"http://127.0.0.1:{port}/control/")
    routes = {r["route"]: r for r in listing["routes"]}
    from mockserver.control import INSPECTION
    from mockserver.faults import FAULTS

    for kind in (*FAULTS, *INSPECTION):
        assert routes[kind.route]["params"] == [p.describe() for p in kind.params]
        assert routes[kind.route]["help"] == kind.help
    assert {"/control/markets", "/control/journal", "/health"} <= set(routes)
    assert routes["/control/close"]["params"][0] == {"name": "code", "type": "int", "default": 1000,
                                                     "required": False, "help": "close code"}
    for route, entry in routes.items():  # every route listed is served: a GET answers, never 404
        if any(p["required"] for p in entry["params"]):
            continue                  # these answer 400 without their parameters
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{route}", timeout=5) as resp:
            assert resp.status == 200, route
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=10)
