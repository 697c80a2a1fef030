"""WebSocket subscriptions per connection are bounded: the 101st is refused, the first 100 work."""

from __future__ import annotations

import json
from pathlib import Path

from websockets.sync.client import connect

from subject2video.api.wiro.socket import MAX_SUBSCRIPTIONS
from tests.utils.figures import record
from tests.utils.server import Server


def test_subscriptions_per_connection_are_bounded(tmp_path: Path) -> None:
    env = {
        "S2V_ENGINE": "tests.utils.engines:PacedCameraEngine",
        "S2V_TEST_FRAME_DELAY": "1",  # tasks stay queued behind the first
        "S2V_MAX_ACTIVE_TASKS": str(MAX_SUBSCRIPTIONS + 10),
    }
    server = Server(tmp_path / "ws", env=env).start()
    try:
        project = server.keys("ws", key_only=True)
        tokens = []
        for _ in range(MAX_SUBSCRIPTIONS + 1):
            run = server.run(project, json={"inputImageFirstUrl": "http://127.0.0.2:9/face.jpg"})
            tokens.append(run.json()["socketaccesstoken"])
        with connect(f"ws://127.0.0.1:{server.port}/v1") as ws:
            ws.recv(timeout=5)
            for token in tokens:
                ws.send(json.dumps({"type": "task_info", "tasktoken": token}))
            # The first frame for each token answers its subscription; a subscribed task may send
            # more (its inputs fail to fetch, so it ends) while later tokens are still answered.
            first: dict[str, dict] = {}
            while len(first) < len(tokens):
                frame = json.loads(ws.recv(timeout=10))
                first.setdefault(frame.get("tasktoken", ""), frame)
            frames = [first[token] for token in tokens]
    finally:
        server.stop()
    refused = [f for f in frames if f["type"] == "task_error"]
    assert len(refused) == 1, refused
    assert refused[0]["tasktoken"] == tokens[-1]
    assert str(MAX_SUBSCRIPTIONS) in refused[0]["message"]
    answered = {f["tasktoken"] for f in frames if f["type"] != "task_error"}
    assert answered == set(tokens[:-1])
    record(
        "WebSocket subscriptions beyond the per-connection limit",
        tried=1,
        handled=len(refused),
        got_through=1 - len(refused),
    )
