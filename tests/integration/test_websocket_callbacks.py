"""WebSocket events in order with progress and outputs; signed callbacks with retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from websockets.sync.client import connect

from tests.integration.conftest import Recorder
from tests.utils.server import Project, Server, fixture_server

ORDER = [
    "task_queue",
    "task_accept",
    "task_preprocess_start",
    "task_preprocess_end",
    "task_assign",
    "task_start",
    "task_output",
    "task_output_full",
    "task_end",
    "task_postprocess_start",
    "task_postprocess_end",
]


def test_websocket_statuses_progress_and_outputs(
    server: Server, project: Project, face: bytes
) -> None:
    with connect(f"ws://127.0.0.1:{server.port}/v1") as ws:
        assert json.loads(ws.recv(timeout=5)) == {"type": "connected", "version": "1.0"}
        run = server.run(project, files={"inputImageFirst": ("f.jpg", face, "image/jpeg")}).json()
        ws.send(json.dumps({"type": "task_info", "tasktoken": run["socketaccesstoken"]}))
        ws.send(json.dumps({"type": "something_else"}))  # ignored
        frames = []
        while not frames or frames[-1]["type"] != "task_postprocess_end":
            frames.append(json.loads(ws.recv(timeout=60)))
    assert all(f["id"] == run["taskid"] and f["result"] is True for f in frames)
    types = [f["type"] for f in frames]
    # The current status first (whatever it was), then every later one in order.
    ranks = [ORDER.index(t) for t in types]
    assert ranks == sorted(ranks), types
    assert types[-1] == "task_postprocess_end"
    assert {"task_start", "task_output_full", "task_end"} <= set(types), types
    progress = [f["message"] for f in frames if f["type"] == "task_output"]
    assert len(progress) >= 3
    percentages = [int(p["percentage"]) for p in progress]
    assert percentages == sorted(percentages) and percentages[-1] == 100
    assert progress[-1]["stepTotal"] == "150" and progress[-1]["speedType"] == "it/s"
    [output] = frames[-1]["message"]
    assert output["name"] == "0.mp4" and output["url"].startswith(server.url)


def test_late_subscriber_gets_final_status(server: Server, project: Project, face: bytes) -> None:
    run = server.run(project, files={"inputImageFirst": ("f.jpg", face, "image/jpeg")}).json()
    server.wait(project, run["taskid"])
    with connect(f"ws://127.0.0.1:{server.port}/v1") as ws:
        ws.recv(timeout=5)
        ws.send(json.dumps({"type": "task_info", "tasktoken": run["socketaccesstoken"]}))
        frame = json.loads(ws.recv(timeout=5))
    assert frame["type"] == "task_postprocess_end" and frame["message"][0]["name"] == "0.mp4"


def test_callback_retried_until_delivered_and_signed(
    server: Server, project: Project, face: bytes
) -> None:
    recorder = Recorder(failures=2)
    with fixture_server({"/hook": recorder}) as base:
        run = server.run(
            project,
            files={"inputImageFirst": ("f.jpg", face, "image/jpeg")},
            data={"callbackUrl": f"{base}/hook"},
        ).json()
        server.wait(project, run["taskid"])
        deadline = time.monotonic() + 30
        while len(recorder.calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        server.callbacks_settled()  # delivered: no fourth delivery can follow the success
    assert len(recorder.calls) == 3
    ids = {headers["webhook-id"] for headers, _ in recorder.calls}
    assert len(ids) == 1  # the same webhook-id on every retry
    headers, body = recorder.calls[-1]
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(
        hmac.new((project.apisecret or "").encode(), signed, hashlib.sha256).digest()
    ).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    detail = json.loads(body)
    assert detail["result"] is True
    task = detail["tasklist"][0]
    assert task["id"] == run["taskid"] and task["status"] == "task_postprocess_end"
    assert task["outputs"][0]["name"] == "0.mp4"
