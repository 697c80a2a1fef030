"""Replicate's HTTP API, from the official `replicate` Python client with only base_url and the
token changed, over real HTTP.

The server is real (`s2v serve`, its embedded worker, the camera engine); nothing is mocked.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
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
    assert len(recorder.calls) == 2  # `start` only: `completed` was filtered out
    started = json.loads(recorder.calls[1][1])
    assert started["id"] == skipped.id and started["status"] == "starting", started


def test_every_event_of_the_filter_is_sent(
    client: replicate.Client, face: bytes, receiver: tuple[str, Recorder]
) -> None:
    """start (created), logs (its first progress line), output (succeeded), completed."""
    url, recorder = receiver
    secret = client.webhooks.default.secret()
    made = client.predictions.create(
        model="minimax/video-01",
        input={"subject_reference": "data:image/jpeg;base64," + base64.b64encode(face).decode()},
        webhook=url,
        webhook_events_filter=["start", "output", "logs", "completed"],
    )
    made.wait()
    deadline = time.monotonic() + 30
    while len(recorder.calls) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # nothing more comes
    assert len(recorder.calls) == 4, [json.loads(b)["status"] for _, b in recorder.calls]
    sent = [json.loads(body) for _, body in recorder.calls]
    for headers, body in recorder.calls:
        Webhooks.validate(headers=headers, body=body.decode(), secret=secret)
    assert len({headers["webhook-id"] for headers, _ in recorder.calls}) == 4
    assert all(p["id"] == made.id for p in sent)
    statuses = [p["status"] for p in sent]
    # Up to two deliveries to one receiver run at once (callback limits), so the start and logs
    # webhooks may arrive in either order, as Replicate's own may.
    assert sorted(statuses) == ["processing", "starting", "succeeded", "succeeded"], statuses
    logs = next(p for p in sent if p["status"] == "processing")
    assert logs["logs"], logs
    assert all(p["output"] for p in sent if p["status"] == "succeeded")


def _store_row(data_dir: Path, sql: str, *args: object) -> tuple[object, ...] | None:
    """One row of the stopped (or frozen) server's store, read as any SQLite reader would."""
    with closing(sqlite3.connect(data_dir / "s2v.db", timeout=10)) as db:
        return db.execute(sql, args).fetchone()


def test_a_webhook_owed_when_the_server_died_is_sent_after_the_restart(
    tmp_path: Path, face: bytes, receiver: tuple[str, Recorder]
) -> None:
    """The prediction ends in the worker while the API process is frozen (so its webhook is not
    sent), the API is killed, and the restarted server sends it."""
    url, recorder = receiver
    env = {"S2V_ENGINE": "tests.utils.engines:PacedCameraEngine", "S2V_TEST_FRAME_DELAY": "0.02"}
    srv = Server(tmp_path / "restart", env=env).start()
    try:
        key = srv.keys("p", key_only=True).apikey
        headers = {"authorization": f"Bearer {key}"}
        data_uri = "data:image/jpeg;base64," + base64.b64encode(face).decode()
        made = httpx.post(
            f"{srv.url}/v1/models/minimax/video-01/predictions",
            headers=headers,
            json={
                "input": {"subject_reference": data_uri},
                "webhook": url,
                "webhook_events_filter": ["completed"],
            },
            timeout=30,
        )
        assert made.status_code == 201, made.text
        prediction_id = made.json()["id"]
        deadline = time.monotonic() + 60
        while (
            httpx.get(
                f"{srv.url}/v1/predictions/{prediction_id}", headers=headers, timeout=10
            ).json()["status"]
            != "processing"
        ):
            assert time.monotonic() < deadline, "the prediction never started"
            time.sleep(0.05)
        assert srv.proc is not None
        os.kill(srv.proc.pid, signal.SIGSTOP)  # the API freezes; its engine process goes on
        query = "SELECT status FROM tasks WHERE id = ?"
        while _store_row(srv.data_dir, query, int(prediction_id)) != ("task_postprocess_end",):
            assert time.monotonic() < deadline + 60, "the worker did not finish the prediction"
            time.sleep(0.1)
        srv.stop(signal.SIGKILL)  # (a stopped process takes SIGKILL)
        sent = "SELECT COUNT(*) FROM deliveries WHERE task_id = ? AND state = 'delivered'"
        assert _store_row(srv.data_dir, sent, int(prediction_id)) == (0,)
        assert recorder.calls == []
        srv.start()
        deadline = time.monotonic() + 30
        while not recorder.calls and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        srv.stop()
    assert len(recorder.calls) == 1, srv.log()
    headers_sent, body = recorder.calls[0]
    sent = json.loads(body)
    assert sent["id"] == prediction_id and sent["status"] == "succeeded" and sent["output"]
    assert headers_sent["webhook-signature"].startswith("v1,")
