"""Replicate's HTTP API, from the official `replicate` Python client with only base_url and the
token changed, over real HTTP.

The server is real (`s2v serve`, its embedded worker, the camera engine); nothing is mocked.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import replicate
from replicate.exceptions import ReplicateError
from replicate.webhook import Webhooks

from subject2video.media.video import probe
from tests.integration.conftest import Recorder
from tests.utils.server import Project, Server, fixture_server


@contextmanager
def _client(token: str, base_url: str) -> Iterator[replicate.Client]:
    """The client as its users make it; its connections closed at the end (it has no close())."""
    made = replicate.Client(api_token=token, base_url=base_url)
    try:
        yield made
    finally:
        made._client.close()


@pytest.fixture(scope="module")
def client(server: Server, key_only: Project) -> Iterator[replicate.Client]:
    with _client(key_only.apikey, server.url) as made:
        yield made


def _download(url: str, path: Path) -> Path:
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "video/mp4"
    path.write_bytes(answer.content)
    return path


def test_run_uploads_the_face_and_returns_the_mp4_url(
    client: replicate.Client, face: bytes, tmp_path: Path
) -> None:
    photo = tmp_path / "face.jpg"
    photo.write_bytes(face)
    with photo.open("rb") as handle:
        output = client.run(
            "minimax/video-01",
            input={"prompt": "She smiles [Push in]", "subject_reference": handle},
        )
    # Over plain http the client hands the URL back as a string (FileOutput is for https).
    assert isinstance(output, str) and output.startswith("http://"), output
    info = probe(_download(output, tmp_path / "v.mp4"))
    assert (info.frames, info.fps) == (150, 25) and min(info.width, info.height) == 720

    uploaded = client.files.list()
    assert uploaded and uploaded[0].name == "face.jpg" and uploaded[0].size == len(face)
    assert client.files.get(uploaded[0].id).checksums["sha256"]
    assert client.files.delete(uploaded[0].id)
    with pytest.raises(ReplicateError) as caught:
        client.files.get(uploaded[0].id)
    assert caught.value.status == 404


def test_create_get_list_reload_wait(
    client: replicate.Client, server: Server, face: bytes, tmp_path: Path
) -> None:
    data_uri = "data:image/jpeg;base64," + base64.b64encode(face).decode()
    made = client.predictions.create(
        model="minimax/hailuo-02",
        input={"prompt": "He nods", "first_frame_image": data_uri, "resolution": "512p"},
    )
    assert made.status in ("starting", "processing") and made.model == "minimax/hailuo-02"
    assert made.urls["get"] == f"{server.url}/v1/predictions/{made.id}"
    made.wait()
    assert made.status == "succeeded", made.error
    assert made.metrics["predict_time"] > 0 and made.completed_at and made.started_at
    assert made.progress is not None and made.progress.percentage == 1.0
    info = probe(_download(made.output, tmp_path / "h.mp4"))
    assert min(info.width, info.height) == 512 and info.frames == 150

    again = client.predictions.get(made.id)
    again.reload()
    assert again.status == "succeeded" and again.output == made.output
    assert again.input["first_frame_image"].startswith("photo")

    page = client.predictions.list()
    assert made.id in [p.id for p in page.results]

    by_version = client.models.get("minimax/hailuo-02").latest_version
    assert by_version is not None
    other = client.predictions.create(
        version=by_version.id,
        input={"first_frame_image": data_uri, "duration": 10, "resolution": "768p"},
        wait=30,
    )
    assert other.status == "succeeded", other.error  # Prefer: wait=30 held it to the end
    assert probe(_download(other.output, tmp_path / "t.mp4")).frames == 250


def test_cancel(paced_server: Server, face: bytes) -> None:
    project = paced_server.keys("replicate-cancel", key_only=True)
    data_uri = "data:image/jpeg;base64," + base64.b64encode(face).decode()
    with _client(project.apikey, paced_server.url) as client:
        made = client.predictions.create(
            model="minimax/video-01", input={"subject_reference": data_uri}
        )
        deadline = time.monotonic() + 60
        while made.status == "starting" and time.monotonic() < deadline:
            time.sleep(0.1)
            made.reload()
        assert made.status == "processing", made
        made.cancel()
        assert made.status == "canceled" and made.output is None
        made.wait()
        assert made.status == "canceled" and made.completed_at


def test_errors_name_the_input_as_replicate_spells_it(
    client: replicate.Client, server: Server, images: str
) -> None:
    with pytest.raises(ReplicateError) as caught:
        client.predictions.create(model="minimax/video-01", input={"prompt": "no photo"})
    assert caught.value.status == 422 and "subject_reference" in caught.value.detail
    assert caught.value.title == "Input validation failed"

    with pytest.raises(ReplicateError) as caught:
        client.predictions.create(
            model="minimax/video-01-live",
            input={
                "first_frame_image": "data:image/jpeg;base64," + base64.b64encode(b"no").decode()
            },
        )
    assert caught.value.status == 422 and "first_frame_image" in caught.value.detail
    assert "inputImage" not in caught.value.detail

    with pytest.raises(ReplicateError) as caught:
        client.predictions.create(
            model="minimax/hailuo-02",
            input={
                "first_frame_image": f"{images}/face.jpg",
                "duration": 10,
                "resolution": "1080p",
            },
        )
    assert caught.value.status == 422 and "resolution" in caught.value.detail

    with pytest.raises(ReplicateError) as caught:
        client.predictions.create(model="minimax/t2v-01", input={"prompt": "x"})
    assert caught.value.status == 404 and "served models" in caught.value.detail

    with _client("nope", server.url) as bad, pytest.raises(ReplicateError) as caught:
        bad.predictions.get("1")
    assert caught.value.status == 401 and caught.value.title == "Unauthenticated"

    # A URL that cannot be fetched fails the prediction; the error names the input, not ours.
    made = client.predictions.create(
        model="minimax/video-01-live", input={"first_frame_image": f"{images}/cat.jpg"}
    )
    made.wait()
    assert made.status == "failed" and "first_frame_image" in (made.error or "")
    assert "inputImage" not in (made.error or "")


def test_shared_paths_answer_at_the_root_and_under_the_prefix(
    server: Server, key_only: Project
) -> None:
    auth = {"Authorization": f"Bearer {key_only.apikey}"}
    root = httpx.get(f"{server.url}/v1/models", headers=auth).json()
    assert "data" in root  # OpenAI's list keeps the root
    mine = httpx.get(f"{server.url}/replicate/v1/models", headers=auth).json()
    assert [m["name"] for m in mine["results"]] == ["video-01", "video-01-live", "hailuo-02"]
    minimax = httpx.get(f"{server.url}/v1/files/retrieve?file_id=x", headers=auth).json()
    assert "base_resp" in minimax  # MiniMax's retrieve keeps the root
    with _client(key_only.apikey, f"{server.url}/replicate") as prefixed:
        page = prefixed.predictions.list()
    assert all(p.urls["get"].startswith(f"{server.url}/replicate/v1/") for p in page.results)


@pytest.fixture
def receiver() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    with fixture_server({"/hook": recorder}) as url:
        yield f"{url}/hook", recorder


def test_completed_webhook_is_signed_as_replicate_signs(
    client: replicate.Client, face: bytes, receiver: tuple[str, Recorder]
) -> None:
    url, recorder = receiver
    secret = client.webhooks.default.secret()
    assert secret.key.startswith("whsec_")
    data_uri = "data:image/jpeg;base64," + base64.b64encode(face).decode()
    made = client.predictions.create(
        model="minimax/video-01",
        input={"subject_reference": data_uri},
        webhook=url,
        webhook_events_filter=["completed"],
    )
    made.wait()
    deadline = time.monotonic() + 30
    while not recorder.calls and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(recorder.calls) == 1
    headers, body = recorder.calls[0]
    Webhooks.validate(headers=headers, body=body.decode(), secret=secret)  # raises if wrong
    sent = json.loads(body)
    assert sent["id"] == made.id and sent["status"] == "succeeded" and sent["output"]

    skipped = client.predictions.create(
        model="minimax/video-01",
        input={"subject_reference": data_uri},
        webhook=url,
        webhook_events_filter=["start"],
    )
    skipped.wait()
    time.sleep(1)
    assert len(recorder.calls) == 1  # `completed` was filtered out
