"""Kill, Cancel, a worker that ignores kills, and a server restart with work in flight."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.utils.engines import STUBBORN_LINE
from tests.utils.server import FINAL, Project, Server


def _submit(server: Server, project: Project, face: bytes, n: int = 1) -> list[str]:
    files = {"inputImageFirst": ("face.jpg", face, "image/jpeg")}
    return [server.run(project, files=files).json()["taskid"] for _ in range(n)]


def _running(task: dict) -> bool:
    return task["status"] in ("task_start", "task_output")


def test_kill_running_and_cancel_rules(paced_server: Server, face: bytes) -> None:
    srv = paced_server
    project = srv.keys("p")
    first, second = _submit(srv, project, face, 2)
    srv.wait(project, first, until=_running)
    assert srv.detail(project, second)["status"] == "task_queue"

    # Cancel of a running task: code 1, task unchanged.
    response = srv.post("/v1/Task/Cancel", project, json={"taskid": first})
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {"code": 1, "message": "Task is not in a cancellable state."}
    ]
    assert _running(srv.detail(project, first))

    # Cancel of a queued task: task_cancel.
    response = srv.post("/v1/Task/Cancel", project, json={"taskid": second})
    assert response.status_code == 200, response.text
    assert response.json()["tasklist"][0]["status"] == "task_cancel"

    # Kill of a running task: task_cancel within 2 s of the request.
    asked = time.monotonic()
    response = srv.post("/v1/Task/Kill", project, json={"taskid": first})
    assert response.status_code == 200, response.text
    task = srv.wait(project, first, timeout=2)
    assert time.monotonic() - asked < 2
    assert task["status"] == "task_cancel" and task["canceltime"] != "0"

    # Kill of a finished task: code 1, task unchanged.
    response = srv.post("/v1/Task/Kill", project, json={"taskid": first})
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {"code": 1, "message": "Task could not be killed: task is already finished"}
    ]
    # The worker lets go of the killed task and takes the next one.
    [third] = _submit(srv, project, face)
    assert srv.wait(project, third, timeout=60)["pexit"] == "0"
    assert srv.detail(project, first)["status"] == "task_cancel"
    assert srv.detail(project, first)["outputs"] == []


def test_kill_of_a_worker_that_ignores_it(tmp_path: Path, face: bytes) -> None:
    env = {"S2V_ENGINE": "tests.utils.engines:StubbornEngine", "S2V_KILL_GRACE_SECONDS": "1"}
    srv = Server(tmp_path / "stubborn", env=env).start()
    try:
        project = srv.keys("p")
        files = {"inputImageFirst": ("f.jpg", face, "image/jpeg")}
        run = srv.run(project, files=files, data={"prompt": "hang"}).json()
        # Kill once the engine has stopped answering kills (a kill before that is cooperative).
        srv.wait(project, run["taskid"], until=lambda t: STUBBORN_LINE in t["debugoutput"])
        queued = srv.run(project, files=files, data={"prompt": "smile"}).json()
        response = srv.post(
            "/v1/Task/Kill", project, json={"socketaccesstoken": run["socketaccesstoken"]}
        )
        assert response.json()["tasklist"][0]["status"] == "task_cancel"
        # After the grace period the worker is ended and replaced; the queued task runs there.
        assert srv.wait(project, queued["taskid"], timeout=60)["pexit"] == "0"
        assert "worker ignored a kill; ending it" in srv.log()
        assert srv.detail(project, run["taskid"])["status"] == "task_cancel"
    finally:
        srv.stop()


def test_restart_with_tasks_queued_and_running(tmp_path: Path, face: bytes) -> None:
    env = {"S2V_ENGINE": "tests.utils.engines:PacedCameraEngine", "S2V_TEST_FRAME_DELAY": "0.02"}
    srv = Server(tmp_path / "restart", env=env).start()
    project = srv.keys("p")
    ids = _submit(srv, project, face, 4)
    srv.wait(project, ids[0], until=_running)
    srv.stop(signal.SIGTERM)
    srv.start()
    try:
        tasks = [srv.wait(project, taskid, timeout=120) for taskid in ids]
    finally:
        srv.stop()
    for task in tasks:
        assert task["status"] in FINAL
        assert task["status"] == "task_postprocess_end" and task["pexit"] == "0", task
        assert len(task["outputs"]) == 1, task  # finished once, not twice
    # A graceful stop let the running task finish: it was neither interrupted nor retried.
    assert "retrying" not in tasks[0]["debugoutput"]


def test_server_killed_hard_mid_task(tmp_path: Path, face: bytes) -> None:
    env = {"S2V_ENGINE": "tests.utils.engines:PacedCameraEngine", "S2V_TEST_FRAME_DELAY": "0.02"}
    srv = Server(tmp_path / "hard", env=env).start()
    project = srv.keys("p")
    ids = _submit(srv, project, face, 2)
    srv.wait(project, ids[0], until=_running)
    srv.stop(signal.SIGKILL)
    srv.start()
    try:
        tasks = [srv.wait(project, taskid, timeout=120) for taskid in ids]
    finally:
        srv.stop()
    assert all(t["pexit"] == "0" and len(t["outputs"]) == 1 for t in tasks), tasks
