"""Every code block of README.md works, run the way the README tells a newcomer to run it.

- Each ```python block is saved to a file and run under ``python -m mockserver
  run -- python block.py`` (which sets ``POLYMARKET_WS_URL`` and the demo
  credentials), exactly as the Quick start says. Blocks that run until Ctrl-C
  (``run_forever()``, a ``messages()`` loop, an endless asyncio wait) get a
  SIGINT on their process group once they have printed something. A block that
  defines ``test_*`` functions is run with pytest instead. The official-SDK
  block runs against a camel-dialect server, with a small ``sitecustomize``
  that gives ``AsyncPolymarketUS`` the server's URL (the README's code leaves
  ``api_base_url`` at production).
- Each line of each ```sh block is matched to a handler below that runs it
  (against a started server where needed); a line no handler knows fails the
  test, so a new shell example cannot go untested by accident. A line ending
  in ``# exit N: TEXT`` (Troubleshooting) must exit N and print TEXT, with the
  README's ports 8765 (plain) and 8443 (TLS, private CA in ``ca.pem``) mapped
  to servers started for it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from mockserver import MockServer, demo_credentials

from .conftest import PYTHON, ROOT, Proc, child_env

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
BLOCKS = [(lang, body) for lang, body in BLOCK.findall(README)]
PYTHON_BLOCKS = [body for lang, body in BLOCKS if lang == "python"]
SH_LINES = [line for lang, body in BLOCKS if lang == "sh" for line in body.splitlines() if line.strip()]
RUNS_UNTIL_CTRL_C = re.compile(r"run_forever\(\)|\.messages\(\)|asyncio\.Event\(\)\.wait\(\)")

SDK_SHIM = '''
import os
if os.environ.get("PM_MOCKSERVER_CONTROL_URL"):
    import polymarket_us
    _init = polymarket_us.AsyncPolymarketUS.__init__
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("api_base_url", os.environ["PM_MOCKSERVER_CONTROL_URL"])
        _init(self, *args, **kwargs)
    polymarket_us.AsyncPolymarketUS.__init__ = __init__
'''


def _env(tmp_path: Path, sdk: bool = False) -> dict[str, str]:
    env = child_env(MockServer())               # PATH, unbuffered; the server comes from `run`
    for name in ("POLYMARKET_WS_URL", "POLYMARKET_KEY_ID", "POLYMARKET_SECRET_KEY"):
        env.pop(name)
    if sdk:
        shim = tmp_path / "shim"
        shim.mkdir()
        (shim / "sitecustomize.py").write_text(SDK_SHIM)
        env["PYTHONPATH"] = os.pathsep.join([str(shim), env.get("PYTHONPATH", "")])
    return env


def test_the_readme_has_the_blocks_this_test_expects() -> None:
    assert len(PYTHON_BLOCKS) >= 8
    assert "python -m pip install -e . && python -m pmsync demo" in SH_LINES
    assert "python -m pip install -e '.[test]' && python -m pytest" in SH_LINES
    assert "## Reliability and security" in README


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)), ids=lambda i: f"python-block-{i + 1}")
def test_python_block_runs(index: int, tmp_path: Path) -> None:
    body = PYTHON_BLOCKS[index]
    sdk = "polymarket_us" in body
    server = ["--tick-interval", "0.1", "--heartbeat-interval", "0.5"] + (["--dialect", "camel"] if sdk else [])
    if re.search(r"^def test_", body, re.M):
        path = tmp_path / f"test_readme_block_{index + 1}.py"
        path.write_text(body)
        command = [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", path.name]
    else:
        path = tmp_path / "quickstart.py"
        path.write_text(body)
        command = [PYTHON, path.name]
    proc = Proc([PYTHON, "-m", "mockserver", "run", *server, "--", *command], _env(tmp_path, sdk), cwd=tmp_path,
                name=f"block{index + 1}", new_session=True)
    try:
        if RUNS_UNTIL_CTRL_C.search(body):
            assert "Ctrl-C" in body or "until cancelled" in body, "say in the block how it ends"
            proc.wait_lines(lambda lines: len(lines) >= 2, timeout=20)
            os.killpg(proc.popen.pid, signal.SIGINT)       # Ctrl-C in the terminal
            status = proc.wait(20)
            assert status == 0 or "KeyboardInterrupt" in proc.stderr, proc.stderr
        else:
            status = proc.wait(60)
            assert status == 0, proc.output + proc.stderr
            assert proc.lines, "the block printed nothing"
    finally:
        proc.kill()
    print(proc.output)
    assert "Traceback" not in proc.stderr or "KeyboardInterrupt" in proc.stderr, proc.stderr
    if command[1:3] == ["-m", "pytest"]:
        assert " passed" in proc.output and "failed" not in proc.output, proc.output


# ------------------------------------------------------------------ sh blocks

def _demo(line: str, tmp_path: Path) -> None:
    install, _, demo = line.partition(" && ")
    assert install == "python -m pip install -e ." and demo == "python -m pmsync demo"
    result = subprocess.run([PYTHON, "-m", "pmsync", "demo", "--seconds", "1"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("mock server on ws://127.0.0.1:") and "(seed 0, snake dialect)" in out
    for shown in ("[markets] market_data       nba-lal-bos-2026-02-01: bid ", "[private] order_snapshot ",
                  "[private] balance_snapshot ", "book nba-lal-bos-2026-02-01: bid ", "events per kind:",
                  "  total "):
        assert shown in out, shown


def _test_suite(line: str, tmp_path: Path) -> None:
    assert line == "python -m pip install -e '.[test]' && python -m pytest"   # this very suite: not re-run


def _credentials(line: str, tmp_path: Path) -> None:
    command = shlex.split(line, comments=True)
    assert command == ["python", "-m", "mockserver", "--print-demo-credentials", "--seed", "0"]
    result = subprocess.run([PYTHON, *command[1:]], capture_output=True, text=True, timeout=60)
    key_id, secret = demo_credentials(0)
    assert json.loads(result.stdout) == {"key_id": key_id, "secret_key": secret}


def _serve(line: str, tmp_path: Path) -> None:
    command = shlex.split(line, comments=True)
    if "--port" in command:
        command[command.index("--port") + 1] = "0"
    proc = Proc([PYTHON, *command[1:]], child_env(MockServer()), cwd=tmp_path, name="serve")
    try:
        proc.wait_lines(lambda lines: any(line.startswith("mockserver ready on ws://") for line in lines))
        assert proc.interrupt() == 0
    finally:
        proc.kill()


def _run(line: str, tmp_path: Path) -> None:
    command = shlex.split(line, comments=True)
    if command[-3:] == ["python", "-m", "pytest"]:           # CI: run the example test module, not this suite
        command += ["-q", "-p", "no:randomly", "-p", "no:cacheprovider", "examples/test_trading_rule.py"]
    elif command[-2:] == ["python", "quickstart.py"]:
        return                                            # how test_python_block_runs runs every block
    result = subprocess.run([PYTHON, *command[1:]], cwd=ROOT, env=_env(tmp_path),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mockserver ready on" in result.stderr
    if "market_watcher.py" in line:
        assert "BOOK  nba-lal-bos-2026-02-01 bid" in result.stdout
    else:
        assert "3 passed" in result.stdout


def _record(line: str, tmp_path: Path) -> None:
    command = shlex.split(line)
    # Until the first trade print (which market trades when depends on the seed), at most 20 s.
    command[command.index("--seconds") + 1] = "20"
    command += ["--count", "1"]
    with MockServer(tick_interval=0.05) as server:
        env = child_env(server)
        result = subprocess.run([PYTHON, *command[1:]], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / command[command.index("--out") + 1]).read_text().splitlines()
    header = json.loads(lines[0])
    assert header["endpoint"] == "markets" and header["subscription_type"] == "SUBSCRIPTION_TYPE_TRADE"
    assert all("text" in json.loads(line) for line in lines[1:]) and len(lines) > 1


CURL_SERVER: list[MockServer] = []


def _curl(line: str, tmp_path: Path) -> None:
    server = CURL_SERVER[0]
    result = subprocess.run(["sh", "-c", line], env={**os.environ, "S": server.http_url},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    body = result.stdout.strip()
    if "/control/journal" in line:
        docs = [json.loads(x) for x in body.splitlines()]
    else:
        docs = [json.loads(body)]
    for doc in docs:
        assert not (isinstance(doc, dict) and doc.get("ok") is False), (line, doc)


EXPECT = re.compile(r"#\s*exit (\d+)(?::\s*(.*))?$")


def _expect(line: str, tmp_path: Path) -> None:
    """A Troubleshooting line: run it; it must exit with the status and print the text it shows."""
    match = EXPECT.search(line)
    assert match is not None
    status, text = int(match.group(1)), (match.group(2) or "").strip()
    command = shlex.split(line[:match.start()])
    env = _env(tmp_path)
    while "=" in command[0]:                                  # VAR=value prefixes
        name, _, value = command.pop(0).partition("=")
        env[name] = value
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    with MockServer(heartbeat_interval=0.5) as plain, MockServer(ssl_context=context) as tls:
        ports = {"8765": str(plain.port), "8443": str(tls.port)}
        if command[:3] != ["python", "-m", "mockserver"]:
            env.update({k: v for k, v in child_env(plain).items() if k.startswith("POLYMARKET_")})
            env.pop("POLYMARKET_WS_URL")
        for readme, real in ports.items():
            command = [part.replace(f"127.0.0.1:{readme}", f"127.0.0.1:{real}") for part in command]
            text = text.replace(f"127.0.0.1:{readme}", f"127.0.0.1:{real}")
        assert command[0] == "python"
        result = subprocess.run([PYTHON, *command[1:]], cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == status, result.stdout[-2000:] + result.stderr[-2000:]
    assert text in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def _curl_base(line: str, tmp_path: Path) -> None:
    assert re.fullmatch(r"S=http://127\.0\.0\.1:\d+", line)   # replaced by the test server's URL


HANDLERS: list[tuple[re.Pattern[str], Callable[[str, Path], None]]] = [
    (re.compile(r"python -m pip install -e \. && "), _demo),
    (re.compile(r"python -m pip install -e '\.\[test\]' && "), _test_suite),
    (re.compile(r"python -m mockserver --print-demo-credentials"), _credentials),
    (re.compile(r"(?=.*#\s*exit \d)"), _expect),
    (re.compile(r"python -m mockserver run (?!.*#\s*exit \d)"), _run),
    (re.compile(r"python -m mockserver (--port|--replay)"), _serve),
    (re.compile(r"python -m pmsync record "), _record),
    (re.compile(r"S="), _curl_base),
    (re.compile(r"curl "), _curl),
]


@pytest.mark.parametrize("line", SH_LINES, ids=lambda line: line[:50])
def test_sh_line_runs(line: str, tmp_path: Path) -> None:
    matches = [handler for pattern, handler in HANDLERS if pattern.match(line)]
    assert len(matches) == 1, f"no handler (or several) for README sh line: {line!r}"
    if matches[0] is _serve and "--replay" in line:
        session = tmp_path / "session.jsonl"
        session.write_text(json.dumps({"pmsync_recording": 1, "endpoint": "markets",
                                       "subscription_type": "SUBSCRIPTION_TYPE_TRADE",
                                       "market_slugs": ["nba-lal-bos-2026-02-01"], "t": 0}) + "\n")
    if matches[0] is _curl and not CURL_SERVER:
        CURL_SERVER.append(MockServer(heartbeat_interval=0.5).start())
    matches[0](line, tmp_path)


def teardown_module() -> None:
    """Stop the server the curl lines ran against."""
    for server in CURL_SERVER:
        server.stop()
    CURL_SERVER.clear()
