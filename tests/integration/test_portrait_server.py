"""One task through a real server with the default engine (portrait), then `s2v eval` on it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.utils.images import face_jpeg
from tests.utils.server import REPO, Project, Server
from tests.utils.video import assert_contract_video

PROMPT = "She smiles and slowly turns her head to the left while the camera pushes in"


@pytest.fixture(scope="module")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with no S2V_ENGINE set: the default engine."""
    srv = Server(tmp_path_factory.mktemp("portrait"))
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.slow
def test_default_engine_animates_the_portrait(default_server: Server, tmp_path: Path) -> None:
    project: Project = default_server.keys("portrait")
    image = tmp_path / "face.jpg"
    image.write_bytes(face_jpeg())
    with image.open("rb") as file:
        response = default_server.run(
            project, files={"inputImageFirst": ("face.jpg", file, "image/jpeg")},
            data={"prompt": PROMPT, "seed": "5"},
        )  # fmt: skip
    assert response.status_code == 200, response.text
    task = default_server.wait(project, response.json()["taskid"], timeout=120)
    assert task["pexit"] == "0", task["debugerror"]
    assert "motion plan: read smile, turn_left (slower), push_in" in task["debugoutput"]
    video = tmp_path / "out.mp4"
    video.write_bytes(httpx.get(task["outputs"][0]["url"], timeout=30).content)
    assert_contract_video(video, aspect=1.0)
    out = subprocess.run(
        [sys.executable, "-m", "subject2video", "eval", str(video), "--reference", str(image),
         "--prompt", PROMPT, "--json", "--identity-step", "10"],
        check=True, capture_output=True, text=True, cwd=REPO,
        env={"PYTHONPATH": f"{REPO / 'src'}:{REPO}", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    report = json.loads(out.stdout)
    assert report["found_share"] == 1.0, report["motions"]
    assert report["identity_max"] < 0.6 and report["identity_mean"] < 0.35, report


def test_generate_command_writes_a_contract_video(tmp_path: Path) -> None:
    image = tmp_path / "face.jpg"
    image.write_bytes(face_jpeg())
    video = tmp_path / "local.mp4"
    out = subprocess.run(
        [sys.executable, "-m", "subject2video", "generate", str(image), "--prompt", "She nods",
         "-o", str(video), "--seed", "3", "--engine", "camera"],
        check=True, capture_output=True, text=True, cwd=tmp_path,
        env={"PYTHONPATH": f"{REPO / 'src'}:{REPO}", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert f"wrote {video}" in out.stdout
    assert_contract_video(video, aspect=1.0)
