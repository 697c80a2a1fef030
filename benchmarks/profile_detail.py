"""Profile Task/Detail in-process: where one Detail request's time goes, route to answer.

Run: `.venv/bin/python benchmarks/profile_detail.py [N]` (N Detail calls, 2000 by default). It makes
one finished task with the `camera` engine, then calls the ASGI app directly N times (no socket,
no HTTP client: only what the server itself does) under cProfile, and prints the functions with
the most own time and the slowest call paths. README "What limits Task/Detail" has a reading.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fastapi.testclient import TestClient  # noqa: E402
from tests.utils.images import face_jpeg  # noqa: E402
from tests.utils.inprocess import InProcessDispatcher  # noqa: E402

from subject2video.api.app import create_app  # noqa: E402
from subject2video.config import Settings  # noqa: E402
from subject2video.contract import UPLOAD_PARAM  # noqa: E402


async def detail(app: object, key: str, taskid: str) -> bytes:
    """One POST /v1/Task/Detail through the ASGI app; the answer's body."""
    body = json.dumps({"taskid": taskid}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/Task/Detail",
        "raw_path": b"/v1/Task/Detail",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-api-key", key.encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent = False
    out: list[bytes] = []

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body":
            out.append(message.get("body", b""))  # type: ignore[arg-type]

    await app(scope, receive, send)  # type: ignore[operator]
    return b"".join(out)


def main(calls: int) -> None:
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(data_dir=Path(data), engine="camera", workers=1)
        app = create_app(settings, dispatcher=InProcessDispatcher)
        with TestClient(app) as client:
            project = app.state.services.store.create_project("profile", key_only=True)
            headers = {"x-api-key": project.apikey}
            files = {UPLOAD_PARAM: ("face.jpg", face_jpeg(), "image/jpeg")}
            taskid = client.post(
                "/v1/Run/MiniMax/image-to-video-hailuo-01-subject", headers=headers, files=files
            ).json()["taskid"]
            for _ in range(600):
                answer = client.post("/v1/Task/Detail", headers=headers, json={"taskid": taskid})
                if answer.json()["tasklist"][0]["status"] == "task_postprocess_end":
                    break
                time.sleep(0.1)
            portal = client.portal
            assert portal is not None
            first = portal.call(detail, app, project.apikey, taskid)
            assert b'"result":true' in first.replace(b" ", b""), first[:200]

            profile = cProfile.Profile()

            async def many() -> float:
                # On the event loop's thread: on SQLite, Detail makes no thread hop (deps.py).
                started = time.perf_counter()
                profile.enable()
                for _ in range(calls):
                    await detail(app, project.apikey, taskid)
                profile.disable()
                return time.perf_counter() - started

            async def bare() -> float:
                started = time.perf_counter()
                for _ in range(calls):
                    await detail(app, project.apikey, taskid)
                return time.perf_counter() - started

            unprofiled = portal.call(bare)
            spent = portal.call(many)
    print(f"{calls} Detail calls in-process: {unprofiled / calls * 1e6:.0f} us each")
    print(f"under cProfile: {spent / calls * 1e6:.0f} us each")
    stats = pstats.Stats(profile).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
