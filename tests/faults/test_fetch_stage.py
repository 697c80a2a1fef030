"""Face/Detect with a trickling image URL, 40 calls at once from one project: another project's
Task/List is answered at once (the fetches run in the fetch stage, per-project limited, not in the
server's shared thread pool that also authenticates)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.faults.conftest import no_server_errors
from tests.faults.test_slow_peers import ALLOWED, Trickler
from tests.utils.server import Server


def test_trickling_face_detect_calls_delay_nobody_else(
    tmp_path: Path, servers: list[Server]
) -> None:
    env = {
        "S2V_ENGINE": "camera",
        "S2V_FETCH_ALLOW_HOSTS": ALLOWED,
        "S2V_FETCH_TIMEOUT_SECONDS": "2",
    }
    srv = Server(tmp_path / "face-fetch", env=env)
    servers.append(srv)
    srv.start()
    abuser, other = srv.keys("abuser", key_only=True), srv.keys("other")
    trickler = Trickler()
    answers: list[int] = []

    def detect() -> None:
        try:
            response = httpx.post(
                f"{srv.url}/v1/Face/Detect",
                headers=abuser.headers(),
                data={"inputImageFirstUrl": f"{trickler.url}/face.jpg"},
                timeout=120,
            )
            answers.append(response.status_code)
        except httpx.HTTPError:
            answers.append(0)

    callers = [threading.Thread(target=detect) for _ in range(40)]
    started_all = time.monotonic()
    try:
        for caller in callers:
            caller.start()
        deadline = time.monotonic() + 10
        while trickler.active < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert trickler.active >= 4, "the trickling fetches did not start"
        slowest = 0.0
        for _ in range(10):
            started = time.monotonic()
            listed = srv.post("/v1/Task/List", other, json={})
            slowest = max(slowest, time.monotonic() - started)
            assert listed.status_code == 200, listed.text
            time.sleep(0.1)
        assert slowest < 1.0, f"another project's Task/List took {slowest:.1f} s"
    finally:
        for caller in callers:
            caller.join(60)
        trickler.close()
    took = time.monotonic() - started_all
    assert set(answers) == {400}, (answers, took)  # each cut at the fetch deadline
    no_server_errors(srv)
