"""Callbacks of two projects whose receivers share a host: one project's trickling receiver (another
port of the same host) delays only its own project's callbacks, in the Wiro and MiniMax dialects
alike (limits per receiver, scheme host and port, and per project; tasks/callbacks.py)."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.faults.conftest import no_server_errors, submit
from tests.faults.test_slow_peers import Trickler
from tests.utils.server import FIXTURE_HOST, Project, Server, fixture_server, send


class Arrivals:
    """A receiver that records when each body arrived; echoes MiniMax challenges."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def __call__(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        body = json.loads(handler.rfile.read(int(handler.headers.get("content-length") or 0)))
        with self.lock:
            self.seen.append((time.time(), body))
        answer = {"challenge": body["challenge"]} if "challenge" in body else {}
        send(handler, 200, json.dumps(answer).encode(), "application/json")


def _minimax(server: Server, project: Project, face: bytes, callback_url: str) -> str:
    image = f"data:image/jpeg;base64,{base64.b64encode(face).decode()}"
    body = {
        "model": "S2V-01",
        "prompt": "She smiles.",
        "subject_reference": [{"type": "character", "image": [image]}],
        "callback_url": callback_url,
    }
    response = httpx.post(
        f"{server.url}/v1/video_generation",
        json=body,
        headers={"Authorization": f"Bearer {project.apikey}"},
        timeout=30,
    )
    assert response.status_code == 200 and response.json()["task_id"], response.text
    return response.json()["task_id"]


def test_a_slow_receiver_delays_only_its_own_projects_callbacks(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    env = {
        "S2V_ENGINE": "camera",
        "S2V_CALLBACK_TIMEOUT_SECONDS": "20",
        "S2V_CALLBACK_MAX_ATTEMPTS": "1",
    }
    srv = Server(tmp_path / "fair-callbacks", env=env)
    servers.append(srv)
    srv.start()
    slow, others = srv.keys("slow"), srv.keys("others")
    trickler = Trickler(host=FIXTURE_HOST)  # the same host as the good receiver, another port
    good = Arrivals()
    try:
        with fixture_server({"/hook": good}) as base:
            # The slow project's MiniMax handshakes and Wiro callbacks go to the trickler.
            for _ in range(2):
                _minimax(srv, slow, face, f"{trickler.url}/hook")
            for _ in range(2):  # they end first, and hold the trickler for 20 s each
                submit(srv, slow, face, callbackUrl=f"{trickler.url}/hook")
            asked = time.time()
            _minimax(srv, others, face, f"{base}/hook")
            ids = [submit(srv, others, face, callbackUrl=f"{base}/hook") for _ in range(4)]
            ended = {i: srv.wait(others, i, timeout=120) for i in ids}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with good.lock:
                    wiro = [b for _, b in good.seen if "tasklist" in b]
                if len(wiro) == 4:
                    break
                time.sleep(0.1)
        assert trickler.held or trickler.active, "the slow receiver was never called"
    finally:
        trickler.close()

    # The other project's MiniMax handshake went out at once, not after the slow ones.
    challenge = next(t for t, b in good.seen if "challenge" in b)
    assert challenge - asked < 1.5, f"handshake {challenge - asked:.1f} s after the create"
    # Each of its Wiro callbacks came within moments of its task's end.
    arrived = {b["tasklist"][0]["id"]: t for t, b in good.seen if "tasklist" in b}
    assert sorted(arrived) == sorted(ids), arrived
    for taskid, task in ended.items():
        late = arrived[taskid] - int(task["postprocessendtime"])
        assert late < 3.0, f"task {taskid}'s callback came {late:.1f} s after it ended"
    no_server_errors(srv)
