"""A draining server stays visible: after SIGTERM, while the running task finishes, reads (Detail,
List, WebSocket, files) are answered, Run gets 503 with Retry-After, /readyz says "draining"; the
port closes only when the drain ends, and the process exits 0."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.faults.conftest import PACED, no_server_errors, readyz, row, running, submit, upload
from tests.utils.server import Server


def test_reads_go_on_while_the_server_drains(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    env = {"S2V_ENGINE": PACED, "S2V_TEST_FRAME_DELAY": "0.05"}  # a task of several seconds
    srv = Server(tmp_path / "drain", env=env)
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    done = srv.wait(project, submit(srv, project, face), timeout=120)
    output = done["outputs"][0]["url"]
    slow = submit(srv, project, face)
    task = srv.wait(project, slow, until=running)
    ws_url = srv.url.replace("http", "ws") + "/v1"
    stack = contextlib.ExitStack()
    watching = stack.enter_context(connect(ws_url, open_timeout=10))
    assert json.loads(watching.recv(timeout=10))["type"] == "connected"
    watching.send(json.dumps({"type": "task_info", "tasktoken": task["socketaccesstoken"]}))
    assert json.loads(watching.recv(timeout=10))["type"] in ("task_start", "task_output")

    assert srv.proc is not None
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    checks = 0
    while srv.proc.poll() is None and row(srv, slow)["status"] != "task_postprocess_end":
        ready = readyz(srv)
        assert ready.status_code == 503 and ready.json()["status"] == "draining", ready.text
        assert srv.detail(project, slow)["id"] == slow
        listed = srv.post("/v1/Task/List", project, json={})
        assert listed.status_code == 200, listed.text
        refused = srv.run(project, files=upload(face))
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["retry-after"]) > 0
        assert "stopping" in refused.text
        assert httpx.get(output, timeout=10).status_code == 200
        with connect(ws_url, open_timeout=10) as ws:
            ws.recv(timeout=10)
            ws.send(json.dumps({"type": "task_info", "tasktoken": task["socketaccesstoken"]}))
            assert json.loads(ws.recv(timeout=10))["tasktoken"] == task["socketaccesstoken"]
        checks += 1
        time.sleep(0.3)
    assert checks >= 3, f"the drain was seen only {checks} times"

    # The subscription opened before the signal saw the task end.
    frames = []
    try:
        while True:
            frames.append(json.loads(watching.recv(timeout=10))["type"])
            if frames[-1] == "task_postprocess_end":
                break
    except Exception as exc:  # the close after the drain may come right after the last frame
        assert "task_postprocess_end" in frames, (frames, exc)
    stack.close()
    assert srv.proc.wait(30) == 0
    srv.proc = None
    try:
        httpx.get(f"{srv.url}/healthz", timeout=2)
        raise AssertionError("the port is still open after the drain")
    except httpx.ConnectError:
        pass
    finished = row(srv, slow)
    assert finished["status"] == "task_postprocess_end" and finished["attempts"] == 1, finished
    no_server_errors(srv)
