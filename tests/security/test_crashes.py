"""Crashes: kill -9 of the server and of its worker at random points under load.

After each restart every accepted task reaches a final status exactly once, every callback is
delivered exactly once per final status (the receiver de-duplicates by webhook-id), and the SQLite
store passes its integrity check.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from tests.utils.figures import record
from tests.utils.images import face_jpeg
from tests.utils.server import FINAL, Server, fixture_server, send

KILLS = 10
CHAOS_SECONDS = 25
#: Tasks submitted in all, spread over the chaos: enough to be caught at every stage, few enough
#: for two cores to finish them in a minute or two.
TASKS = 24


class Receiver:
    """Records each delivery: webhook-id and the task it is about."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_task: dict[str, set[str]] = defaultdict(set)
        self.statuses: dict[str, set[str]] = defaultdict(set)

    def __call__(self, handler: Any) -> None:
        body = handler.rfile.read(int(handler.headers.get("content-length") or 0))
        task = json.loads(body)["tasklist"][0]
        with self.lock:
            self.by_task[task["id"]].add(handler.headers["webhook-id"])
            self.statuses[task["id"]].add(task["status"])
        send(handler, 200, b"ok", "text/plain")


def _worker_pid(server: Server) -> int | None:
    assert server.proc is not None
    pid = server.proc.pid
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _submitter(server: Server, project: Any, hook: str, accepted: list[str], stop: threading.Event):
    files = {"inputImageFirst": ("face.jpg", face_jpeg(), "image/jpeg")}
    while not stop.is_set() and len(accepted) < TASKS:
        try:
            response = server.run(project, files=files, data={"callbackUrl": hook})
        except httpx.HTTPError:
            time.sleep(0.2)  # the server is down: this Run was never accepted
            continue
        if response.status_code == 200:
            accepted.append(response.json()["taskid"])
        time.sleep(CHAOS_SECONDS / TASKS)  # on purpose: submissions spread over the chaos


def test_kill_nine_server_and_worker_under_load(tmp_path: Path) -> None:
    env = {
        "S2V_ENGINE": "tests.utils.engines:PacedCameraEngine",
        "S2V_TEST_FRAME_DELAY": "0.005",
        "S2V_MAX_ACTIVE_TASKS": "1000",
        "S2V_CALLBACK_BACKOFF_SECONDS": "0.3",
        "S2V_CALLBACK_BACKOFF_FACTOR": "1.5",
        "S2V_CALLBACK_MAX_ATTEMPTS": "20",
    }
    server = Server(tmp_path / "crash", env=env).start()
    project = server.keys("crash")
    receiver = Receiver()
    rng = random.Random(7)
    accepted: list[str] = []
    kills: list[str] = []
    with fixture_server({"/hook": receiver}) as base:
        stop = threading.Event()
        thread = threading.Thread(
            target=_submitter, args=(server, project, f"{base}/hook", accepted, stop), daemon=True
        )
        thread.start()
        try:
            deadline = time.monotonic() + CHAOS_SECONDS
            while len(kills) < KILLS or time.monotonic() < deadline:
                time.sleep(rng.uniform(1.0, 3.0))  # on purpose: kills at random points
                worker = _worker_pid(server)
                if rng.random() < 0.5 and worker is not None:
                    os.kill(worker, signal.SIGKILL)  # the server replaces it by itself
                    kills.append("worker")
                else:
                    server.stop(signal.SIGKILL)
                    kills.append("server")
                    server.start()
            stop.set()
            thread.join(10)
            tasks = [server.wait(project, taskid, timeout=180) for taskid in accepted]
            # Deliveries are retried with backoff: give the last ones time to land.
            settle = time.monotonic() + 60
            while time.monotonic() < settle:
                with receiver.lock:
                    if all(receiver.by_task.get(t["id"]) for t in tasks):
                        break
                time.sleep(0.5)
            # No delivery pending, so no second one can come. A delivery leased by a killed
            # process waits out its lease (60 s) and goes again with the same webhook-id.
            server.callbacks_settled(timeout=90)
        finally:
            stop.set()
            server.stop()

    assert len(kills) >= KILLS and {"server", "worker"} <= set(kills), kills
    assert len(accepted) >= TASKS // 2, accepted
    lost = [t["id"] for t in tasks if t["status"] not in FINAL]
    doubled = [t["id"] for t in tasks if t["pexit"] == "0" and len(t["outputs"]) != 1]
    assert not lost and not doubled, (lost, doubled)
    missing = [t["id"] for t in tasks if len(receiver.by_task.get(t["id"], ())) == 0]
    duplicated = [t["id"] for t in tasks if len(receiver.by_task.get(t["id"], ())) > 1]
    assert not missing and not duplicated, (missing, duplicated)
    for task in tasks:  # the callback tells the final status the task has
        assert receiver.statuses[task["id"]] == {task["status"]}, task["id"]
    with sqlite3.connect(tmp_path / "crash" / "s2v.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    record(
        "Crash test: kill -9 of server and worker under load",
        tried=len(accepted),
        handled=len(accepted) - len(lost) - len(doubled) - len(missing) - len(duplicated),
        got_through=len(lost) + len(doubled) + len(missing) + len(duplicated),
        detail=f"{kills.count('server')} server and {kills.count('worker')} worker kills",
    )
