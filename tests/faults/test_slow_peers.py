"""Slow peers: a callback receiver and an image host that send their response headers a byte at a
time. Each attempt has a total deadline; one slow receiver delays nobody else's callbacks (their
retries keep their schedule). A Run whose image host trickles: tests/faults/test_run_fetch.py."""

from __future__ import annotations

import http.server
import socket
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import no_server_errors, submit, wait_for
from tests.utils.figures import record
from tests.utils.server import FIXTURE_HOST, Server, fixture_server, send

#: The slow peers live on another loopback address than the well-behaved ones.
SLOW_HOST = "127.0.0.3"
ALLOWED = f"{FIXTURE_HOST},{SLOW_HOST}"


class Trickler:
    """A TCP server that reads a request, then sends an HTTP status line one byte every 0.5 s,
    never finishing its headers. Records how long each connection was held."""

    def __init__(self, host: str = SLOW_HOST) -> None:
        self.sock = socket.create_server((host, 0))
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self.held: list[float] = []
        #: Connections being trickled to now.
        self.active = 0
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        started = time.monotonic()
        self.active += 1
        try:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
                if self._stop.wait(0.5):
                    break
                conn.send(bytes([byte]))
        except OSError:
            pass  # the client gave up: what we are here to see
        finally:
            self.held.append(time.monotonic() - started)
            self.active -= 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


@pytest.fixture
def trickler() -> Iterator[Trickler]:
    slow = Trickler()
    yield slow
    slow.close()


class Receiver:
    """A callback receiver that fails the first delivery of each webhook and records arrivals."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.lock = threading.Lock()

    def __call__(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.rfile.read(int(handler.headers.get("content-length") or 0))
        webhook = handler.headers["webhook-id"]
        with self.lock:
            self.arrivals[webhook].append(time.time())
            first = len(self.arrivals[webhook]) == 1
        send(handler, 500 if first else 200, b"ok", "text/plain")


def test_slow_callback_receiver_delays_nobody_else(
    tmp_path: Path, face: bytes, trickler: Trickler, servers: list[Server]
) -> None:
    env = {
        "S2V_ENGINE": "camera",
        "S2V_FETCH_ALLOW_HOSTS": ALLOWED,
        "S2V_CALLBACK_TIMEOUT_SECONDS": "2",
        "S2V_CALLBACK_BACKOFF_SECONDS": "0.5",
        "S2V_CALLBACK_BACKOFF_FACTOR": "2",
        "S2V_CALLBACK_MAX_ATTEMPTS": "4",
    }
    srv = Server(tmp_path / "callbacks", env=env)
    servers.append(srv)
    srv.start()
    slow, others = srv.keys("slow"), srv.keys("others")
    receiver = Receiver()
    with fixture_server({"/hook": receiver}) as base:
        slow_ids = [submit(srv, slow, face, callbackUrl=f"{trickler.url}/hook") for _ in range(3)]
        other_ids = [submit(srv, others, face, callbackUrl=f"{base}/hook") for _ in range(8)]
        ended = {i: srv.wait(others, i, timeout=120) for i in other_ids}
        wait_for(
            "every other project's callback to be retried once",
            lambda: (
                len(receiver.arrivals) == 8 and all(len(a) >= 2 for a in receiver.arrivals.values())
            ),
            timeout=60,
        )
        assert len(trickler.held) >= 1  # the slow receiver was being served meanwhile
    for task in ended.values():
        assert task["pexit"] == "0", task
    for webhook, times in receiver.arrivals.items():
        gap = times[1] - times[0]
        assert gap < 0.5 + 1.5, f"{webhook}: retry {gap:.1f} s after the first attempt"
    ends = [int(t["postprocessendtime"]) for t in ended.values()]
    firsts = sorted(times[0] for times in receiver.arrivals.values())
    for end, first in zip(sorted(ends), firsts, strict=True):
        assert first - end < 3.0, f"a callback came {first - end:.1f} s after its task ended"

    # Each attempt at the slow receiver was cut at its 2 s deadline.
    wait_for("the slow receiver's attempts to end", lambda: len(trickler.held) >= 3, 60)
    assert max(trickler.held) < 2 + 1.5, trickler.held
    with sqlite3.connect(srv.data_dir / "s2v.db") as db:
        errors = [e for (e,) in db.execute("SELECT last_error FROM deliveries") if e]
    assert any("no complete answer within 2 seconds" in e for e in errors), errors
    no_server_errors(srv)
    record("faults: slow callback receiver", tried=len(slow_ids) + 8, handled=11, got_through=0)
