"""The `replicate` npm client (Node) against a real server, with only baseUrl and the token
changed: create (a Buffer photo, uploaded through the Files API), wait, get, list and paginate,
cancel. Skipped where node or npm is missing, or the npm registry cannot be reached."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from subject2video.media.video import probe
from tests.utils.server import Project, Server

SCRIPT = Path(__file__).parent / "js" / "replicate_client.js"
#: The client's major version this was written against (1.4.0 when written).
CLIENT = "replicate@1"


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`npm install replicate` in a temporary directory outside the repository."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run the replicate npm client")
    where = tmp_path_factory.mktemp("replicate-npm")
    done = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--silent", CLIENT],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.skip(f"npm install {CLIENT} failed (no registry?): {done.stderr[-500:]}")
    return where


def test_the_npm_client_creates_waits_gets_lists_and_cancels(
    client_dir: Path, server: Server, key_only: Project, face: bytes, tmp_path: Path
) -> None:
    photo = tmp_path / "face.jpg"
    photo.write_bytes(face)
    done = subprocess.run(
        ["node", str(SCRIPT), str(client_dir), server.url, key_only.apikey, str(photo)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr + server.log()
    seen = json.loads(done.stdout)

    made, waited, got = seen["created"], seen["waited"], seen["got"]
    # Not yet finished: "starting" while it waits for a worker, or already "processing" where an
    # idle worker claimed it between the create and the answer (as Replicate's create may say).
    assert made["status"] in ("starting", "processing"), made
    assert waited["id"] == got["id"] == made["id"]
    assert waited["status"] == got["status"] == "succeeded", seen
    assert isinstance(waited["output"], str) and waited["output"] == got["output"]
    assert "100%" in waited["logs"], waited["logs"]  # the tqdm line the clients read as progress
    answer = httpx.get(waited["output"], timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
    video = tmp_path / "video.mp4"
    video.write_bytes(answer.content)
    info = probe(video)
    assert (info.frames, info.fps, min(info.width, info.height)) == (150, 25, 720), info

    assert made["id"] in seen["firstPage"] and made["id"] in seen["listed"]
    assert seen["canceled"]["id"] in seen["listed"]
    assert seen["canceled"]["status"] == seen["canceledLater"] == "canceled", seen
    # The Buffer went up through the Files API (the client names it `buffer_<time>`).
    assert [n for n in seen["files"] if n.startswith("buffer_")], seen["files"]
