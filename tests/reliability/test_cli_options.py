"""``python -m mockserver`` with TLS (--certfile/--keyfile) and chaos (--chaos-seed/--chaos-rate)."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
from pathlib import Path

import trustme
import websocket

import pmsync
from mockserver import demo_credentials


def test_cli_tls_and_chaos(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "--certfile", str(tmp_path / "cert.pem"),
         "--keyfile", str(tmp_path / "key.pem"), "--chaos-seed", "7", "--chaos-rate", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("mockserver ready on wss://127.0.0.1:"), line
        url = line.split()[3]
        headers = pmsync.Credentials.from_base64(*demo_credentials(0)).sign_handshake("/v1/ws/markets")
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        ws = None
        for _ in range(20):  # chaos may answer 503: try again
            try:
                ws = websocket.create_connection(url + "/v1/ws/markets", sslopt={"context": context},
                                                 header=[f"{k}: {v}" for k, v in
                                                         pmsync.Credentials.from_base64(
                                                             *demo_credentials(0)).sign_handshake(
                                                             "/v1/ws/markets").items()],
                                                 suppress_origin=True, timeout=5)
                break
            except websocket.WebSocketBadStatusException as exc:
                assert exc.status_code == 503
        assert ws is not None and headers
        ws.close()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "chaos:" in err and "fault(s) injected" in err, err
