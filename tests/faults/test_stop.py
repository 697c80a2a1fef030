"""Stop: SIGTERM (to the whole process group, as systemd and Docker send it), SIGHUP, and a second
signal, during a task; then a restart. The task finishes once, its output is intact, and the stop
spends none of its attempts."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from tests.faults.conftest import (
    PACED,
    no_server_errors,
    ready_state,
    row,
    running,
    submit,
    wait_for,
    worker_pid,
)
from tests.utils.figures import record
from tests.utils.server import Server
from tests.utils.video import assert_contract_video


def _stopped_in(server: Server, send: list[int], timeout: float = 60) -> float:
    """Send `send` to the server's process group, one after another; seconds until it exited."""
    assert server.proc is not None
    started = time.monotonic()
    for sig in send:
        os.killpg(server.proc.pid, sig)
        time.sleep(0.3)  # the second signal must land while the first stop is under way
    code = server.proc.wait(timeout)
    server.proc = None
    assert code == 0, f"exit code {code}"
    return time.monotonic() - started


def _video_ok(server: Server, task: dict, tmp_path: Path) -> None:
    assert task["pexit"] == "0" and len(task["outputs"]) == 1, task
    path = tmp_path / f"{task['id']}.mp4"
    path.write_bytes(httpx.get(task["outputs"][0]["url"], timeout=30).content)
    assert_contract_video(path)


def test_stop_lets_the_task_finish_or_puts_it_back_without_spending_an_attempt(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    env = {"S2V_ENGINE": PACED, "S2V_TEST_FRAME_DELAY": "0.03"}  # a task of about 5 s
    srv = Server(tmp_path / "stop", env=env, own_group=True)
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    checks = 0

    # 1. SIGTERM to the group during a task: the task finishes, the queued one waits.
    first, second = submit(srv, project, face), submit(srv, project, face)
    srv.wait(project, first, until=running)
    _stopped_in(srv, [signal.SIGTERM])
    assert row(srv, first)["status"] == "task_postprocess_end" and row(srv, first)["attempts"] == 1
    assert row(srv, second)["status"] == "task_queue" and row(srv, second)["attempts"] == 0
    assert list((srv.data_dir / "work").glob("task*")) == []
    no_server_errors(srv)
    checks += 1

    # 2. SIGHUP with a grace shorter than the task: the task goes back to the queue, no attempt
    # spent, no work file left; after a restart it finishes once.
    srv.env["S2V_STOP_GRACE_SECONDS"] = "0.5"
    srv.start()
    srv.wait(project, second, until=running)
    _stopped_in(srv, [signal.SIGHUP])
    stopped = row(srv, second)
    assert stopped["status"] == "task_queue" and stopped["attempts"] == 0, stopped
    assert "the server stopped during" in stopped["debugoutput"]
    assert list((srv.data_dir / "work").glob("task*")) == []
    checks += 1

    # 3. A second signal stops at once, though the grace is a task's length.
    srv.env.pop("S2V_STOP_GRACE_SECONDS")
    srv.start()
    srv.wait(project, second, until=running)
    assert _stopped_in(srv, [signal.SIGTERM, signal.SIGINT]) < 4
    assert row(srv, second)["attempts"] == 0
    checks += 1

    # 4. Restart: every task finishes once, with an intact video and one attempt each.
    srv.start()
    for task_id in (first, second):
        task = srv.wait(project, task_id, timeout=60)
        _video_ok(srv, task, tmp_path)
        assert row(srv, task_id)["attempts"] == 1
    log = srv.log()
    assert "the worker stopped while running" not in log and "giving up" not in log
    no_server_errors(srv)
    checks += 1
    record("faults: graceful stop", tried=checks, handled=checks, got_through=0)


def test_second_server_on_one_data_dir_refuses_to_start(
    tmp_path: Path, servers: list[Server]
) -> None:
    first = Server(tmp_path / "shared", env={"S2V_ENGINE": "camera"})
    servers.append(first)
    first.start()
    second = Server(tmp_path / "shared", env={"S2V_ENGINE": "camera"})
    try:
        second.start(timeout=30)
    except RuntimeError as exc:
        assert "another s2v server" in str(exc) and "is using the data directory" in str(exc)
    else:
        servers.append(second)
        raise AssertionError("a second server started on the same data directory")
    assert httpx.get(f"{first.url}/readyz", timeout=10).status_code == 200


def test_readyz_names_a_dead_worker_until_it_is_replaced(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    srv = Server(tmp_path / "dead", env={"S2V_ENGINE": "camera"})
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    pid = wait_for("the worker's pid", lambda: worker_pid(srv))
    os.kill(pid, signal.SIGKILL)
    status, reason = wait_for("readyz red", lambda: _red(srv), 30)
    assert status == 503 and "no worker is running" in reason, reason
    wait_for("readyz green", lambda: ready_state(srv)[0] == 200, 60)
    assert worker_pid(srv) not in (None, pid)
    task_id = submit(srv, project, face)
    assert srv.wait(project, task_id, timeout=60)["pexit"] == "0"


def _red(srv: Server) -> tuple[int, str] | None:
    status, reason = ready_state(srv)
    return (status, reason or "") if status == 503 else None
