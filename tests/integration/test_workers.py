"""`s2v serve --workers 2`: two tasks at once; a kill or a crash in one worker spares the other."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

from tests.utils.server import Project, Server

PACED = {"S2V_ENGINE": "tests.utils.engines:PacedCameraEngine", "S2V_KILL_GRACE_SECONDS": "2"}


def _running(task: dict) -> bool:
    return task["status"] in ("task_start", "task_output")


def _submit(server: Server, project: Project, face: bytes, n: int) -> list[str]:
    files = {"inputImageFirst": ("face.jpg", face, "image/jpeg")}
    return [server.run(project, files=files).json()["taskid"] for _ in range(n)]


def _worker_of(server: Server, taskid: str) -> str:
    """The engine process holding a task (`local-<pid>`), as the store records it."""
    with sqlite3.connect(server.data_dir / "s2v.db") as conn:
        (worker,) = conn.execute("SELECT worker FROM tasks WHERE id = ?", (int(taskid),)).fetchone()
    return worker


def _full_log(server: Server) -> str:
    assert server.log_path is not None
    return server.log_path.read_text(errors="replace")


def test_two_workers_run_two_tasks_and_a_kill_spares_the_other(tmp_path: Path, face: bytes) -> None:
    srv = Server(tmp_path / "two", env=PACED, args=["--workers", "2"]).start()
    try:
        project = srv.keys("p")
        first, second = _submit(srv, project, face, 2)
        srv.wait(project, first, until=_running)
        srv.wait(project, second, until=_running)
        assert _running(srv.detail(project, first)), "the first task stopped running"
        assert _worker_of(srv, first) != _worker_of(srv, second)
        # Progress (task_output events, kept in Detail's `progress`) comes from both at once.
        for taskid in (first, second):
            task = srv.wait(project, taskid, until=lambda t: _running(t) and bool(t["progress"]))
            assert int(task["progress"]["percentage"]) < 100, task["progress"]
        assert _running(srv.detail(project, first)), "the first task stopped running"
        assert "starting 2 worker processes (set by --workers" in _full_log(srv)

        response = srv.post("/v1/Task/Kill", project, json={"taskid": first})
        assert response.status_code == 200, response.text
        assert srv.wait(project, first, timeout=5)["status"] == "task_cancel"
        assert _running(srv.detail(project, second)), "killing one task stopped the other"
        done = srv.wait(project, second, timeout=90)
        assert (done["status"], done["pexit"], len(done["outputs"])) == (
            "task_postprocess_end",
            "0",
            1,
        )
        # The freed worker takes new work.
        [third] = _submit(srv, project, face, 1)
        assert srv.wait(project, third, timeout=90)["pexit"] == "0"
    finally:
        srv.stop()


def test_a_crashed_worker_is_replaced_while_the_other_continues(
    tmp_path: Path, face: bytes
) -> None:
    srv = Server(tmp_path / "crash", env={**PACED, "S2V_WORKERS": "2"}).start()
    try:
        project = srv.keys("p")
        first, second = _submit(srv, project, face, 2)
        srv.wait(project, first, until=_running)
        srv.wait(project, second, until=_running)
        crashed = _worker_of(srv, first)
        os.kill(int(crashed.rsplit("-", 1)[1]), signal.SIGKILL)

        survivor = srv.wait(project, second, timeout=90)
        assert (survivor["pexit"], len(survivor["outputs"])) == ("0", 1), survivor
        assert "retrying" not in survivor["debugoutput"]
        # The crashed worker's task is run again, by a new engine process, and finishes once.
        retried = srv.wait(project, first, timeout=120)
        assert (retried["pexit"], len(retried["outputs"])) == ("0", 1), retried
        assert "retrying (attempt 2)" in retried["debugoutput"]
        assert _worker_of(srv, first) != crashed
        assert "worker died" in _full_log(srv)
    finally:
        srv.stop()
