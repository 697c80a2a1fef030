"""A real server with `S2V_ENGINE=diffusion` and a tiny random-weight Wan VACE folder: the contract
MP4, a progress event per denoising step over the WebSocket, and a kill mid-generation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from subject2video.media.video import probe
from tests.utils.server import Project, Server
from tests.utils.tiny_wan import save_tiny_model
from tests.utils.video import assert_contract_video

STEPS = 4


@pytest.fixture(scope="module")
def diffusion_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = save_tiny_model(tmp_path_factory.mktemp("tiny-wan"))
    srv = Server(
        tmp_path_factory.mktemp("diffusion-server"),
        env={
            "HF_HUB_OFFLINE": "1",
            "S2V_ENGINE": "diffusion",
            "S2V_DIFFUSION_MODEL": str(folder),
            "S2V_DIFFUSION_STEPS": str(STEPS),
            "S2V_DIFFUSION_FRAMES": "9",
            "S2V_DIFFUSION_WIDTH": "32",
            "S2V_DIFFUSION_HEIGHT": "32",
            # Slow enough steps that a kill lands mid-generation, and a grace period long enough
            # that only the engine's own step check (not ending the worker) can make it land.
            "S2V_DIFFUSION_STEP_DELAY": "0.6",
            "S2V_KILL_GRACE_SECONDS": "60",
        },
    )
    srv.start(timeout=120)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def project(diffusion_server: Server) -> Project:
    return diffusion_server.keys("diffusion")


def _stepping(task: dict) -> bool:
    progress = task.get("progress") or {}
    return progress.get("task") == "Generate" and progress.get("stepCurrent") == "1"


def _run(srv: Server, project: Project, face: bytes) -> dict[str, str]:
    files = {"inputImageFirst": ("f.jpg", face, "image/jpeg")}
    response = srv.run(project, files=files, data={"prompt": "a woman smiles"})
    assert response.status_code == 200, response.text
    return response.json()


def test_contract_video_and_progress_per_step(
    diffusion_server: Server, project: Project, face: bytes, tmp_path: Path
) -> None:
    srv = diffusion_server
    with connect(f"ws://127.0.0.1:{srv.port}/v1") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "connected"
        run = _run(srv, project, face)
        ws.send(json.dumps({"type": "task_info", "tasktoken": run["socketaccesstoken"]}))
        frames = []
        while not frames or frames[-1]["type"] not in ("task_postprocess_end", "task_cancel"):
            frames.append(json.loads(ws.recv(timeout=120)))
    progress = [f["message"] for f in frames if f["type"] == "task_output"]
    assert [p["stepCurrent"] for p in progress] == [str(i) for i in range(1, STEPS + 1)], progress
    assert all(p["stepTotal"] == str(STEPS) and p["task"] == "Generate" for p in progress)
    assert all(p["speedType"] == "it/s" and "remainingTime" in p for p in progress)
    [output] = frames[-1]["message"]
    path = tmp_path / "out.mp4"
    path.write_bytes(httpx.get(output["url"], timeout=30).content)
    assert_contract_video(path, aspect=1.0)
    task = srv.detail(project, run["taskid"])
    assert task["pexit"] == "0" and "Wan VACE" in task["debugoutput"]


def test_kill_mid_generation_ends_in_task_cancel(
    diffusion_server: Server, project: Project, face: bytes
) -> None:
    srv = diffusion_server
    run = _run(srv, project, face)
    # Killed after the first denoising step and before the last.
    srv.wait(project, run["taskid"], timeout=120, until=_stepping)
    asked = time.monotonic()
    response = srv.post("/v1/Task/Kill", project, json={"taskid": run["taskid"]})
    assert response.status_code == 200, response.text
    task = srv.wait(project, run["taskid"], timeout=20)
    assert task["status"] == "task_cancel", task
    assert time.monotonic() - asked < 10
    # The worker was not replaced: the next task runs on the same loaded pipeline and finishes.
    again = _run(srv, project, face)
    assert srv.wait(project, again["taskid"], timeout=120)["status"] == "task_postprocess_end"


def test_a_spoken_line_is_muxed_without_a_lip_sync_claim(
    diffusion_server: Server, project: Project, face: bytes, tmp_path: Path
) -> None:
    files = {"inputImageFirst": ("f.jpg", face, "image/jpeg")}
    prompt = 'A woman smiles and says "Good morning, everyone."'
    response = diffusion_server.run(project, files=files, data={"prompt": prompt})
    assert response.status_code == 200, response.text
    task = diffusion_server.wait(project, response.json()["taskid"], timeout=180)
    assert task["pexit"] == "0", task["debugerror"]
    assert "does not move the lips to it (no lip-sync claimed)" in task["debugoutput"]
    video = tmp_path / "spoken.mp4"
    video.write_bytes(httpx.get(task["outputs"][0]["url"], timeout=30).content)
    info = probe(video)
    assert info.audio_codec == "aac" and abs(info.audio_duration - info.duration) <= 0.1
