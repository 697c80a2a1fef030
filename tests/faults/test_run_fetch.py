"""Run's image URL is fetched by the API's fetch stage, before any worker sees the task: a task
whose image host trickles stays queued (task_queue) during its fetch, holds no engine worker, so
another project's task starts at once; Cancel stops the fetch; a server killed during a fetch
fetches again after its restart."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

from tests.faults.conftest import no_server_errors, row, upload, wait_for
from tests.faults.test_slow_peers import ALLOWED, Trickler
from tests.utils.figures import record
from tests.utils.server import Server


class SlowThenServes(Trickler):
    """Trickles to its first connection; answers later ones with `body` (a JPEG)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.connections = 0
        super().__init__()

    def _trickle(self, conn: socket.socket) -> None:
        self.connections += 1
        if self.connections == 1:
            super()._trickle(conn)
            return
        try:
            conn.recv(65536)
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n"
                f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n"
            )
            conn.sendall(head.encode() + self.body)
        finally:
            conn.close()


def test_trickling_url_holds_no_worker_and_cancel_stops_its_fetch(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    env = {
        "S2V_ENGINE": "camera",
        "S2V_FETCH_ALLOW_HOSTS": ALLOWED,
        "S2V_FETCH_TIMEOUT_SECONDS": "10",
    }
    srv = Server(tmp_path / "run-fetch", env=env)
    servers.append(srv)
    srv.start()
    abuser, other = srv.keys("abuser"), srv.keys("other")
    trickler = Trickler()
    try:
        image = f"{trickler.url}/face.jpg"
        slow = [
            srv.run(abuser, data={"inputImageFirstUrl": image}).json()["taskid"] for _ in range(6)
        ]
        wait_for("the fetches to begin", lambda: trickler.active >= 4, 10)
        # At most 4 fetches at once for one project; each fetching task shows task_queue.
        assert trickler.active == 4, trickler.active
        assert {srv.detail(abuser, t)["status"] for t in slow} == {"task_queue"}

        # Cancel during the fetch: the task ends at once and its connection is let go.
        cancelled = slow[0]
        response = srv.post("/v1/Task/Cancel", abuser, json={"taskid": cancelled})
        assert response.status_code == 200, response.text
        assert srv.detail(abuser, cancelled)["status"] == "task_cancel"
        wait_for("the cancelled fetch to stop", lambda: len(trickler.held) >= 1, 5)
        assert min(trickler.held) < 10, trickler.held  # cut before the deadline
        killed = slow[5]  # still waiting for a fetch slot: Kill ends it too
        response = srv.post("/v1/Task/Kill", abuser, json={"taskid": killed})
        assert response.status_code == 200, response.text

        # Another project's task runs on the one engine worker at once, not after the trickles.
        submitted = time.monotonic()
        theirs = srv.run(other, files=upload(face)).json()["taskid"]
        done = srv.wait(other, theirs, timeout=30)
        assert done["pexit"] == "0", done["debugerror"]
        waited = float(done["starttime"]) - float(done["createtime"])
        assert waited < 5, f"another project's task waited {waited:.1f} s for the trickle"
        assert time.monotonic() - submitted < 30

        # The others end at the fetch deadline, as input failures, never having reached a worker.
        for task_id in slow[1:5]:
            task = srv.wait(abuser, task_id, timeout=40)
            assert task["pexit"] == "1", task
            assert "inputImageFirstUrl" in task["debugerror"], task["debugerror"]
            assert row(srv, task_id)["accepttime"] is None, task  # no worker claimed it
            # They were still fetching (queued) when the other project's task started.
            assert float(task["postprocessendtime"]) > float(done["starttime"]), (task, done)
        assert srv.detail(abuser, killed)["status"] == "task_cancel"
    finally:
        trickler.close()
    no_server_errors(srv)
    record("faults: trickling Run image URL", tried=7, handled=7, got_through=0)


def test_a_fetch_a_killed_server_abandoned_resumes_after_restart(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    env = {
        "S2V_ENGINE": "camera",
        "S2V_FETCH_ALLOW_HOSTS": ALLOWED,
        "S2V_FETCH_TIMEOUT_SECONDS": "30",
    }
    srv = Server(tmp_path / "resume", env=env)
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    host = SlowThenServes(face)
    try:
        task_id = srv.run(project, data={"inputImageFirstUrl": f"{host.url}/face.jpg"}).json()[
            "taskid"
        ]
        wait_for("the fetch to begin", lambda: host.active > 0, 10)
        srv.stop(signal.SIGKILL)
        srv.start()
        task = srv.wait(project, task_id, timeout=40)
        assert task["pexit"] == "0", task["debugerror"]
        assert host.connections == 2
        assert task["debugoutput"].count("fetching the image") == 2, task["debugoutput"]
    finally:
        host.close()
    no_server_errors(srv)
