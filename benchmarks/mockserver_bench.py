"""Mock server: how many messages per second ``mockserver.MockServer`` sends to 1
and to 50 clients.

The mock server has no blast mode: every message goes through a per-connection
queue and writer thread, ``ServerConnection.send`` and the journal. The
benchmark queues N documented market-data messages per connection through
``MockServer.send_frame`` (the hook behind ``send_malformed``/``send_unknown_payload``)
and times until every raw websocket-client reader has all of them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import websocket

import pmsync
from mockserver import MockServer

from .common import message, save, table


def measure(clients: int, n: int) -> dict[str, Any]:
    text = message("market_data", "snake", "bench-md")
    with MockServer(heartbeat_interval=60, tick_interval=60) as server:
        creds = pmsync.Credentials.from_base64(server.demo_key_id, server.demo_secret_key)
        sockets = []
        for _ in range(clients):
            ws = websocket.WebSocket(skip_utf8_validation=True)
            headers = creds.sign_handshake("/v1/ws/markets")
            ws.connect(server.url + "/v1/ws/markets",
                       header=[f"{k}: {v}" for k, v in headers.items()], suppress_origin=True)
            ws.settimeout(30)
            sockets.append(ws)
        done = threading.Barrier(clients + 1)
        counts = [0] * clients

        def reader(i: int, ws: websocket.WebSocket) -> None:
            got = 0
            while got < n:
                msg = ws.recv()
                if msg == text:
                    got += 1
            counts[i] = got
            done.wait()

        threads = [threading.Thread(target=reader, args=(i, ws), name=f"bench-reader-{i}")
                   for i, ws in enumerate(sockets)]
        for t in threads:
            t.start()
        start = time.perf_counter()
        for _ in range(n):
            server.send_frame(text, "/v1/ws/markets")
        done.wait()
        elapsed = time.perf_counter() - start
        for t in threads:
            t.join()
        for ws in sockets:
            ws.close()
    total = n * clients
    return {"clients": clients, "per_client": n, "elapsed_s": elapsed,
            "total_msgs_per_s": total / elapsed, "per_client_msgs_per_s": n / elapsed}


def run(quick: bool = False) -> dict[str, Any]:
    n1 = 5_000 if quick else 30_000
    n50 = 200 if quick else 1_000
    r1 = measure(1, n1)
    r50 = measure(50, n50)
    rows = [[r["clients"], r["per_client"], r["total_msgs_per_s"], r["per_client_msgs_per_s"]]
            for r in (r1, r50)]
    text = table("Mock server send rate (documented market-data message, raw-send hook)",
                 ["clients", "msgs per client", "total msgs/s", "msgs/s per client"], rows)
    res = {"one": r1, "fifty": r50}
    save("mockserver", res)
    res["table"] = text
    return res
