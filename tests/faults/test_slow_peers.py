"""Slow peers: a callback receiver and an image host that send their response headers a byte at a
time. Each attempt has a total deadline; one slow receiver delays nobody else's callbacks (their
retries keep their schedule); a task whose image host trickles is held no longer than its time
limit, and a Kill ends it at once."""

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

from tests.faults.conftest import no_server_errors, submit, upload, wait_for
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


def test_trickling_image_host_holds_a_task_no_longer_than_its_limit(
    tmp_path: Path, face: bytes, trickler: Trickler, servers: list[Server]
) -> None:
    env = {
        "S2V_ENGINE": "camera",
        "S2V_FETCH_ALLOW_HOSTS": ALLOWED,
        # Long enough for a camera-engine task on a busy machine; far below the fetch's limit.
        "S2V_TASK_TIMEOUT_SECONDS": "10",
        "S2V_FETCH_TIMEOUT_SECONDS": "60",  # the task's limit must hold by itself
    }
    srv = Server(tmp_path / "images", env=env)
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    image = f"{trickler.url}/face.jpg"

    # The task timeout holds inside the fetch; the task queued behind runs at once after.
    slow = srv.run(project, data={"inputImageFirstUrl": image}).json()["taskid"]
    behind = submit(srv, project, face)
    task = srv.wait(project, slow, timeout=40)
    assert task["pexit"] == "1" and "did not finish within 10 s" in task["debugerror"], task
    held = int(task["postprocessendtime"]) - int(task["accepttime"])
    assert held <= 10 + 2, f"the trickling host held the task {held} s"
    behind_task = srv.wait(project, behind, timeout=60)
    assert behind_task["pexit"] == "0", behind_task["debugerror"]

    # A Kill ends a task at any moment of its fetch, cooperatively (the worker is not ended).
    killed = srv.run(project, data={"inputImageFirstUrl": image}).json()["taskid"]
    next_one = srv.run(project, files=upload(face)).json()["taskid"]
    srv.wait(project, killed, until=lambda t: t["status"] == "task_preprocess_start")
    wait_for("the fetch to begin", lambda: trickler.active > 0, 10)
    asked = time.monotonic()
    response = srv.post("/v1/Task/Kill", project, json={"taskid": killed})
    assert response.status_code == 200, response.text
    assert srv.wait(project, next_one, timeout=60)["pexit"] == "0"
    assert time.monotonic() - asked < 10
    assert srv.detail(project, killed)["status"] == "task_cancel"
    assert "worker ignored a kill" not in srv.log()
    no_server_errors(srv)
    record("faults: trickling image host", tried=2, handled=2, got_through=0)
