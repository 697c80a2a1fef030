"""Fairness under an abusive tenant: project B's submit-to-start time, alone and behind project A.

One `s2v serve` with its defaults (the portrait engine, the default workers). Project A submits as
many tasks as its limit of unfinished tasks allows (`S2V_MAX_ACTIVE_TASKS`, 16), each with an
image URL that trickles one byte every 0.5 s (held until the fetch deadline, 20 s); then project B
submits one task with an uploaded image. Reported: B's submit-to-start time with A absent and with
A's backlog, and one portrait task's engine time (the target: with A, at most that much more).
The clock stops when B's task is claimed (its status leaves task_queue). Usage:
    PYTHONPATH=src:. python benchmarks/fairness.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.faults.test_slow_peers import Trickler
from tests.utils.images import face_jpeg
from tests.utils.server import FIXTURE_HOST, Project, Server

QUEUED = ("task_queue",)


def submit_to_start(server: Server, project: Project, face: bytes) -> tuple[float, str]:
    """Seconds from B's submit until a worker took its task; and the task id."""
    files = {"inputImageFirst": ("face.jpg", face, "image/jpeg")}
    started = time.monotonic()
    response = server.run(project, files=files)
    response.raise_for_status()
    taskid = response.json()["taskid"]
    server.wait(project, taskid, timeout=900, until=lambda t: t["status"] not in QUEUED)
    return time.monotonic() - started, taskid


def main() -> None:
    face = face_jpeg()
    trickler = Trickler(host=FIXTURE_HOST)
    with tempfile.TemporaryDirectory() as root:
        env = {"S2V_PRICE_PER_SECOND": "1"}  # totalcost: a task's engine seconds
        server = Server(Path(root) / "fair", env=env).start(timeout=300)
        try:
            a, b = server.keys("a"), server.keys("b")
            _, warm_id = submit_to_start(server, b, face)  # models loaded in every worker
            server.wait(b, warm_id, timeout=900)
            alone, alone_id = submit_to_start(server, b, face)
            engine = float(server.wait(b, alone_id, timeout=900)["totalcost"])
            url = f"{trickler.url}/face.jpg"
            submitted = 0
            while True:
                response = server.run(a, data={"inputImageFirstUrl": url})
                if response.status_code != 200:
                    break  # A's limit of unfinished tasks
                submitted += 1
            time.sleep(1.0)  # A's fetches have begun (in the API's fetch stage, not a worker)
            behind, _ = submit_to_start(server, b, face)
        finally:
            server.stop(timeout=60)
            trickler.close()
    print("| B alone | B behind A's backlog | A's tasks queued | one portrait task's engine time |")
    print("|---:|---:|---:|---:|")
    print(f"| {alone:.1f} s | {behind:.1f} s | {submitted} | {engine:.1f} s |")
    extra = behind - alone
    verdict = "met" if extra <= engine else "missed"
    print(f"\nB waited {extra:.1f} s more behind A (target: at most {engine:.1f} s): {verdict}")


if __name__ == "__main__":
    main()
